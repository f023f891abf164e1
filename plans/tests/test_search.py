"""Search inside plans: what it finds, where it links, walls between organisations, index upkeep, cost.

On MariaDB the FULLTEXT index sees rows only once they are committed, so these tests run
without the test transaction there (`transaction=True`); on SQLite the FTS5 table is written by
triggers inside the transaction and the usual rollback is enough.
"""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from bcp_site.testing import NAVIGATION_COUNTS, make_plan, make_template, make_user
from plans.attachments import plan_delete
from plans.models import Contact, Plan, SearchEntry
from plans.search import _search_sql, search_entries
from plans.services import (
    contact_delete,
    contact_save,
    plan_details_update,
    plan_section_update,
    plan_template_change,
    process_save,
    risk_delete,
    risk_save,
)

MYSQL = connection.vendor == "mysql"
pytestmark = pytest.mark.django_db(transaction=MYSQL, serialized_rollback=MYSQL)

SEARCH = reverse("plans:search")

# A template with references to a contact and a person, so names (not ids) must be indexed.
REFERENCE_SCHEMA = {"sections": [
    {"key": "overview", "title": "Plan overview", "order": 1, "fields": [
        {"key": "purpose", "label": "Purpose", "type": "textarea", "required": False},
        {"key": "scope", "label": "Scope", "type": "text", "required": False},
    ]},
    {"key": "response", "title": "Incident response", "order": 2, "fields": [
        {"key": "lead", "label": "Incident lead", "type": "contact", "required": False},
        {"key": "approver", "label": "Approver", "type": "user", "required": False},
        {"key": "staffed", "label": "Staffed", "type": "boolean", "required": False},
    ]},
]}


def _write(plan, owner):
    """A plan written as an editor writes it: a section, a contact, a process, a risk (all through services)."""
    plan_section_update(plan=plan, section_key="overview", actor=owner, expected_revision=None,
                        values={"purpose": "Keep the call centre open when IT systems fail.", "scope": "London"})
    contact = contact_save(plan=plan, actor=owner, expected_revision=None, values={
        "name": "Maria Lopez", "role": "Facilities manager", "phone": "+44 20 7946 0123", "email": "maria@example.org",
    })
    process = process_save(plan=plan, actor=owner, expected_revision=None, values={
        "name": "Payroll run", "rto_minutes": 240, "mtpd_minutes": 1440,
        "dependencies_json": ["Sage payroll server", "Bank link"],
    })
    risk = risk_save(plan=plan, actor=owner, expected_revision=None, values={
        "threat": "Ransomware attack", "likelihood": "possible", "impact": "severe",
        "mitigation": "Offline backups tested monthly", "owner_user": owner,
    })
    return contact, process, risk


def _hits(client, q, **params):
    response = client.get(SEARCH, {"q": q, **params})
    assert response.status_code == 200
    return response.context["results"].hits


def _where(hits):
    return {(h.plan_title, h.label) for h in hits}


@pytest.fixture
def written(org, owner):
    plan = make_plan(org, owner, template=make_template(schema=REFERENCE_SCHEMA), title="Head office plan",
                     ready=False)
    contact, process, risk = _write(plan, owner)
    return plan, contact, process, risk


def test_search_finds_sections_contacts_dependencies_risks_and_short_words(client, owner, member, written):
    plan, contact, process, risk = written
    client.force_login(member)  # any member reads; nobody needs to edit to search
    url = plan.get_absolute_url()

    [hit] = _hits(client, "call centre")
    assert (hit.plan_title, hit.label, hit.url) == ("Head office plan", "Section Plan overview",
                                                    f"{url}#section-overview")
    [hit] = _hits(client, "maria lopez")
    assert (hit.label, hit.url) == ("Contact Maria Lopez", f"{url}#contact-{contact.pk}")
    [hit] = _hits(client, "Bank link")  # a dependency of a process
    assert (hit.label, hit.url) == ("Process Payroll run", f"{url}#process-{process.pk}")
    [hit] = _hits(client, "ransomware")
    assert (hit.label, hit.url) == ("Risk Ransomware attack", f"{url}#risk-{risk.pk}")
    assert _where(_hits(client, "ransom")) == {("Head office plan", "Risk Ransomware attack")}  # a word's start
    assert _where(_hits(client, "OFFLINE backups")) == {("Head office plan", "Risk Ransomware attack")}
    [hit] = _hits(client, "IT")  # two letters, and a stopword for InnoDB
    assert hit.label == "Section Plan overview"
    assert _where(_hits(client, "head office")) == {("Head office plan", "Title")}
    assert _hits(client, "IT ransomware") == []  # every word must be found in the same item

    page = client.get(SEARCH, {"q": "it"}).content.decode()
    assert "when <mark>IT</mark> systems fail" in page  # the snippet, with the word marked
    assert f'href="{url}#section-overview"' in page
    # The link lands on the item: the plan page carries the anchors.
    detail = client.get(url).content.decode()
    for anchor in ("section-overview", f"contact-{contact.pk}", f"process-{process.pk}", f"risk-{risk.pk}"):
        assert f'id="{anchor}"' in detail


def test_contacts_and_people_in_sections_are_found_by_name(client, owner, written):
    plan, contact, _process, risk = written
    owner.first_name, owner.last_name = "Priya", "Shah"
    owner.save()
    risk_save(plan=plan, actor=owner, expected_revision=None, risk_id=risk.pk, values={})  # saved again
    plan_section_update(plan=plan, section_key="response", actor=owner, expected_revision=None,
                        values={"lead": contact.pk, "approver": owner.pk, "staffed": True})
    client.force_login(owner)
    assert _where(_hits(client, "Lopez")) == {("Head office plan", "Contact Maria Lopez"),
                                              ("Head office plan", "Section Incident response")}
    assert _where(_hits(client, "priya shah")) == {("Head office plan", "Section Incident response"),
                                                   ("Head office plan", "Risk Ransomware attack")}  # its owner
    assert _hits(client, str(contact.pk)) == []  # ids are not text
    assert _hits(client, "yes") == []  # nor yes/no answers

    # The contact renamed: the section that names it follows.
    contact_save(plan=plan, actor=owner, expected_revision=None, contact_id=contact.pk,
                 values={"name": "Maria Garcia"})
    assert _hits(client, "Lopez") == []
    assert _where(_hits(client, "garcia")) == {("Head office plan", "Contact Maria Garcia"),
                                               ("Head office plan", "Section Incident response")}


def test_search_never_shows_another_organisations_plans(client, org, owner, written, other_org, outsider):
    theirs = make_plan(other_org, outsider, template=make_template(schema=REFERENCE_SCHEMA), title="Their plan",
                       ready=False)
    _write(theirs, outsider)
    client.force_login(owner)
    for q in ("ransomware", "IT", "maria", "bank link", "plan"):
        assert {h.plan_title for h in _hits(client, q)} == {"Head office plan"}, q
    client.force_login(outsider)
    assert {h.plan_title for h in _hits(client, "ransomware")} == {"Their plan"}
    # The selector itself: another organisation's id finds its own rows only; no organisation, nothing.
    assert {h.plan_title for h in search_entries(other_org.pk, "maria").hits} == {"Their plan"}
    assert search_entries(None, "maria").hits == []
    nomad = make_user(None, username="nomad")
    client.force_login(nomad)
    assert _hits(client, "maria") == []


def test_edits_renames_and_removals_update_the_index(client, org, owner, written):
    plan, contact, _process, risk = written
    client.force_login(owner)

    plan_section_update(plan=plan, section_key="overview", actor=owner, expected_revision=None,
                        values={"purpose": "Evacuate to the Croydon site.", "scope": ""})
    assert _hits(client, "call centre") == [] and _hits(client, "london") == []
    assert _where(_hits(client, "croydon")) == {("Head office plan", "Section Plan overview")}

    plan_details_update(plan=plan, actor=owner, expected_revision=None, title="Northern depot plan", owner=owner)
    assert _where(_hits(client, "depot")) == {("Northern depot plan", "Title")}
    assert _where(_hits(client, "croydon")) == {("Northern depot plan", "Section Plan overview")}
    assert _hits(client, "head office") == []

    risk_delete(plan=plan, actor=owner, expected_revision=None, risk_id=risk.pk)
    contact_delete(plan=plan, actor=owner, expected_revision=None, contact_id=contact.pk)
    assert _hits(client, "ransomware") == [] and _hits(client, "maria") == []

    # Another version of the template without the overview section: its entry goes.
    newer = make_template(name=plan.template.name, version="2", schema={"sections": [REFERENCE_SCHEMA["sections"][1]]})
    plan_template_change(plan=plan, actor=owner, template=newer, expected_revision=None)
    assert _hits(client, "croydon") == []

    # The plan deleted: nothing of it is found, and its entries are gone.
    other = make_plan(org, owner, template=make_template(schema=REFERENCE_SCHEMA), title="Depot annex", ready=False)
    plan_delete(plan=plan, actor=owner)
    assert _hits(client, "payroll") == [] and _hits(client, "northern") == []
    assert set(SearchEntry.objects.values_list("plan_id", flat=True)) == {other.pk}


def test_snippets_are_escaped_and_results_paged_without_a_count(client, org, owner, template):
    plan = make_plan(org, owner, template=template, title="Depot plan", ready=False)
    contact_save(plan=plan, actor=owner, expected_revision=None, values={
        "name": "Script kiddie", "notes": "<script>alert('x')</script> " + "filler " * 60 + "the IT desk",
    })
    client.force_login(owner)
    page = client.get(SEARCH, {"q": "script"}).content.decode()
    assert "<script>alert" not in page and "&lt;<mark>script</mark>&gt;alert(&#x27;x&#x27;)" in page
    page = client.get(SEARCH, {"q": "it desk"}).content.decode()
    assert "the <mark>IT</mark> <mark>desk</mark>" in page  # a long text: the part around the first match
    assert "&lt;script&gt;" not in page

    for n in range(23):
        process_save(plan=plan, actor=owner, expected_revision=None, values={"name": f"Warehouse process {n}"})
    first = client.get(SEARCH, {"q": "warehouse"})
    assert len(first.context["results"].hits) == 20
    assert "More results" in first.content.decode()
    second = _hits(client, "warehouse", page="2")
    assert len(second) == 3
    assert {h.label for h in first.context["results"].hits} | {h.label for h in second} == {
        f"Process Warehouse process {n}" for n in range(23)}
    assert len(_hits(client, "warehouse", page="x")) == 20  # a page that does not parse: the first one
    assert _hits(client, "warehouse", page="999") == []  # beyond the last page: nothing, no error


@pytest.mark.parametrize("q", ['") OR 1=1 --', "+-*~<>()@\"'", "a" * 200, "IT* AND NOT payroll", "ß ÉTÉ ünïcödé",
                               "NEAR(maria lopez)", "maria^ lopez:"])
def test_odd_queries_get_an_answer_never_an_error(client, owner, written, q):
    client.force_login(owner)
    response = client.get(SEARCH, {"q": q})
    assert response.status_code == 200


def test_bad_parameters_are_refused_or_ignored(client, owner, written):
    client.force_login(owner)
    for q in ("x" * 201, "x" * 10_000, "maria\x00"):  # longer than the field allows, a NUL: said so
        response = client.get(SEARCH, {"q": q})
        assert response.status_code == 400 and response.context["form"].errors
    for page in (str(2**63), "9" * 4400, "-1", "NaN", "\x00%", "²"):  # the first page instead
        assert [h.label for h in _hits(client, "maria", page=page)] == ["Contact Maria Lopez"], page


def test_accents_and_case_do_not_matter(client, org, owner, template):
    plan = make_plan(org, owner, template=template, title="Zürich office", ready=False)
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "José Núñez"})
    client.force_login(owner)
    assert _where(_hits(client, "zurich")) == {("Zürich office", "Title")}
    assert _where(_hits(client, "JOSE NUNEZ")) == {("Zürich office", "Contact José Núñez")}


def test_search_page_and_plan_list_lead_to_each_other(client, owner, written):
    client.get(SEARCH)
    response = client.get(SEARCH, {"q": "maria"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(owner)
    listing = client.get(reverse("plans:plan_list")).content.decode()
    assert f'action="{SEARCH}"' in listing and 'name="q"' in listing
    assert client.post(SEARCH, {"q": "maria"}).status_code == 405


def test_search_reindex_builds_entries_for_existing_plans_and_changes_nothing_twice(client, org, owner, template,
                                                                                   capsys):
    plan = make_plan(org, owner, template=template, title="Older plan")  # rows written directly (make_ready)
    SearchEntry.objects.all().delete()  # as before the index existed
    client.force_login(owner)
    assert _hits(client, "generator") == []

    call_command("search_reindex")
    first = capsys.readouterr().out
    assert re.search(r"Search index: 1 plan\(s\) read; [1-9]\d* entries added, 0 changed, 0 removed", first), first
    assert _where(_hits(client, "generator")) == {("Older plan", "Risk Power cut")}  # make_ready's risk
    assert _where(_hits(client, "duty manager")) == {("Older plan", "Contact Duty manager")}

    call_command("search_reindex", "--plan", str(plan.pk))
    assert "0 entries added, 0 changed, 0 removed" in capsys.readouterr().out

    Contact.objects.filter(plan=plan).update(name="Night porter")  # a write that bypassed the services
    call_command("search_reindex")
    assert "0 entries added, 1 changed, 0 removed" in capsys.readouterr().out
    assert _where(_hits(client, "porter")) == {("Older plan", "Contact Night porter")}


def test_search_reindex_refuses_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no plan with id 999999"):
        call_command("search_reindex", "--plan", "999999")
    with pytest.raises(CommandError, match="a plan id is a number"):
        call_command("search_reindex", "--plan", str(2**64))
    with pytest.raises(CommandError, match="--batch-size 0"):
        call_command("search_reindex", "--batch-size", "0")


# Queries of the search page, whatever the data: 1 the session, 2 the user, 3 the membership
# (the organisation), 4 the search itself (entries, plan titles and statuses in one statement),
# 5-6 the person's permissions (user and group: the navigation's links).
SEARCH_PAGE_QUERIES = 6 + NAVIGATION_COUNTS


def test_search_page_costs_the_same_queries_for_few_and_many_matches(client, org, owner, template, outsider,
                                                                     other_org, django_assert_num_queries):
    plan = make_plan(org, owner, template=template, title="Query plan", ready=False)
    process_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Freight dispatch"})
    client.force_login(owner)
    with django_assert_num_queries(SEARCH_PAGE_QUERIES):
        small = client.get(SEARCH, {"q": "freight"})
    assert len(small.context["results"].hits) == 1

    for n in range(3):
        other = make_plan(org, owner, template=template, title=f"Freight plan {n}", ready=False)
        for m in range(13):
            process_save(plan=other, actor=owner, expected_revision=None, values={
                "name": f"Freight step {m}", "dependencies_json": ["Freight system"]})
        theirs = make_plan(other_org, outsider, template=template, title=f"Freight elsewhere {n}", ready=False)
        process_save(plan=theirs, actor=outsider, expected_revision=None, values={"name": "Freight depot"})
    with django_assert_num_queries(SEARCH_PAGE_QUERIES):
        large = client.get(SEARCH, {"q": "freight", "page": "2"})
    assert len(large.context["results"].hits) == 20 and large.context["results"].has_next
    assert all(h.plan_title.startswith(("Freight plan", "Query plan")) for h in large.context["results"].hits)
    assert Plan.objects.count() == 7


def test_a_word_in_very_many_items_shows_the_best_of_the_first_ones_and_asks_for_another_word(
    client, org, owner, template, monkeypatch
):
    from plans import search

    plan = make_plan(org, owner, template=template, title="Freight plan", ready=False)
    for m in range(6):
        process_save(plan=plan, actor=owner, expected_revision=None, values={"name": f"Freight step {m}"})
    client.force_login(owner)
    assert "search-narrow" not in client.get(SEARCH, {"q": "freight"}).content.decode()
    monkeypatch.setattr(search, "CANDIDATES", 4)  # fewer than the 7 items naming freight
    page = client.get(SEARCH, {"q": "freight"})
    assert page.context["results"].narrow and len(page.context["results"].hits) == 4
    assert "Add a word to narrow the search." in page.content.decode()


def test_the_search_starts_from_the_full_text_index(org, owner, written):
    """The one search statement reads the full-text index first, then each entry's plan by its key."""
    sql, params = _search_sql(org.pk, ["ransomware", "it"])
    with connection.cursor() as cursor:
        if MYSQL:
            cursor.execute("EXPLAIN " + sql, [*params, 21, 0])
            columns = [c[0] for c in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            # The candidates come from the full-text index alone; each is then read by primary key.
            # (A handful of plans here: the optimiser may read them whole rather than by key.)
            assert [r["table"] for r in rows] == ["<derived2>", "e", "p", "bc_search_entry"]
            assert (rows[1]["type"], rows[1]["key"]) == ("eq_ref", "PRIMARY")
            assert (rows[3]["type"], rows[3]["key"]) == ("fulltext", "ft_bc_search_entry_terms")
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, [*params, 21, 0])
            steps = [row[-1] for row in cursor.fetchall()]
            assert any(s.startswith("SCAN bc_search_fts VIRTUAL TABLE INDEX") for s in steps), steps
            assert all("SCAN e" not in s and "SCAN p" not in s for s in steps), steps
