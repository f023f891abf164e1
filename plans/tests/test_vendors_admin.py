"""Vendors, resources and collaborators in the admin: the same services as the pages, so the same rules,
audit rows and history, and nothing of another organisation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from plans.collaborators import collaborator_save
from plans.models import Audit, Plan
from plans.vendor_models import PlanCollaborator, ProcessVendor, Resource, Vendor

from .vendor_support import add_resource, add_vendor, link_vendors

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_vendor_added_in_the_admin_goes_through_the_service(client, org, bcp_admin):
    client.force_login(bcp_admin)
    data = {"name": "Acme GmbH", "service": "Payroll bureau", "criticality": "high", "recovery_minutes": "4h",
            "evidence_on": "", "contract_reference": "", "contacts": ""}
    assert client.post(reverse("admin:plans_vendor_add"), data).status_code == 302
    vendor = Vendor.objects.get()
    assert (vendor.org, vendor.name_key, vendor.recovery_minutes) == (org, "acme gmbh", 240)
    assert Audit.objects.filter(org=org, plan=None, action="vendor_added", actor_user=bcp_admin).exists()
    response = client.post(reverse("admin:plans_vendor_add"), {**data, "name": "ACME  gmbh"})
    assert response.status_code == 200
    assert "“Acme GmbH” is in the vendor register already" in response.content.decode()
    assert Vendor.objects.count() == 1


def test_the_admin_refuses_to_delete_a_vendor_still_depended_on(client, plan, owner, bcp_admin):
    vendor = add_vendor(plan.org, bcp_admin, "Acme GmbH")
    link_vendors(plan, owner, [vendor])
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_vendor_delete", args=[vendor.pk]), {"post": "yes"}, follow=True)
    assert any("still a dependency of “Customer service”" in m for m in messages_of(response))
    assert Vendor.objects.filter(pk=vendor.pk).exists()


def test_the_vendor_admin_shows_warnings_and_dependents(client, plan, owner, bcp_admin):
    vendor = add_vendor(plan.org, bcp_admin, "Slow Cloud", recovery=600, evidence_days=400)
    link_vendors(plan, owner, [vendor])
    client.force_login(bcp_admin)
    page = client.get(reverse("admin:plans_vendor_change", args=[vendor.pk])).content.decode()
    assert "Recovers after the RTO of 1 dependent process(es)" in page
    assert "Continuity evidence is 400 days old" in page and "Customer service" in page


def test_an_editor_cannot_delete_vendors_in_the_admin(client, org, owner):
    vendor = add_vendor(org, owner, "Acme GmbH")
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    assert client.post(reverse("admin:plans_vendor_delete", args=[vendor.pk]), {"post": "yes"}).status_code == 403


def test_a_process_saved_in_the_admin_keeps_its_vendors_and_offers_only_ours(client, plan, owner, bcp_admin,
                                                                            outsider):
    ours = add_vendor(plan.org, bcp_admin, "Acme GmbH")
    add_vendor(outsider.membership.organisation, outsider, "Zebra Freight")
    link_vendors(plan, owner, [ours])
    process = plan.processes.get()
    client.force_login(bcp_admin)
    url = reverse("admin:plans_process_change", args=[process.pk])
    page = client.get(url).content.decode()
    assert "Acme GmbH" in page and "Zebra Freight" not in page
    response = client.post(url, {
        "edit_revision": Plan.objects.get(pk=plan.pk).edit_revision, "name": process.name, "description": "",
        "rto_minutes": "4h", "rpo_minutes": "1h", "mtpd_minutes": "1d", "impact_rating": "high", "dependencies": "",
        "depends_on_vendors": [str(ours.pk)],
    })
    assert response.status_code == 302
    assert list(ProcessVendor.objects.values_list("vendor_id", flat=True)) == [ours.pk]


def test_a_resource_changed_in_the_admin_gets_the_service_rules(client, plan, owner, bcp_admin, reviewer):
    from plans.services import revision_save
    from reviews.services import plan_submit_for_review

    resource = add_resource(plan, owner, "Laptops")
    client.force_login(bcp_admin)
    url = reverse("admin:plans_resource_change", args=[resource.pk])
    before = Plan.objects.get(pk=plan.pk).edit_revision
    response = client.post(url, {
        "edit_revision": before, "kind": "equipment", "name": "Laptops", "process": "", "primary_source": "IT store",
        "alternate_source": "", "notes": "", "quantities_needed": "0: 5",
    })
    assert response.status_code == 302
    assert Plan.objects.get(pk=plan.pk).edit_revision == before + 1
    assert list(resource.quantities.values_list("after_minutes", "quantity")) == [(0, 5)]
    assert Audit.objects.filter(plan=plan, action="resource_changed", actor_user=bcp_admin).exists()
    # A stale form is a conflict, shown on the form.
    response = client.post(url, {
        "edit_revision": before, "kind": "equipment", "name": "Tablets", "process": "", "primary_source": "",
        "alternate_source": "", "notes": "", "quantities_needed": "",
    })
    assert "saved this plan after you opened this form" in response.content.decode()
    assert Resource.objects.get().name == "Laptops"
    # In review: read-only.
    revision_save(plan=plan, actor=owner, note="Five laptops")
    plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "from the start: 5" in page.content.decode()
    process_page = client.get(reverse("admin:plans_process_change", args=[plan.processes.get().pk]))
    assert process_page.status_code == 200 and 'name="_save"' not in process_page.content.decode()


def test_collaborators_in_the_admin_go_through_the_service(client, plan, owner, editor, bcp_admin):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_plancollaborator_add"), {
        "plan": plan.pk, "user": editor.pk, "role": "section_owner", "sections": "overview, annex"})
    assert response.status_code == 200 and "no section “annex”" in response.content.decode()
    response = client.post(reverse("admin:plans_plancollaborator_add"), {
        "plan": plan.pk, "user": editor.pk, "role": "section_owner", "sections": "overview"})
    assert response.status_code == 302
    row = PlanCollaborator.objects.get()
    assert row.section_keys == ["overview"] and row.added_by_user == bcp_admin
    assert Audit.objects.filter(plan=plan, action="collaborator_added", actor_user=bcp_admin).exists()
    response = client.post(reverse("admin:plans_plancollaborator_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 302 and not PlanCollaborator.objects.exists()
    assert Audit.objects.filter(plan=plan, action="collaborator_removed").exists()


def test_the_admin_lists_only_our_organisations_rows(client, plan, owner, bcp_admin, outsider, other_org):
    from bcp_site.testing import make_plan, make_template

    add_vendor(plan.org, bcp_admin, "Acme GmbH")
    add_resource(plan, owner, "Laptops")
    collaborator_save(plan=plan, actor=owner, user=owner, role="co_author")
    theirs = make_plan(other_org, outsider, template=make_template(name="Theirs"), title="Their plan")
    add_vendor(other_org, outsider, "Zebra Freight")
    add_resource(theirs, outsider, "Zebra trucks")
    collaborator_save(plan=theirs, actor=outsider, user=outsider, role="co_author")
    client.force_login(bcp_admin)
    for name, ours, other in (("vendor", "Acme GmbH", "Zebra Freight"), ("resource", "Laptops", "Zebra trucks"),
                              ("plancollaborator", "Head office plan", "Their plan")):
        page = client.get(reverse(f"admin:plans_{name}_changelist")).content.decode()
        assert ours in page and other not in page, name
