"""Person search fields and their suggestions endpoint (plans/person_search.py)."""

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse

from bcp_site.testing import PASSWORD, make_user
from plans.person_search import PeopleField, PersonField, person_label

pytestmark = pytest.mark.django_db


class OneForm(forms.Form):
    person = PersonField(label="Owner")


class ManyForm(forms.Form):
    people = PeopleField(label="Reviewers")


def one(org_id, text, **field_kwargs):
    form = OneForm({"person": text})
    form.fields["person"].org_id = org_id
    for key, value in field_kwargs.items():
        setattr(form.fields["person"], key, value)
    return form


@pytest.fixture
def people(org, other_org):
    return {
        "jane": make_user(org, username="jdoe", first_name="Jane", last_name="Doe", email="jane@acme.test"),
        "john": make_user(org, username="jsmith", first_name="John", last_name="Doe"),
        "ann": make_user(org, username="alee", first_name="Ann", last_name="Lee"),
        "zed": make_user(other_org, username="zed", first_name="Zed", last_name="Outside",
                         email="zed@other.test"),
    }


@pytest.mark.parametrize(("text", "who"), [
    ("jane", "jane"), ("JANE DOE", "jane"), ("jdoe", "jane"), ("jane@acme.test", "jane"), ("Jane Doe (jdoe)", "jane"),
    ("  lee ", "ann"), ("Ann  Lee", "ann"),
])
def test_a_unique_match_resolves_to_the_person(org, people, text, who):
    form = one(org.pk, text)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == people[who]


def test_id_from_the_autocomplete_resolves_within_the_organisation(org, people):
    form = one(org.pk, f"#{people['john'].pk}")
    assert form.is_valid()
    assert form.cleaned_data["person"] == people["john"]


def test_a_bare_id_resolves_but_a_numeric_username_wins(org, people):
    form = one(org.pk, str(people["john"].pk))
    assert form.is_valid() and form.cleaned_data["person"] == people["john"]
    numeric = make_user(org, username=str(people["john"].pk), first_name="Numeric")
    form = one(org.pk, str(people["john"].pk))
    assert form.is_valid() and form.cleaned_data["person"] == numeric
    assert not one(org.pk, str(people["zed"].pk)).is_valid()


def test_several_matches_list_the_candidates_and_ask_for_the_username(org, people):
    form = one(org.pk, "doe")
    assert not form.is_valid()
    message = form.errors["person"][0]
    assert "Jane Doe (jdoe)" in message and "John Doe (jsmith)" in message
    assert "username" in message
    assert form.errors.as_data()["person"][0].code == "ambiguous"


def test_an_exact_username_wins_over_partial_matches(org, people):
    make_user(org, username="jdoe2", first_name="Jo", last_name="Doe")
    form = one(org.pk, "jdoe")
    assert form.is_valid()
    assert form.cleaned_data["person"] == people["jane"]


def test_nobody_matching_says_so(org, people):
    form = one(org.pk, "nobody-like-this")
    assert not form.is_valid()
    assert form.errors["person"] == ["Nobody in your organisation matches “nobody-like-this”."]


@pytest.mark.parametrize("text", ["zed", "zed@other.test", "Zed Outside", "Zed Outside (zed)", "outside"])
def test_another_organisations_person_never_matches(org, people, text):
    form = one(org.pk, text)
    assert not form.is_valid()
    assert "Nobody in your organisation" in form.errors["person"][0]


def test_an_id_of_another_organisation_is_refused(org, people):
    form = one(org.pk, f"#{people['zed'].pk}")
    assert not form.is_valid()
    assert form.errors.as_data()["person"][0].code == "no_match"


def test_inactive_people_are_not_chosen_by_default_but_a_queryset_may_allow_them(org, people):
    people["ann"].is_active = False
    people["ann"].save()
    assert not one(org.pk, "alee").is_valid()
    form = one(org.pk, "alee", queryset=get_user_model().objects.all())
    assert form.is_valid()
    assert form.cleaned_data["person"] == people["ann"]


def test_a_narrower_queryset_limits_who_may_be_chosen(org, people):
    form = one(org.pk, "jdoe", queryset=get_user_model().objects.filter(username="jsmith"))
    assert not form.is_valid()


def test_setting_org_on_one_form_does_not_leak_into_another(org, other_org, people):
    first = one(other_org.pk, "zed")
    assert first.is_valid()
    second = OneForm({"person": "zed"})  # org_id never set: nobody matches
    assert not second.is_valid()


def test_required_and_optional(org, people):
    assert one(org.pk, "  ").errors["person"] == ["This field is required."]
    form = OneForm({"person": ""})
    form.fields["person"].required = False
    assert form.is_valid() and form.cleaned_data["person"] is None


def test_resolution_reads_a_bounded_number_of_rows_whatever_the_organisation_size(
        org, people, django_assert_max_num_queries):
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"doe{i}", first_name="Many", last_name="Doe") for i in range(150)
    )
    from plans.models import Membership
    Membership.objects.bulk_create(
        Membership(user=u, organisation=org) for u in get_user_model().objects.filter(username__startswith="doe")
    )
    form = one(org.pk, "doe")
    with django_assert_max_num_queries(2):
        assert not form.is_valid()
    message = form.errors["person"][0]
    assert message.count("(") == 10 and "and others" in message


def test_the_input_shows_the_person_and_points_at_the_endpoint(org, people):
    form = OneForm(initial={"person": people["jane"]})
    form.fields["person"].org_id = org.pk
    html = str(form["person"])
    assert 'value="Jane Doe (jdoe)"' in html
    assert f'data-person-search="{reverse("plans:person_search")}"' in html
    by_id = OneForm(initial={"person": people["jane"].pk})
    by_id.fields["person"].org_id = org.pk
    assert 'value="Jane Doe (jdoe)"' in str(by_id["person"])


def test_people_field_resolves_each_entry_keeping_order_without_duplicates(org, people):
    form = ManyForm({"people": "alee\nJane Doe (jdoe); jsmith, alee"})
    form.fields["people"].org_id = org.pk
    assert form.is_valid(), form.errors
    assert form.cleaned_data["people"] == [people["ann"], people["jane"], people["john"]]


def test_people_field_names_every_entry_that_failed(org, people):
    form = ManyForm({"people": "alee\nnobody\ndoe\nzed"})
    form.fields["people"].org_id = org.pk
    assert not form.is_valid()
    errors = form.errors["people"]
    assert len(errors) == 3
    assert "“nobody”" in errors[0] and "“doe”" in errors[1] and "“zed”" in errors[2]


def test_people_field_shows_initial_people_one_per_line(org, people):
    form = ManyForm(initial={"people": [people["jane"], people["ann"]]})
    form.fields["people"].org_id = org.pk
    assert "Jane Doe (jdoe)\nAnn Lee (alee)" in str(form["people"])


# --- the endpoint ------------------------------------------------------------------------------

def search(client, user, q):
    client.force_login(user)
    response = client.get(reverse("plans:person_search"), {"q": q})
    assert response.status_code == 200
    return response.json()["results"]


def test_endpoint_suggests_people_of_the_users_organisation_only(client, org, people):
    results = search(client, people["jane"], "j")
    assert {r["label"] for r in results} == {"Jane Doe (jdoe)", "John Doe (jsmith)"}
    assert {r["id"] for r in results} == {people["jane"].pk, people["john"].pk}
    assert search(client, people["jane"], "zed") == []
    assert search(client, people["zed"], "j") == []
    assert [r["label"] for r in search(client, people["zed"], "zed")] == ["Zed Outside (zed)"]


def test_endpoint_matches_every_word_and_stops_at_twenty(client, org, people):
    assert [r["label"] for r in search(client, people["jane"], "john d")] == ["John Doe (jsmith)"]
    get_user_model().objects.bulk_create(get_user_model()(username=f"many{i}") for i in range(30))
    from plans.models import Membership
    Membership.objects.bulk_create(
        Membership(user=u, organisation=org) for u in get_user_model().objects.filter(username__startswith="many")
    )
    assert len(search(client, people["jane"], "many")) == 20
    assert search(client, people["jane"], "") == []


def test_endpoint_gives_a_superuser_without_organisation_nobody(client, people):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", PASSWORD)
    assert search(client, boss, "j") == []


def test_endpoint_needs_a_login(client):
    response = client.get(reverse("plans:person_search"), {"q": "j"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_person_label_without_a_full_name_is_the_username(org):
    assert person_label(make_user(org, username="plain", first_name="")) == "plain"


# --- in a browser: suggestions while typing (static/js/person-search.js) ------------------------

@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_typing_in_a_person_field_suggests_colleagues_under_the_policy(browser_page, org, owner, editor, outsider):
    from bcp_site.pytest_plugin import browser_login
    from bcp_site.testing import make_plan
    from bcp_site.tests.test_browser_csp import RECORD_VIOLATIONS

    make_plan(org, editor, title="Warehouse plan")
    make_plan(org, owner, title="Head office plan")
    page = browser_page
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in {"error", "warning"}
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.add_init_script(RECORD_VIOLATIONS)
    browser_login(page, owner.username)

    page.goto(page.base_url + reverse("plans:plan_list"))
    owner_input = page.locator("input[name=owner]")
    owner_input.press_sequentially("edi", delay=30)
    options = page.locator("datalist option[value='Editor2 (editor2)']")
    options.wait_for(state="attached")
    assert page.locator("datalist option").count() == 1  # the outsider "Outsider (outsider)" is never offered
    owner_input.fill("Editor2 (editor2)")  # what choosing the suggestion puts in the field
    page.click("button:has-text('Filter')")
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "Warehouse plan" in text and "Head office plan" not in text
    assert page.input_value("input[name=owner]") == "Editor2 (editor2)"
    page.shot("person-search-plan-list")
    assert problems + page.evaluate("() => window.__cspViolations") == []
