"""One home per rule on the plan side: the edit lock and "the working copy differs"."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from bcp_site.testing import make_plan
from plans.models import Contact, Plan
from plans.services import (
    contact_save,
    plan_edit_refusal,
    version_create,
    working_copy_content,
    working_copy_differs,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org, owner, template):
    """These tests edit a plan from scratch: what `plan_create` makes (the template's defaults, no
    contacts, processes or risks), not the ready-for-review plan of the shared fixture."""
    return make_plan(org, owner, template=template, title="Head office plan", ready=False)


def set_status(plan, status):
    Plan.objects.filter(pk=plan.pk).update(status=status)
    plan.refresh_from_db()


# --- the edit lock: plans.services.plan_edit_refusal -------------------------------------------

@pytest.mark.parametrize("status, code", [
    (Plan.Status.DRAFT, None),
    (Plan.Status.APPROVED, None),  # a change starts a new revision
    (Plan.Status.IN_REVIEW, "locked_in_review"),
    (Plan.Status.ARCHIVED, "archived"),
])
def test_edit_refusal_is_the_rule(plan, status, code):
    set_status(plan, status)
    refusal = plan_edit_refusal(plan)
    assert (refusal.code if refusal else None) == code
    files = plan_edit_refusal(plan, attachments=True)
    assert (files.code if files else None) == code  # locked means locked: files too


@pytest.mark.parametrize("status", [Plan.Status.IN_REVIEW, Plan.Status.ARCHIVED])
def test_locked_plan_page_offers_no_edit_control_and_refuses_the_edit(client, plan, owner, status):
    set_status(plan, status)
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    for name in ("plans:version_create", "plans:contact_add", "plans:process_add", "plans:risk_add",
                 "plans:template_change"):
        assert reverse(name, args=[plan.pk]) not in page, name
    assert escape(plan_edit_refusal(plan).message) in page  # the page says why
    assert 'name="file"' not in page  # no upload form either
    assert "can withdraw it" in page or "A BCP Admin can restore it" in page  # and who can unlock it

    response = client.post(reverse("plans:contact_add", args=[plan.pk]),
                           {"name": "Bob", "edit_revision": plan.edit_revision})
    assert response.status_code == 200 and escape(plan_edit_refusal(plan).message) in response.content.decode()
    assert not Contact.objects.filter(plan=plan).exists()


def test_draft_plan_page_offers_the_edit_controls(client, plan, owner):
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert reverse("plans:contact_add", args=[plan.pk]) in page and 'name="file"' in page


def test_plan_in_review_refuses_admin_edits(client, plan, bcp_admin):
    set_status(plan, Plan.Status.IN_REVIEW)
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_contact_add"), {"plan": plan.pk, "name": "Bob"})
    assert escape(plan_edit_refusal(plan).message) in response.content.decode()
    change = reverse("admin:plans_plan_change", args=[plan.pk])
    assert client.post(change, {"title": "Renamed", "owner_user": plan.owner_user_id}).status_code == 403
    assert not Contact.objects.filter(plan=plan).exists()
    assert Plan.objects.get(pk=plan.pk).title == plan.title


# --- "the working copy differs from the active version": working_copy_differs -----------------

def test_working_copy_differs_is_the_rule(plan, owner, template):
    plan.refresh_from_db()
    assert working_copy_differs(plan) is False  # version 1 holds the working copy
    assert working_copy_differs(plan, content=working_copy_content(plan)) is False
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Alice"})
    plan.refresh_from_db()
    assert working_copy_differs(plan) is True
    version_create(plan=plan, actor=owner, note="contacts")
    plan.refresh_from_db()
    assert working_copy_differs(plan) is False
    # The same content under another template version is a change too.
    plan.template_id = template.pk + 1000
    assert working_copy_differs(plan) is True
    plan.current_version = None
    assert working_copy_differs(plan) is True  # nothing saved yet


def test_plan_page_shows_unsaved_changes_by_the_rule(client, plan, owner):
    client.force_login(owner)
    assert "Unsaved changes" not in client.get(plan.get_absolute_url()).content.decode()
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Alice"})
    assert "Unsaved changes" in client.get(plan.get_absolute_url()).content.decode()
