"""Template management in the admin: schema validation, new versions, protected deletes."""

import json

import pytest
from django.urls import reverse

from bcp_site.testing import SMALL_SCHEMA, make_template
from templates_app.models import SectionDefinition, Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, org):
    """A superuser: global templates (like the fixtures' templates) are managed by superusers."""
    from bcp_site.testing import make_user

    client.force_login(make_user(org, username="root", is_superuser=True, is_staff=True))
    return client


def template_post(schema, **extra):
    data = {
        "name": "Admin template", "version": "1", "description": "", "schema_json": json.dumps(schema),
        "section_definitions-TOTAL_FORMS": "0", "section_definitions-INITIAL_FORMS": "0",
        "section_definitions-MIN_NUM_FORMS": "0", "section_definitions-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def test_admin_adds_a_valid_template(admin_client):
    response = admin_client.post(reverse("admin:templates_app_template_add"), template_post(SMALL_SCHEMA))
    assert response.status_code == 302
    assert Template.objects.get(name="Admin template").schema_json == SMALL_SCHEMA


def test_admin_form_refuses_a_bad_schema_showing_the_path(admin_client):
    schema = json.loads(json.dumps(SMALL_SCHEMA))
    schema["sections"][1]["fields"][0]["type"] = "colour"
    schema["sections"][0]["fields"][1]["colour"] = "red"
    response = admin_client.post(reverse("admin:templates_app_template_add"), template_post(schema))
    assert response.status_code == 200
    html = response.content.decode()
    assert "sections[1].fields[0].type: &#x27;colour&#x27; is not a field type" in html
    assert "sections[0].fields[1]: &#x27;colour&#x27; is not allowed here" in html
    assert not Template.objects.filter(name="Admin template").exists()


def test_admin_refuses_a_second_default_template(admin_client):
    response = admin_client.post(
        reverse("admin:templates_app_template_add"), template_post(SMALL_SCHEMA, is_default="on")
    )
    assert response.status_code == 200
    assert "Only one template can be the default" in response.content.decode()


def test_admin_inline_section_row_is_validated(admin_client):
    template = make_template(name="With rows")
    data = template_post(SMALL_SCHEMA, name="With rows", **{
        "section_definitions-TOTAL_FORMS": "1",
        "section_definitions-0-key": "processes",
        "section_definitions-0-title": "Processes",
        "section_definitions-0-order_index": "3",
        "section_definitions-0-schema_json": json.dumps({"fields": [{"key": "a", "label": "A", "type": "colour"}]}),
    })
    response = admin_client.post(reverse("admin:templates_app_template_change", args=[template.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "key: &#x27;processes&#x27; is reserved" in html
    assert "fields[0].type: &#x27;colour&#x27; is not a field type" in html
    assert not SectionDefinition.objects.exists()


def test_section_definition_admin_validates_its_schema(admin_client):
    template = make_template()
    response = admin_client.post(reverse("admin:templates_app_sectiondefinition_add"), {
        "template": template.pk, "key": "extra", "title": "Extra", "order_index": "1",
        "schema_json": json.dumps({"fields": [{"key": "n", "label": "N", "type": "integer", "min": 5, "max": 1}]}),
    })
    assert response.status_code == 200
    assert "fields[0].max: 1 is less than min 5" in response.content.decode()
    good = {"fields": [{"key": "n", "label": "N", "type": "integer", "min": 1, "max": 5}]}
    response = admin_client.post(reverse("admin:templates_app_sectiondefinition_add"), {
        "template": template.pk, "key": "extra", "title": "Extra", "order_index": "1",
        "schema_json": json.dumps(good),
    })
    assert response.status_code == 302
    assert SectionDefinition.objects.get(template=template).schema_json == good


def test_used_template_cannot_be_deleted_and_says_why(admin_client, plan):
    template = plan.template
    url = reverse("admin:templates_app_template_delete", args=[template.pk])
    response = admin_client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:templates_app_template_change", args=[template.pk])
    assert "is used by 1 plan, so it cannot be deleted" in response.content.decode()
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Template.objects.filter(pk=template.pk).exists()


def test_unused_template_can_be_deleted(admin_client):
    template = make_template(name="Unused")
    response = admin_client.post(reverse("admin:templates_app_template_delete", args=[template.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Template.objects.filter(pk=template.pk).exists()


def test_bulk_delete_of_used_templates_is_refused_with_a_message(admin_client, plan):
    unused = make_template(name="Unused")
    response = admin_client.post(reverse("admin:templates_app_template_changelist"), {
        "action": "delete_selected", "_selected_action": [plan.template.pk, unused.pk], "post": "yes",
    }, follow=True)
    html = response.content.decode()
    assert "Nothing was deleted: “Small template (v1)” is used by plans." in html
    assert Template.objects.filter(pk__in=[plan.template.pk, unused.pk]).count() == 2


def test_bulk_delete_of_unused_templates_still_works(admin_client):
    unused = make_template(name="Unused")
    url = reverse("admin:templates_app_template_changelist")
    response = admin_client.post(url, {"action": "delete_selected", "_selected_action": [unused.pk]})
    assert response.status_code == 200 and "Delete multiple objects" in response.content.decode()
    admin_client.post(url, {"action": "delete_selected", "_selected_action": [unused.pk], "post": "yes"})
    assert not Template.objects.filter(pk=unused.pk).exists()


def test_make_a_new_version_action_copies_the_template(admin_client, plan):
    template = plan.template
    SectionDefinition.objects.create(template=template, key="extra", title="Extra", order_index=3)
    response = admin_client.post(reverse("admin:templates_app_template_changelist"), {
        "action": "make_new_version", "_selected_action": [template.pk],
    }, follow=True)
    assert "Made 1 new template version(s): “Small template (v2)”" in response.content.decode()
    copy = Template.objects.get(name=template.name, version="2")
    assert copy.schema_json == template.schema_json
    assert list(copy.section_definitions.values_list("key", flat=True)) == ["extra"]
    plan.refresh_from_db()
    assert plan.template == template


def test_new_version_action_needs_the_manage_permission(client, reviewer):
    client.force_login(reviewer)  # staff, may view templates, may not manage them
    template = make_template()
    response = client.post(reverse("admin:templates_app_template_changelist"), {
        "action": "make_new_version", "_selected_action": [template.pk],
    })
    assert response.status_code == 302  # Django answers "No action selected" for an action not offered
    assert Template.objects.filter(name=template.name).count() == 1


def test_template_list_shows_plan_counts(admin_client, plan):
    response = admin_client.get(reverse("admin:templates_app_template_changelist"))
    assert response.status_code == 200
    assert 'class="field-plan_count">1<' in response.content.decode()


def test_download_as_json_action(admin_client):
    template = make_template(name="Download me")
    response = admin_client.post(reverse("admin:templates_app_template_changelist"), {
        "action": "export_json", "_selected_action": [template.pk],
    })
    assert response["Content-Disposition"] == f'attachment; filename="template-{template.pk}.json"'
    assert json.loads(response.content)["name"] == "Download me"
