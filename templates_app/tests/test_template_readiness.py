"""A template's readiness declaration: checked with the path of each mistake, kept by import and export."""

import copy
import json

import pytest
from django.core.management import call_command

from bcp_site.testing import SMALL_SCHEMA, make_template
from templates_app.models import Template
from templates_app.schema import TemplateSchemaError, template_readiness, validate_template_schema
from templates_app.services import template_export, template_new_version

pytestmark = pytest.mark.django_db


def schema_with(readiness) -> dict:
    schema = copy.deepcopy(SMALL_SCHEMA)
    schema["readiness"] = readiness
    return schema


def errors_of(readiness) -> list[str]:
    with pytest.raises(TemplateSchemaError) as info:
        validate_template_schema(schema_with(readiness))
    return info.value.errors


def test_a_full_declaration_passes_and_reads_back():
    readiness = {"min_contacts": 3, "min_critical_processes": 2, "min_risks": 5,
                 "required_for_approval": ["overview.scope", "maintenance.next_review"],
                 "warn_only": ["min_contacts", "maintenance.next_review"]}
    validate_template_schema(schema_with(readiness))
    template = make_template(schema=schema_with(readiness))
    assert template_readiness(template) == {**readiness, "warn_only": {"min_contacts", "maintenance.next_review"}}
    assert template_readiness(make_template()) == {
        "min_contacts": None, "min_critical_processes": None, "min_risks": None,
        "required_for_approval": [], "warn_only": set(),
    }


@pytest.mark.parametrize(
    ("readiness", "expected"),
    [
        ({"min_contact": 3}, "readiness: 'min_contact' is not allowed here"),
        ({"min_contacts": 0}, "readiness.min_contacts: 0 is less than the minimum 1"),
        ({"min_risks": "3"}, "readiness.min_risks: '3' is not a whole number"),
        ({"min_risks": 5000}, "readiness.min_risks: 5000 is more than the maximum 1000"),
        ({"required_for_approval": "overview.scope"},
         "readiness.required_for_approval: 'overview.scope' is not a list"),
        ({"required_for_approval": ["overview.scope", "scope"]},
         "readiness.required_for_approval[1]: 'scope' must name a field as 'section_key.field_key'"),
        ({"required_for_approval": ["overview.scope", "overview.scope"]},
         "readiness.required_for_approval: 'overview.scope' is listed more than once"),
        ({"required_for_approval": ["overview.scope", "annex.notes"]},
         "readiness.required_for_approval[1]: 'annex.notes' names no section of this template "
         "(its sections: maintenance, overview)"),
        ({"required_for_approval": ["overview.colour"]},
         "readiness.required_for_approval[0]: 'overview.colour' names no field of section 'overview'"),
        ({"required_for_approval": ["overview.purpose"]},
         "readiness.required_for_approval[0]: 'overview.purpose' is already required by the field itself"),
        ({"min_risks": 2, "warn_only": ["min_risks", "min_contacts"]},
         "readiness.warn_only[1]: 'min_contacts' is not a check this template declares; name one of 'min_risks' "
         "(what every plan needs cannot be made a warning)"),
        ({"warn_only": ["contacts"]},
         "readiness.warn_only[0]: 'contacts' is not a check this template declares; name one of its readiness "
         "checks (none are declared) (what every plan needs cannot be made a warning)"),
    ],
)
def test_a_bad_declaration_is_refused_with_the_path_of_the_mistake(readiness, expected):
    assert expected in errors_of(readiness)


def test_the_admin_refuses_a_bad_declaration(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    template = make_template(name="Declared")
    url = f"/admin/templates_app/template/{template.pk}/change/"
    response = client.post(url, {
        "name": "Declared", "version": "1", "description": "",
        "schema_json": json.dumps(schema_with({"required_for_approval": ["overview.nope"]})),
    })
    assert response.status_code == 200
    assert "readiness.required_for_approval[0]: &#x27;overview.nope&#x27; names no field of section" in (
        response.content.decode())
    template.refresh_from_db()
    assert "readiness" not in template.schema_json


def test_import_export_and_new_versions_keep_the_declaration(tmp_path):
    readiness = {"min_contacts": 2, "required_for_approval": ["overview.scope"], "warn_only": ["min_contacts"]}
    template = make_template(name="Declared", schema=schema_with(readiness))
    exported = template_export(template=template)
    assert exported["readiness"] == readiness
    assert template_new_version(template=template, version="2").schema_json["readiness"] == readiness
    exported["version"] = "3"
    path = tmp_path / "declared.json"
    path.write_text(json.dumps(exported))
    call_command("template_import", str(path), stdout=open(tmp_path / "out.txt", "w"))
    assert Template.objects.get(name="Declared", version="3").schema_json["readiness"] == readiness
    exported["readiness"] = {"min_contacts": 0}
    path.write_text(json.dumps(exported | {"version": "4"}))
    with pytest.raises(Exception, match=r"readiness.min_contacts: 0 is less than the minimum 1"):
        call_command("template_import", str(path), stdout=open(tmp_path / "out.txt", "w"))
