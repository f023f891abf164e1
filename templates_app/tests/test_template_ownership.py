"""Templates belong to someone (global or one organisation) and never change under a written version."""

import copy
import io
import json

import docx
import pytest
from django.urls import reverse

from bcp_site.testing import SMALL_SCHEMA, make_plan, make_template, make_user
from plans.exports import render_docx
from plans.models import Audit, Plan
from plans.services import plan_section_update, revision_save
from templates_app.models import SectionDefinition, Template
from templates_app.services import template_import, template_new_version

pytestmark = pytest.mark.django_db

TEMPLATES = reverse("admin:templates_app_template_changelist")


def template_post(schema, **extra):
    data = {
        "name": "Ours", "version": "1", "description": "", "schema_json": json.dumps(schema),
        "section_definitions-TOTAL_FORMS": "0", "section_definitions-INITIAL_FORMS": "0",
        "section_definitions-MIN_NUM_FORMS": "0", "section_definitions-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def test_a_bcp_admin_makes_templates_of_their_own_organisation(client, org, other_org, bcp_admin):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:templates_app_template_add"), template_post(SMALL_SCHEMA))
    assert response.status_code == 302
    assert Template.objects.get(name="Ours").org == org
    # Another organisation may use the same name and version, and have its own default.
    theirs = make_template(name="Ours", org=other_org, is_default=True)
    listed = {t.pk for t in client.get(TEMPLATES).context["cl"].result_list}
    assert theirs.pk not in listed
    assert client.get(reverse("admin:templates_app_template_change", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("admin:templates_app_template_change", args=[theirs.pk]),
                       template_post(SMALL_SCHEMA, name="Hacked")).status_code == 404
    assert Template.objects.get(pk=theirs.pk).name == "Ours"


def test_global_templates_are_read_only_for_bcp_admins(client, org, template, bcp_admin):
    client.force_login(bcp_admin)
    change = reverse("admin:templates_app_template_change", args=[template.pk])
    assert client.get(change).status_code == 200  # visible
    assert client.post(change, template_post(SMALL_SCHEMA, name="Renamed")).status_code == 403
    assert Template.objects.get(pk=template.pk).name == "Small template"
    # "Make a new version" of a global template makes the organisation's own copy.
    response = client.post(TEMPLATES, {"action": "make_new_version", "_selected_action": [template.pk]}, follow=True)
    assert "Made 1 new template version(s)" in response.content.decode()
    copy_ = Template.objects.get(name=template.name, org=org)
    assert (copy_.version, copy_.schema_json) == ("2", template.schema_json)
    assert Template.objects.get(pk=template.pk).org is None


def test_one_default_per_owner(org, other_org):
    make_template(name="A", org=org, is_default=True)
    make_template(name="B", org=other_org, is_default=True)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_template(name="C", org=org, is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_template(name="A", org=org)  # same owner, name and version


def test_a_used_template_layout_is_frozen_in_the_admin(client, org, owner, bcp_admin):
    ours = make_template(name="Ours", org=org)
    make_plan(org, owner, template=ours)
    client.force_login(bcp_admin)
    change = reverse("admin:templates_app_template_change", args=[ours.pk])
    page = client.get(change)
    assert "schema_json" not in page.context["adminform"].form.fields  # shown read-only
    changed = copy.deepcopy(SMALL_SCHEMA)
    changed["sections"][0]["fields"].pop()
    response = client.post(change, template_post(changed, name="Ours renamed", version="9"))
    assert response.status_code == 302
    ours.refresh_from_db()
    assert (ours.name, ours.version, ours.schema_json) == ("Ours renamed", "1", SMALL_SCHEMA)
    # Section rows cannot be added through the section admin either.
    response = client.post(reverse("admin:templates_app_sectiondefinition_add"), {
        "template": ours.pk, "key": "extra", "title": "Extra", "order_index": "3", "schema_json": '{"fields": []}',
    })
    assert response.status_code == 200 and not SectionDefinition.objects.exists()


def test_plan_create_offers_global_and_own_templates_only(client, org, other_org, owner, template):
    ours = make_template(name="Ours", org=org)
    theirs = make_template(name="Theirs", org=other_org)
    client.force_login(owner)
    offered = set(client.get(reverse("plans:plan_create")).context["form"].fields["template"].queryset)
    assert offered == {template, ours, Template.objects.get(is_default=True, org__isnull=True)}
    response = client.post(reverse("plans:plan_create"), {"template": theirs.pk, "title": "X", "owner": owner.pk})
    assert response.status_code == 200 and "template" in response.context["form"].errors
    assert not Plan.objects.filter(title="X").exists()


def test_template_import_makes_an_organisation_template(org):
    data = {"name": "Imported", "version": "1", "sections": SMALL_SCHEMA["sections"]}
    template, created = template_import(data=data, org=org)
    assert created and template.org == org
    other, created = template_import(data=data)  # the same name and version, global: another owner
    assert created and other.org is None


@pytest.fixture
def moved(client, org, owner):
    """A plan written with v1 (which has "Scope"), moved to v2 (no Scope, a new "Audience")."""
    v1 = make_template(name="Site plan", org=org)
    plan = make_plan(org, owner, template=v1)
    plan_section_update(plan=plan, section_key="overview", values={"purpose": "Keep payroll running",
                        "scope": "London office"}, actor=owner, expected_revision=plan.edit_revision)
    revision_save(plan=plan, actor=owner, note="Filled in", expected_revision=plan.edit_revision)
    schema = copy.deepcopy(SMALL_SCHEMA)
    schema["sections"][0]["fields"][1] = {"key": "audience", "label": "Audience", "type": "text", "default": "All"}
    v2 = template_new_version(template=v1, version="2", actor=owner)
    Template.objects.filter(pk=v2.pk).update(schema_json=schema)
    client.force_login(owner)
    url = reverse("plans:template_change", args=[plan.pk])
    preview = client.post(url, {"template": v2.pk, "edit_revision": Plan.objects.get(pk=plan.pk).edit_revision})
    body = preview.content.decode()
    assert "Scope" in body and "London office" in body and "removed from the working" in body
    assert Plan.objects.get(pk=plan.pk).template == v1  # a preview changes nothing
    response = client.post(url, {"template": v2.pk, "confirm": "on",
                                 "edit_revision": Plan.objects.get(pk=plan.pk).edit_revision})
    assert response.status_code == 302
    plan.refresh_from_db()
    revision_save(plan=plan, actor=owner, note="On v2", expected_revision=plan.edit_revision)
    return plan


def test_moving_a_plan_carries_values_by_key_and_is_audited(moved):
    assert moved.template.version == "2"
    assert moved.draft_content_json["overview"] == {"purpose": "Keep payroll running", "audience": "All"}
    trace = Audit.objects.filter(plan=moved, action="template_changed").get()
    assert trace.details_json["dropped"] == ["Plan overview / Scope"]


def test_old_versions_keep_their_layout_on_pages_and_exports(client, moved):
    v2_page = client.get(reverse("plans:version_detail", args=[moved.pk, 2])).content.decode()
    v3_page = client.get(reverse("plans:version_detail", args=[moved.pk, 3])).content.decode()
    assert "Scope" in v2_page and "London office" in v2_page and "Audience" not in v2_page
    assert "Audience" in v3_page and "Scope" not in v3_page
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(render_docx(moved.versions.get(version_number=2))))
                     .paragraphs)
    tables = docx.Document(io.BytesIO(render_docx(moved.versions.get(version_number=2)))).tables
    cells = " ".join(cell.text for table in tables for row in table.rows for cell in row.cells)
    assert "London office" in text + cells and "Site plan (v1)" in text + cells
    compare = client.get(reverse("plans:version_compare", args=[moved.pk]) + "?old=2&new=3").content.decode()
    assert "Audience" in compare


def test_a_template_of_another_organisation_is_not_a_move_target(client, org, other_org, owner):
    v1 = make_template(name="Site plan", org=org)
    plan = make_plan(org, owner, template=v1)
    foreign = make_template(name="Site plan", org=other_org, version="2")
    client.force_login(owner)
    response = client.post(reverse("plans:template_change", args=[plan.pk]),
                           {"template": foreign.pk, "confirm": "on", "edit_revision": plan.edit_revision})
    assert response.status_code == 400
    assert Plan.objects.get(pk=plan.pk).template == v1


def test_reviewer_cannot_move_a_plan(client, plan, reviewer):
    client.force_login(make_user(plan.org, username="viewer9", groups=["BCP Viewer"]))
    assert client.get(reverse("plans:template_change", args=[plan.pk])).status_code == 403


def test_renaming_a_frozen_template_onto_another_version_is_a_form_error(client, org, owner, bcp_admin):
    first = make_template(name="Ours", org=org)
    second = make_template(name="Theirs", org=org)
    make_plan(org, owner, template=second)  # frozen: its version label is read-only
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:templates_app_template_change", args=[second.pk]),
                           template_post(SMALL_SCHEMA, name=first.name))
    assert response.status_code == 200
    assert "already has a version 1" in response.content.decode()
    assert Template.objects.get(pk=second.pk).name == "Theirs"
