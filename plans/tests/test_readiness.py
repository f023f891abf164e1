"""Readiness: what a version (its snapshot) or the working copy lacks before review, with where to fix it."""

import copy

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from bcp_site.testing import SMALL_SCHEMA, add_children, make_plan, make_template
from plans.models import Contact, Process, Risk
from plans.readiness import NotReadyError, plan_readiness, version_readiness, version_readiness_refusal
from plans.services import contact_save, process_save, revision_save
from templates_app.models import Template
from templates_app.schema import template_sections

pytestmark = pytest.mark.django_db


def with_readiness(**readiness) -> dict:
    schema = copy.deepcopy(SMALL_SCHEMA)
    schema["readiness"] = readiness
    return schema


def checks(items) -> list[str]:
    return [item.check for item in items]


def test_an_empty_plan_is_blocked_on_each_thing_every_plan_needs(org, owner, template):
    plan = make_plan(org, owner, template=template, ready=False)
    readiness = version_readiness(plan.current_version)
    assert not readiness.ready
    assert [(item.check, item.message, item.url) for item in readiness.blockers] == [
        ("required_fields", "“Purpose” in Plan overview is required and empty",
         reverse("plans:section_edit", args=[plan.pk, "overview"])),
        ("contacts", "There is no contact: add the people to call in an incident",
         reverse("plans:contact_add", args=[plan.pk])),
        ("critical_processes", "There is no critical process: add one with its recovery time objective (RTO) "
         "and maximum tolerable period of disruption (MTPD)", reverse("plans:process_add", args=[plan.pk])),
        ("risks", "The risk register is empty: add the risks this plan answers",
         reverse("plans:risk_add", args=[plan.pk])),
    ]
    assert readiness.warnings == []
    refusal = version_readiness_refusal(plan.current_version, action="review")
    assert isinstance(refusal, NotReadyError) and refusal.code == "not_ready"
    assert refusal.problems == [item.message for item in readiness.blockers]
    assert refusal.message.startswith("Version 1 cannot be submitted for review until these are fixed: "
                                      "“Purpose” in Plan overview is required and empty; There is no contact")


def test_a_ready_plan_passes_and_says_what_holds(plan):
    readiness = version_readiness(plan.current_version)
    assert readiness.ready and readiness.blockers == [] and readiness.warnings == []
    assert readiness.passed == ["The template's required fields are filled", "1 contact", "1 critical process",
                                "1 risk"]
    assert version_readiness_refusal(plan.current_version, action="approval") is None


def test_a_version_is_judged_by_its_snapshot_not_by_live_rows(plan, owner):
    version = plan.current_version
    Contact.objects.filter(plan=plan).delete()
    Process.objects.filter(plan=plan).delete()
    assert version_readiness(version).ready  # what was written stands
    working = plan_readiness(plan)
    assert checks(working.blockers) == ["contacts", "critical_processes"]

    empty = make_plan(plan.org, owner, template=plan.template, ready=False)
    add_children(empty, 2)
    assert "contacts" not in checks(plan_readiness(empty).blockers)  # the working copy has them
    assert "contacts" in checks(version_readiness(empty.current_version).blockers)  # version 1 does not


def test_processes_without_rto_and_mtpd_are_not_critical_and_the_link_opens_one(org, owner, template):
    plan = make_plan(org, owner, template=template, ready=False)
    process = process_save(plan=plan, actor=owner, expected_revision=None,
                           values={"name": "Payroll", "rto_minutes": 60, "mtpd_minutes": None})
    item = next(i for i in plan_readiness(plan).blockers if i.check == "critical_processes")
    assert item.message.startswith("No process is critical yet: a critical process has a recovery time objective")
    assert "set them on “Payroll”" in item.message
    assert item.url == reverse("plans:process_edit", args=[plan.pk, process.pk])
    process_save(plan=plan, actor=owner, expected_revision=None, process_id=process.pk,
                 values={"mtpd_minutes": 240})
    assert "critical_processes" not in checks(plan_readiness(plan).blockers)


def test_template_minimums_block_or_only_warn_as_declared(org, owner):
    strict = make_template(schema=with_readiness(min_contacts=3, min_risks=2))
    lenient = make_template(schema=with_readiness(min_contacts=3, min_risks=2, warn_only=["min_contacts"]))
    for template, blocking in ((strict, ["min_contacts", "min_risks"]), (lenient, ["min_risks"])):
        plan = make_plan(org, owner, template=template)
        readiness = version_readiness(plan.current_version)
        assert checks(readiness.blockers) == blocking
        assert checks(readiness.warnings) == [c for c in ["min_contacts"] if c not in blocking]
        item = next(i for i in readiness.blockers + readiness.warnings if i.check == "min_contacts")
        assert item.message == "The template asks for at least 3 contacts; the plan has 1"
        assert item.url == reverse("plans:contact_add", args=[plan.pk])


def test_what_every_plan_needs_blocks_even_where_the_template_minimum_only_warns(org, owner):
    template = make_template(schema=with_readiness(min_contacts=3, warn_only=["min_contacts"]))
    plan = make_plan(org, owner, template=template)
    Contact.objects.filter(plan=plan).delete()
    item = next(i for i in plan_readiness(plan).blockers if i.check == "contacts")
    assert item.message == ("There is no contact: add the people to call in an incident "
                            "(the template asks for at least 3)")


def test_fields_required_for_approval_block_or_warn(org, owner):
    template = make_template(schema=with_readiness(
        required_for_approval=["overview.scope", "maintenance.next_review"], warn_only=["maintenance.next_review"],
    ))
    plan = make_plan(org, owner, template=template)  # make_ready fills both
    assert version_readiness(plan.current_version).passed[-2:] == [
        "“Scope” in Plan overview is filled", "“Next review” in Maintenance and review is filled"]
    content = copy.deepcopy(plan.current_version.content_json)
    content["overview"]["scope"] = ""
    content["maintenance"]["next_review"] = None
    plan.current_version.content_json = content
    readiness = version_readiness(plan.current_version)
    assert [(i.check, i.message, i.url) for i in readiness.blockers] == [
        ("overview.scope", "“Scope” in Plan overview is empty: it must be filled before approval",
         reverse("plans:section_edit", args=[plan.pk, "overview"])),
    ]
    assert [(i.check, i.message) for i in readiness.warnings] == [
        ("maintenance.next_review",
         "“Next review” in Maintenance and review is empty: the template recommends filling it before approval"),
    ]


def test_a_value_that_no_longer_fits_its_field_blocks(plan):
    content = copy.deepcopy(plan.current_version.content_json)
    content["maintenance"]["review_cadence"] = "weekly"
    plan.current_version.content_json = content
    assert [i.message for i in version_readiness(plan.current_version).blockers] == [
        "“Review cadence” in Maintenance and review: 'weekly' is not one of the choices"]


def test_a_fixed_plan_becomes_ready_once_saved_as_a_revision(org, owner, template):
    plan = make_plan(org, owner, template=template, ready=False)
    from plans.services import plan_section_update, risk_save

    plan_section_update(plan=plan, section_key="overview", values={"purpose": "Keep serving", "scope": "All"},
                        actor=owner, expected_revision=None)
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Ann", "phone": "+44 1"})
    process_save(plan=plan, actor=owner, expected_revision=None,
                 values={"name": "Orders", "rto_minutes": 60, "mtpd_minutes": 240})
    risk_save(plan=plan, actor=owner, expected_revision=None,
              values={"threat": "Flood", "likelihood": Risk.Likelihood.RARE, "impact": Risk.Impact.MAJOR})
    assert plan_readiness(plan).ready
    assert not version_readiness(plan.current_version).ready  # not until it is written
    version = revision_save(plan=plan, actor=owner, note="Filled in")
    assert version_readiness(version).ready


def test_plan_readiness_costs_the_same_few_queries_for_small_and_large_plans(
        org, owner, template, django_assert_num_queries):
    small = make_plan(org, owner, template=template)
    large = make_plan(org, owner, template=template)
    add_children(large, 60)
    for plan in (small, large):
        plan.template = Template.objects.get(pk=template.pk)
        # 1: the rows counted in one query (contacts, processes, critical ones, risks, one to link to);
        # 2: the template's section rows.
        with django_assert_num_queries(2):
            readiness = plan_readiness(plan)
        assert readiness.ready
        sections = template_sections(plan.template)
        content = {**plan.draft_content_json, "contacts": [{}], "processes": [{"rto_minutes": 1, "mtpd_minutes": 2}],
                   "risks": [{}]}
        with django_assert_num_queries(0):  # what the plan page has already
            assert plan_readiness(plan, content=content, sections=sections).ready


def test_the_checklist_shows_blockers_and_warnings_apart_with_their_links(org, owner):
    template = make_template(schema=with_readiness(min_risks=2, warn_only=["min_risks"]))
    plan = make_plan(org, owner, template=template)
    Contact.objects.filter(plan=plan).delete()
    readiness = plan_readiness(plan)
    html = render_to_string("plans/includes/readiness.html", {"readiness": readiness, "links": True})
    add_contact = reverse("plans:contact_add", args=[plan.pk])
    add_risk = reverse("plans:risk_add", args=[plan.pk])
    assert html.count('data-testid="readiness-blocker"') == 1 and html.count('data-testid="readiness-warning"') == 1
    blocker = html.split('data-testid="readiness-blocker"')[1].split("</li>")[0]
    warning = html.split('data-testid="readiness-warning"')[1].split("</li>")[0]
    assert "Must fix:" in blocker and "There is no contact" in blocker and f'href="{add_contact}"' in blocker
    assert "Recommended:" in warning and "at least 2 risks" in warning and f'href="{add_risk}"' in warning
    assert "readiness-blocked" in html and "<strong>Not yet.</strong> 1 thing must be fixed" in html
    without_links = render_to_string("plans/includes/readiness.html", {"readiness": readiness, "links": False})
    assert "href=" not in without_links and "There is no contact" in without_links
    ready = render_to_string("plans/includes/readiness.html", {"readiness": version_readiness(
        make_plan(org, owner).current_version), "links": True})
    assert "readiness-ready" in ready and "everything a review needs is there" in ready


def test_the_default_template_declares_readiness_and_a_ready_plan_meets_it(org, owner):
    default = Template.objects.get(is_default=True)
    assert default.schema_json["readiness"]["required_for_approval"][:3] == [
        "overview.scope", "overview.plan_owner", "maintenance.next_review"]
    plan = make_plan(org, owner, template=default)
    readiness = version_readiness(plan.current_version)
    assert readiness.ready
    # One contact and one risk: the template recommends three of each, but only warns.
    assert checks(readiness.warnings) == ["min_contacts", "min_risks"]
    bare = make_plan(org, owner, template=default, ready=False)
    assert {"overview.scope", "overview.plan_owner", "maintenance.next_review"} <= set(
        checks(version_readiness(bare.current_version).blockers))


def test_plan_page_shows_the_checklist_with_links_to_fix_it(client, org, owner, template):
    bare = make_plan(org, owner, template=template, ready=False)
    client.force_login(owner)
    page = client.get(bare.get_absolute_url()).content.decode()
    start = page.index('data-testid="readiness"')
    checklist = page[start:page.index("</section>", start)]
    assert "Not yet." in checklist
    assert reverse("plans:contact_add", args=[bare.pk]) in checklist  # "add a contact" is one click away
    assert reverse("plans:risk_add", args=[bare.pk]) in checklist
