"""Editing a plan in the browser: sections, contacts, processes, risks, stale forms, audit rows."""

import pytest
from django.urls import reverse

from bcp_site.testing import make_plan, make_template
from plans.models import Audit, Contact, Plan, Process, Risk
from plans.services import ServiceError, contact_save, plan_section_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org, owner, template):
    """These tests edit a plan from scratch: what `plan_create` makes (the template's defaults, no
    contacts, processes or risks), not the ready-for-review plan of the shared fixture."""
    return make_plan(org, owner, template=template, title="Head office plan", ready=False)


def _page(response) -> str:
    return response.content.decode()


def _audit(plan, action):
    return Audit.objects.filter(plan=plan, action=action).order_by("-id").first()


# --- sections ---------------------------------------------------------------------------

def test_section_form_shows_fields_with_values_help_and_hidden_revision(client, plan, owner):
    client.force_login(owner)
    page = _page(client.get(reverse("plans:section_edit", args=[plan.pk, "overview"])))
    assert 'name="purpose"' in page and 'value="All sites"' in page and "What the plan covers." in page
    assert f'name="edit_revision" value="{plan.edit_revision}"' in page


def test_section_required_field_error_keeps_the_input_and_saves_nothing(client, plan, owner):
    client.force_login(owner)
    url = reverse("plans:section_edit", args=[plan.pk, "overview"])
    response = client.post(url, {"purpose": "", "scope": "Only the warehouse", "edit_revision": plan.edit_revision})
    page = _page(response)
    assert response.status_code == 200
    assert "This field is required." in page and 'value="Only the warehouse"' in page
    plan.refresh_from_db()
    assert plan.draft_content_json["overview"]["scope"] == "All sites"
    assert _audit(plan, "section_updated") is None


def test_section_save_stores_values_bumps_revision_and_audits(client, plan, owner):
    client.force_login(owner)
    url = reverse("plans:section_edit", args=[plan.pk, "overview"])
    before = plan.edit_revision
    response = client.post(url, {"purpose": "Keep payroll running", "scope": "All sites",
                                 "edit_revision": before})
    assert response.status_code == 302 and response.url.endswith("#section-overview")
    plan.refresh_from_db()
    assert plan.draft_content_json["overview"] == {"purpose": "Keep payroll running", "scope": "All sites"}
    assert plan.draft_content_json["maintenance"]["review_cadence"] == "annually"  # other sections untouched
    assert plan.edit_revision == before + 1
    entry = _audit(plan, "section_updated")
    assert entry.actor_user == owner and entry.details_json == {"section": "overview", "fields": ["purpose"]}


def test_unknown_section_is_404(client, plan, owner):
    client.force_login(owner)
    assert client.get(reverse("plans:section_edit", args=[plan.pk, "nope"])).status_code == 404


def test_table_field_add_row_rerenders_without_saving(client, org, owner):
    from bcp_site.testing import make_plan

    schema = {"sections": [{"key": "sites", "title": "Sites", "fields": [
        {"key": "locations", "label": "Locations", "type": "table",
         "columns": [{"key": "name", "label": "Site", "type": "text"},
                     {"key": "staff", "label": "Staff", "type": "integer"}]}]}]}
    plan = make_plan(org, owner, template=make_template(name="Table template", schema=schema))
    client.force_login(owner)
    url = reverse("plans:section_edit", args=[plan.pk, "sites"])
    data = {"edit_revision": plan.edit_revision, "locations-rows": "1", "locations-0-name": "Leeds",
            "locations-0-staff": "40"}
    response = client.post(url, {**data, "_add_row_locations": "1"})
    page = _page(response)
    assert response.status_code == 200 and 'value="Leeds"' in page and "locations-1-name" in page
    plan.refresh_from_db()
    assert plan.draft_content_json["sites"]["locations"] in ([], None)

    assert client.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.draft_content_json["sites"]["locations"] == [{"name": "Leeds", "staff": 40}]


def test_stale_section_form_is_refused_keeps_input_and_overwrites_nothing(client, plan, owner, editor):
    url = reverse("plans:section_edit", args=[plan.pk, "overview"])
    client.force_login(owner)
    opened = client.get(url)
    revision = opened.context["revision_form"]["edit_revision"].value()

    # Meanwhile someone else saves the same section.
    plan_section_update(plan=Plan.objects.get(pk=plan.pk), section_key="overview",
                        values={"purpose": "Their purpose", "scope": "Their scope"}, actor=editor,
                        expected_revision=revision)

    response = client.post(url, {"purpose": "My purpose", "scope": "My scope", "edit_revision": revision})
    page = _page(response)
    assert response.status_code == 200
    assert "Editor2 saved this plan after you opened this form" in page
    assert "My purpose" in page and 'value="My scope"' in page  # the input stays on screen
    plan.refresh_from_db()
    assert plan.draft_content_json["overview"] == {"purpose": "Their purpose", "scope": "Their scope"}
    assert Audit.objects.filter(plan=plan, action="section_updated").count() == 1


def test_in_review_plan_refuses_edits_with_a_message(client, plan, owner):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.IN_REVIEW)
    client.force_login(owner)
    response = client.post(reverse("plans:section_edit", args=[plan.pk, "overview"]),
                           {"purpose": "x", "scope": "y", "edit_revision": plan.edit_revision})
    assert response.status_code == 200 and "This plan is in review" in _page(response)
    plan.refresh_from_db()
    assert plan.draft_content_json["overview"]["purpose"] == ""


def test_approved_plan_goes_back_to_draft_when_edited(client, plan, owner):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPROVED, approved_version=plan.current_version)
    client.force_login(owner)
    client.post(reverse("plans:contact_add", args=[plan.pk]), {"name": "Bob", "edit_revision": plan.edit_revision})
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT and plan.approved_version.version_number == 1
    assert plan.contacts.filter(name="Bob").exists()


# --- contacts ----------------------------------------------------------------------------

def test_contact_add_edit_remove_with_audit_details(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:contact_add", args=[plan.pk]), {
        "name": "Alice Duty", "role": "Incident lead", "phone": "+44 20 7946 0001", "email": "alice@example.org",
        "notes": "", "edit_revision": plan.edit_revision})
    assert response.status_code == 302 and response.url.endswith("#contacts")
    contact = Contact.objects.get(plan=plan)
    assert _audit(plan, "contact_added").details_json == {"contact": "Alice Duty", "id": contact.pk}

    plan.refresh_from_db()
    edit_url = reverse("plans:contact_edit", args=[plan.pk, contact.pk])
    assert 'value="Alice Duty"' in _page(client.get(edit_url))
    client.post(edit_url, {"name": "Alice Duty", "role": "Crisis lead", "phone": "+44 20 7946 0001",
                           "email": "alice@example.org", "notes": "", "edit_revision": plan.edit_revision})
    contact.refresh_from_db()
    assert contact.role == "Crisis lead"
    assert _audit(plan, "contact_changed").details_json["changes"] == {"role": ["Incident lead", "Crisis lead"]}

    plan.refresh_from_db()
    delete_url = reverse("plans:contact_delete", args=[plan.pk, contact.pk])
    assert "Remove contact “Alice Duty”?" in _page(client.get(delete_url))
    assert client.post(delete_url, {"edit_revision": plan.edit_revision}).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert _audit(plan, "contact_removed").details_json == {"contact": "Alice Duty", "id": contact.pk}


def test_contact_form_errors_show_next_to_fields(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:contact_add", args=[plan.pk]),
                           {"name": "", "email": "not-an-email", "role": "Lead", "edit_revision": plan.edit_revision})
    page = _page(response)
    assert "This field is required." in page and "Enter a valid email address." in page
    assert 'value="Lead"' in page and not Contact.objects.exists()


def test_rows_of_another_plan_are_404(client, org, plan, owner, template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template)
    contact = Contact.objects.create(plan=other, name="Elsewhere")
    client.force_login(owner)
    assert client.get(reverse("plans:contact_edit", args=[plan.pk, contact.pk])).status_code == 404
    assert client.post(reverse("plans:contact_delete", args=[plan.pk, contact.pk]),
                       {"edit_revision": plan.edit_revision}).status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_stale_row_form_is_refused_and_the_newer_save_survives(client, plan, owner, editor):
    contact = Contact.objects.create(plan=plan, name="Alice", role="Lead")
    client.force_login(owner)
    url = reverse("plans:contact_edit", args=[plan.pk, contact.pk])
    revision = client.get(url).context["form"]["edit_revision"].value()
    contact_save(plan=Plan.objects.get(pk=plan.pk), actor=editor, expected_revision=revision,
                 values={"name": "Alice", "role": "Director"}, contact_id=contact.pk)

    response = client.post(url, {"name": "Alice", "role": "Deputy", "edit_revision": revision})
    page = _page(response)
    assert "saved this plan after you opened this form" in page and 'value="Deputy"' in page
    contact.refresh_from_db()
    assert contact.role == "Director"


def test_stale_remove_is_refused(client, plan, owner, editor):
    contact = Contact.objects.create(plan=plan, name="Alice")
    client.force_login(owner)
    stale = plan.edit_revision
    contact_save(plan=plan, actor=editor, expected_revision=stale, values={"name": "Bob"})
    response = client.post(reverse("plans:contact_delete", args=[plan.pk, contact.pk]), {"edit_revision": stale})
    assert response.status_code == 200 and "saved this plan after you opened this form" in _page(response)
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_service_refuses_a_stale_revision_with_code_conflict(plan, owner):
    with pytest.raises(ServiceError) as caught:
        contact_save(plan=plan, actor=owner, expected_revision=plan.edit_revision + 5, values={"name": "X"})
    assert caught.value.code == "conflict" and not Contact.objects.exists()


# --- processes ---------------------------------------------------------------------------

def _process_data(plan, **overrides):
    data = {"name": "Payroll", "description": "", "rto_minutes": "4h", "rpo_minutes": "30", "mtpd_minutes": "1d",
            "impact_rating": "high", "dependencies": "Payroll system\n\nBank link\nPayroll system\n",
            "edit_revision": plan.edit_revision}
    data.update(overrides)
    return data


def test_process_durations_in_human_units_and_dependencies_one_per_line(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:process_add", args=[plan.pk]), _process_data(plan))
    assert response.status_code == 302
    process = Process.objects.get(plan=plan)
    assert (process.rto_minutes, process.rpo_minutes, process.mtpd_minutes) == (240, 30, 1440)
    assert process.dependencies_json == ["Payroll system", "Bank link"]
    assert _audit(plan, "process_added").details_json["process"] == "Payroll"

    page = _page(client.get(reverse("plans:process_edit", args=[plan.pk, process.pk])))
    assert 'value="4h"' in page and 'value="1d"' in page and "Payroll system\nBank link" in page


def test_process_rto_longer_than_mtpd_is_a_form_error_on_rto(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:process_add", args=[plan.pk]),
                           _process_data(plan, rto_minutes="4h", mtpd_minutes="2h"))
    form = response.context["form"]
    assert form.errors["rto_minutes"] == [
        "The recovery time objective (4 h) cannot be longer than the maximum tolerable period of disruption "
        "(2 h): the process would come back after the organisation can no longer tolerate its loss."
    ]
    assert 'value="4h"' in _page(response) and not Process.objects.exists()


def test_process_bad_duration_is_a_form_error(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:process_add", args=[plan.pk]), _process_data(plan, rpo_minutes="soon"))
    assert "rpo_minutes" in response.context["form"].errors and not Process.objects.exists()


def test_process_change_is_audited_field_by_field(client, plan, owner):
    process = Process.objects.create(plan=plan, name="Payroll", rto_minutes=240, rpo_minutes=30, mtpd_minutes=1440,
                                     impact_rating="high", dependencies_json=["Payroll system", "Bank link"])
    client.force_login(owner)
    client.post(reverse("plans:process_edit", args=[plan.pk, process.pk]), _process_data(plan, rto_minutes="2h"))
    process.refresh_from_db()
    assert process.rto_minutes == 120
    assert _audit(plan, "process_changed").details_json["changes"] == {"rto_minutes": [240, 120]}
    plan.refresh_from_db()
    client.post(reverse("plans:process_delete", args=[plan.pk, process.pk]), {"edit_revision": plan.edit_revision})
    assert not Process.objects.exists() and _audit(plan, "process_removed") is not None


# --- risks -------------------------------------------------------------------------------

def test_risk_rating_is_computed_not_entered(client, plan, owner, outsider):
    client.force_login(owner)
    data = {"threat": "Flood", "likelihood": "likely", "impact": "severe", "mitigation": "Move servers upstairs",
            "owner_user": owner.pk, "rating": "low", "edit_revision": plan.edit_revision}
    assert client.post(reverse("plans:risk_add", args=[plan.pk]), data).status_code == 302
    risk = Risk.objects.get(plan=plan)
    assert risk.rating == Risk.Rating.EXTREME and risk.owner_user == owner  # 4 x 5 = 20
    assert _audit(plan, "risk_added").details_json["risk"] == "Flood"

    plan.refresh_from_db()
    client.post(reverse("plans:risk_edit", args=[plan.pk, risk.pk]),
                {**data, "likelihood": "rare", "edit_revision": plan.edit_revision})
    risk.refresh_from_db()
    assert risk.rating == Risk.Rating.MEDIUM  # 1 x 5 = 5
    changes = _audit(plan, "risk_changed").details_json["changes"]
    assert changes == {"likelihood": ["likely", "rare"], "rating": ["extreme", "medium"]}

    plan.refresh_from_db()
    refused = client.post(reverse("plans:risk_edit", args=[plan.pk, risk.pk]),
                          {**data, "owner_user": outsider.pk, "edit_revision": plan.edit_revision})
    assert "owner_user" in refused.context["form"].errors
