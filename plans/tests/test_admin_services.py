"""The admin writes only through the services: plans, contacts, processes and risks added or changed in the
admin get the same rows, rating, revision bump, audit and history as on the plan pages."""

import pytest
from django.urls import reverse

from bcp_site.testing import admin_inline_data, make_plan, make_ready
from plans.models import Audit, Contact, Plan, Process, Risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org, owner, template):
    """These tests edit a plan from scratch in the admin: what `plan_create` makes (the template's defaults, no
    contacts, processes or risks), not the ready-for-review plan of the shared fixture."""
    return make_plan(org, owner, template=template, title="Head office plan", ready=False)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def revision(plan) -> int:
    return Plan.objects.get(pk=plan.pk).edit_revision


def audit_actions(plan) -> list[str]:
    return list(Audit.objects.filter(plan=plan).order_by("id").values_list("action", flat=True))


def test_admin_add_and_page_add_give_the_same_contact_audit_and_revision(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    before = revision(plan)
    response = client.post(reverse("admin:plans_contact_add"), {
        "plan": plan.pk, "name": "Maria Lopez", "role": "Facilities", "phone": "+44 20 7946 0001",
        "email": "maria@example.org", "notes": "",
    })
    assert response.status_code == 302
    page = client.post(reverse("plans:contact_add", args=[plan.pk]), {
        "edit_revision": before + 1, "name": "Tom Hale", "role": "IT", "phone": "", "email": "", "notes": "",
    })
    assert page.status_code == 302
    assert revision(plan) == before + 2
    assert audit_actions(plan)[-2:] == ["contact_added", "contact_added"]
    admin_row, page_row = Contact.objects.filter(plan=plan).order_by("id")
    assert (admin_row.name, admin_row.email) == ("Maria Lopez", "maria@example.org")
    assert admin_row.history.count() == page_row.history.count() == 1


def test_admin_risk_gets_its_rating_from_the_service(client, plan, bcp_admin, owner):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_risk_add"), {
        "plan": plan.pk, "threat": "Flood", "likelihood": "likely", "impact": "severe", "mitigation": "Raise racks",
        "owner_user": owner.pk,
    })
    assert response.status_code == 302
    risk = Risk.objects.get(plan=plan)
    assert risk.rating == Risk.Rating.EXTREME
    assert audit_actions(plan)[-1] == "risk_added"


def test_admin_process_refuses_rto_beyond_mtpd_next_to_the_form(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_process_add"), {
        "plan": plan.pk, "name": "Payroll", "description": "", "rto_minutes": "2d", "rpo_minutes": "1h",
        "mtpd_minutes": "4h", "impact_rating": "high", "dependencies": "Bank\nHR system",
    })
    assert response.status_code == 200
    assert "cannot be longer than the maximum tolerable period" in response.content.decode()
    assert not Process.objects.exists()


def test_admin_process_stores_dependencies_and_durations_like_the_page(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_process_add"), {
        "plan": plan.pk, "name": "Payroll", "description": "", "rto_minutes": "4h", "rpo_minutes": "1h",
        "mtpd_minutes": "2d", "impact_rating": "high", "dependencies": "Bank\nHR system\nBank",
    })
    assert response.status_code == 302
    process = Process.objects.get()
    assert (process.rto_minutes, process.mtpd_minutes, process.dependencies_json) == (240, 2880, ["Bank", "HR system"])


def test_a_stale_admin_form_conflicts_and_keeps_the_input(client, plan, owner, bcp_admin):
    contact = Contact.objects.create(plan=plan, name="Alice")
    client.force_login(bcp_admin)
    change = reverse("admin:plans_contact_change", args=[contact.pk])
    opened_at = client.get(change).context["adminform"].form["edit_revision"].value()
    # Meanwhile the owner edits the plan on the plan page.
    client2 = type(client)()
    client2.force_login(owner)
    client2.post(reverse("plans:contact_add", args=[plan.pk]), {
        "edit_revision": opened_at, "name": "Bob", "role": "", "phone": "", "email": "", "notes": "",
    })
    response = client.post(change, {"edit_revision": opened_at, "name": "Alicia", "role": "", "phone": "",
                                    "email": "", "notes": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "saved this plan after you opened this form" in body
    assert 'value="Alicia"' in body  # the input is kept
    assert Contact.objects.get(pk=contact.pk).name == "Alice"
    # The re-shown form carries the new revision: saving again is a deliberate overwrite.
    again = response.context["adminform"].form["edit_revision"].value()
    assert int(again) == revision(plan)
    assert client.post(change, {"edit_revision": again, "name": "Alicia", "role": "", "phone": "", "email": "",
                                "notes": ""}).status_code == 302
    assert Contact.objects.get(pk=contact.pk).name == "Alicia"


def test_an_archived_plan_refuses_admin_edits_like_the_pages(client, plan, bcp_admin):
    Contact.objects.create(plan=plan, name="Alice")
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ARCHIVED)
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_contact_add"), {"plan": plan.pk, "name": "Bob"})
    assert response.status_code == 200
    assert "This plan is archived, so it cannot be changed. A BCP Admin can restore it." in response.content.decode()
    change = reverse("admin:plans_plan_change", args=[plan.pk])
    assert client.post(change, {"title": "Renamed", "owner_user": plan.owner_user_id,
                                "edit_revision": revision(plan)}).status_code == 403
    assert list(Contact.objects.filter(plan=plan).values_list("name", flat=True)) == ["Alice"]
    assert Plan.objects.get(pk=plan.pk).title == "Head office plan"


def test_plan_admin_never_accepts_a_working_copy(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    change = reverse("admin:plans_plan_change", args=[plan.pk])
    before = Plan.objects.get(pk=plan.pk).draft_content_json
    response = client.post(change, {**admin_inline_data(client.get(change)),
                                    "title": "Renamed", "owner_user": plan.owner_user_id,
                                    "edit_revision": revision(plan), "draft_content_json": '{"overview": 5}',
                                    "status": "approved"})
    assert response.status_code == 302
    saved = Plan.objects.get(pk=plan.pk)
    assert (saved.title, saved.draft_content_json, saved.status) == ("Renamed", before, Plan.Status.DRAFT)
    assert Audit.objects.filter(plan=plan, action="plan_changed").exists()
    # The plan page still renders.
    assert client.get(reverse("plans:plan_detail", args=[plan.pk])).status_code == 200


def test_plan_admin_shows_the_working_copy_readably(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    body = client.get(reverse("admin:plans_plan_change", args=[plan.pk])).content.decode()
    assert "Plan overview" in body and "Scope" in body and "All sites" in body
    assert '"overview"' not in body  # no raw JSON


def test_plan_admin_add_creates_version_one_in_the_admins_organisation(client, org, template, owner, bcp_admin):
    client.force_login(bcp_admin)
    add = reverse("admin:plans_plan_add")
    response = client.post(add, {
        **admin_inline_data(client.get(add)), "title": "Warehouse plan", "template": template.pk,
        "owner_user": owner.pk,
    })
    assert response.status_code == 302
    plan = Plan.objects.get(title="Warehouse plan")
    assert plan.org == org and plan.current_version.version_number == 1
    assert audit_actions(plan)[:2] == ["plan_created", "version_created"]


def test_plan_admin_add_refuses_an_owner_from_another_organisation(client, template, outsider, bcp_admin):
    client.force_login(bcp_admin)
    add = reverse("admin:plans_plan_add")
    response = client.post(add, {
        **admin_inline_data(client.get(add)), "title": "Warehouse plan", "template": template.pk,
        "owner_user": outsider.pk,
    })
    assert response.status_code == 200
    assert "owner_user" in response.context["adminform"].form.errors
    assert not Plan.objects.filter(title="Warehouse plan").exists()


def test_reverting_a_contact_goes_through_the_service(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    client.post(reverse("admin:plans_contact_add"), {"plan": plan.pk, "name": "Alice"})
    contact = Contact.objects.get()
    change = reverse("admin:plans_contact_change", args=[contact.pk])
    client.post(change, {"edit_revision": revision(plan), "name": "Alicia", "role": "", "phone": "", "email": "",
                         "notes": ""})
    first = contact.history.order_by("history_id").first()
    revert = reverse("admin:plans_contact_simple_history", args=[contact.pk, first.history_id])
    before = revision(plan)
    response = client.post(revert, {"edit_revision": before, "name": "Alice", "role": "", "phone": "", "email": "",
                                    "notes": ""})
    assert response.status_code == 302
    assert Contact.objects.get().name == "Alice"
    assert revision(plan) == before + 1
    assert audit_actions(plan)[-1] == "contact_changed"


def test_a_viewer_with_history_access_cannot_revert_evidence(client, plan, owner, reviewer):
    from reviews import services as workflow

    make_ready(plan)  # only a ready plan can be submitted
    (review,) = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    client.force_login(reviewer)
    history = plan.history.order_by("history_id").first()
    for url in (
        reverse("admin:plans_plan_simple_history", args=[plan.pk, history.history_id]),
        reverse("admin:reviews_review_simple_history", args=[review.pk, review.history.first().history_id]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "x", "status": "approved"}).status_code == 403
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.IN_REVIEW
    # History stays readable.
    assert client.get(reverse("admin:plans_plan_history", args=[plan.pk])).status_code == 200


def test_opening_an_admin_add_form_leaves_the_page_forms_requiring_a_revision(client, plan, bcp_admin, owner):
    """The admin's add form makes its revision field optional on a copy, not on the page forms' shared field."""
    client.force_login(bcp_admin)
    assert client.get(reverse("admin:plans_contact_add")).status_code == 200
    client.force_login(owner)
    response = client.post(reverse("plans:section_edit", args=[plan.pk, "overview"]), {"purpose": "x"})
    assert response.status_code == 400  # a form without its revision marker is refused, not saved


def test_plan_admin_shows_recent_audit_in_words_with_a_link_to_the_trail(client, plan, owner, bcp_admin):
    from plans.services import process_save

    process_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Payroll", "rto_minutes": 240})
    process = plan.processes.get()
    process_save(plan=plan, actor=owner, expected_revision=None, process_id=process.pk,
                 values={"name": "Payroll", "rto_minutes": 120})
    client.force_login(bcp_admin)
    body = client.get(reverse("admin:plans_plan_change", args=[plan.pk])).content.decode()
    assert "process_changed" in body and "rto_minutes: 240 → 120" in body
    assert "{&#x27;" not in body and "[240, 120]" not in body  # no Python or JSON literals
    assert reverse("changes:plan_audit", args=[plan.pk]) in body
