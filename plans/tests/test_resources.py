"""Resources of a plan: the pages (edit lock and conflicts as for contacts), the version snapshot, the
differences, the exports, "not recorded" for older versions, and four eyes."""

from __future__ import annotations

import io

import docx
import pytest
from django.urls import reverse

from plans.exports import render_docx, render_pdf
from plans.models import Audit, Plan, PlanVersion
from plans.resources import quantities_display, quantities_parse
from plans.services import ServiceError, revision_save
from plans.vendor_models import Resource

from .exercise_support import approve
from .test_exports_render import pdf_text
from .vendor_support import add_resource

pytestmark = pytest.mark.django_db


def form_data(plan, **values) -> dict:
    data = {"kind": "people", "name": "Call handlers", "process": "", "primary_source": "Customer team",
            "alternate_source": "Agency staff", "notes": "", "quantities_needed": "0: 2\n4h: 10\n1d: 25",
            "edit_revision": str(Plan.objects.get(pk=plan.pk).edit_revision)}
    data.update(values)
    return data


def test_quantities_as_people_type_them():
    assert quantities_parse("0: 2\n 4h : 10\n\n1d=25") == [(0, 2), (240, 10), (1440, 25)]
    assert quantities_display([(240, 10), (0, 2)]) == "from the start: 2; after 4 h: 10"
    for text, words in [("4h 10", "Line 1"), ("soon: 3", "Line 1"), ("4h: -1", "whole number"),
                        ("4h: 2\n240: 3", "listed twice"), ("1h: lots", "whole number")]:
        with pytest.raises(ValueError, match=words):
            quantities_parse(text)


def test_adding_a_resource_on_the_plan_page(client, plan, owner):
    process = plan.processes.get()
    client.force_login(owner)
    revision = Plan.objects.get(pk=plan.pk).edit_revision
    response = client.post(reverse("plans:resource_add", args=[plan.pk]), form_data(plan, process=str(process.pk)))
    assert response["Location"].endswith("#resources")
    resource = Resource.objects.get()
    assert (resource.name, resource.process, resource.kind) == ("Call handlers", process, "people")
    assert list(resource.quantities.values_list("after_minutes", "quantity")) == [(0, 2), (240, 10), (1440, 25)]
    assert Plan.objects.get(pk=plan.pk).edit_revision == revision + 1
    assert Audit.objects.filter(plan=plan, action="resource_added", actor_user=owner).exists()
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "Call handlers" in page and "from the start: 2; after 4 h: 10; after 1 day: 25" in page
    assert 'data-testid="unsaved"' in page  # a resource is plan content: the working copy changed


def test_changing_and_removing_a_resource(client, plan, owner):
    resource = add_resource(plan, owner, "Laptops")
    client.force_login(owner)
    url = reverse("plans:resource_edit", args=[plan.pk, resource.pk])
    assert "4h: 10" in client.get(url).content.decode()  # the quantities as typed
    changed = form_data(plan, name="Laptops", kind="equipment", quantities_needed="0: 3")
    assert client.post(url, changed).status_code == 302
    entry = Audit.objects.filter(plan=plan, action="resource_changed").latest("id")
    assert entry.details_json["changes"]["quantities"] == ["from the start: 2; after 4 h: 10", "from the start: 3"]
    assert list(resource.quantities.values_list("after_minutes", "quantity")) == [(0, 3)]
    response = client.post(reverse("plans:resource_delete", args=[plan.pk, resource.pk]),
                           {"edit_revision": str(Plan.objects.get(pk=plan.pk).edit_revision)})
    assert response.status_code == 302 and not Resource.objects.exists()
    assert Audit.objects.filter(plan=plan, action="resource_removed").exists()
    assert resource.history.count() >= 2


def test_bad_quantities_are_a_form_error_that_keeps_the_input(client, plan, owner):
    client.force_login(owner)
    response = client.post(reverse("plans:resource_add", args=[plan.pk]), form_data(plan, quantities_needed="4h: ten"))
    text = response.content.decode()
    assert response.status_code == 200 and "Line 1: the quantity must be a whole number" in text
    assert "4h: ten" in text and not Resource.objects.exists()


def test_a_stale_form_is_a_conflict_and_keeps_the_input(client, plan, owner, editor):
    client.force_login(owner)
    stale = form_data(plan, name="Generators")
    add_resource(plan, editor, "Fuel")  # someone else saved in between
    response = client.post(reverse("plans:resource_add", args=[plan.pk]), stale)
    text = response.content.decode()
    assert "saved this plan after you opened this form" in text and "Generators" in text
    assert list(Resource.objects.values_list("name", flat=True)) == ["Fuel"]


def test_resources_follow_the_edit_lock(client, plan, owner, reviewer):
    from reviews.services import plan_submit_for_review

    plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    client.force_login(owner)
    response = client.post(reverse("plans:resource_add", args=[plan.pk]), form_data(plan))
    assert "This plan is in review" in response.content.decode() and not Resource.objects.exists()
    with pytest.raises(ServiceError) as refusal:
        add_resource(plan, owner, "Laptops")
    assert refusal.value.code == "locked_in_review"


def test_a_resource_added_to_an_approved_plan_starts_a_revision_and_leaves_the_approved_version(
        client, plan, owner, reviewer):
    approve(plan, submitter=owner, approver=reviewer)
    approved = plan.approved_version
    add_resource(plan, owner, "Laptops")
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT and plan.approved_version == approved
    approved.refresh_from_db()
    assert approved.content_json["resources"] == []


def test_a_process_of_another_plan_is_refused(plan, owner, org, template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template, title="Depot plan")
    with pytest.raises(ServiceError) as refusal:
        add_resource(plan, owner, "Laptops", process=other.processes.get())
    assert refusal.value.code == "other_plan"


def test_viewers_and_other_organisations_cannot_add_resources(client, plan, member, outsider):
    url = reverse("plans:resource_add", args=[plan.pk])
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


# --- versions, differences, exports ------------------------------------------------------------------------


@pytest.fixture
def versions(plan, owner):
    """Version 1 as written before resources were kept (no list at all), version 2 with two resources."""
    old = dict(plan.current_version.content_json)
    del old["resources"]
    PlanVersion.objects.filter(pk=plan.current_version_id).update(content_json=old)
    add_resource(plan, owner, "Laptops", process=plan.processes.get())
    add_resource(plan, owner, "Spare office", kind="workspace", quantities=[(1440, 40)])
    revision_save(plan=plan, actor=owner, note="Resources added")
    plan.refresh_from_db()
    return PlanVersion.objects.get(plan=plan, version_number=1), plan.current_version


def test_the_version_snapshot_holds_the_resources(versions, plan):
    _old, new = versions
    laptops = next(r for r in new.content_json["resources"] if r["name"] == "Laptops")
    assert laptops["process"] == "Customer service" and laptops["kind"] == "equipment"
    assert laptops["quantities"] == [{"after_minutes": 0, "quantity": 2}, {"after_minutes": 240, "quantity": 10}]
    Resource.objects.filter(name="Laptops").update(name="Tablets")  # a later change leaves the version alone
    new.refresh_from_db()
    assert any(r["name"] == "Laptops" for r in new.content_json["resources"])


def test_version_pages_show_resources_or_not_recorded(client, versions, plan, owner):
    old, new = versions
    client.force_login(owner)
    old_page = client.get(old.get_absolute_url()).content.decode()
    assert "Not recorded: this version was written before resources were kept." in old_page
    new_page = client.get(new.get_absolute_url()).content.decode()
    assert "Spare office" in new_page and "after 1 day: 40" in new_page and "Not recorded" not in new_page
    compare = client.get(reverse("plans:version_compare", args=[plan.pk]) + "?old=1&new=2").content.decode()
    assert "Resources" in compare and "Laptops" in compare and "Spare office" in compare


def test_exports_list_the_resources_or_say_not_recorded(versions, tmp_path):
    old, new = versions
    text = pdf_text(render_pdf(new), tmp_path)
    assert "Resources" in text and "Spare office" in text and "after 1 day: 40" in text
    assert "Not recorded" in pdf_text(render_pdf(old), tmp_path)
    document = docx.Document(io.BytesIO(render_docx(new)))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert "Resources" in headings
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    assert "Spare office" in cells and "Workspace" in cells
    old_document = docx.Document(io.BytesIO(render_docx(old)))
    assert any("Not recorded" in p.text for p in old_document.paragraphs)


# --- four eyes ---------------------------------------------------------------------------------------------


def test_whoever_changed_a_resource_does_not_review_the_revision(plan, owner, bcp_admin, reviewer):
    from reviews.services import eligible_reviewers, plan_submit_for_review

    add_resource(plan, bcp_admin, "Laptops")
    revision_save(plan=plan, actor=owner, note="Laptops")
    assert bcp_admin not in eligible_reviewers(plan, actor=owner)
    assert reviewer in eligible_reviewers(plan, actor=owner)
    with pytest.raises(ServiceError) as refusal:
        plan_submit_for_review(plan=plan, actor=owner, reviewers=[bcp_admin])
    assert "changed the resources" in refusal.value.message
