"""template_import / template_export commands and the template_new_version service."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bcp_site.testing import SMALL_SCHEMA, make_template
from plans.services import ServiceError
from templates_app.models import SectionDefinition, Template
from templates_app.schema import template_sections
from templates_app.services import next_version_label, template_new_version

pytestmark = pytest.mark.django_db


def write(tmp_path, data, name="template.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def good_file(**extra):
    return {"name": "Site plan", "version": "1", "description": "For sites", **copy.deepcopy(SMALL_SCHEMA), **extra}


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_creates_the_template(tmp_path):
    path = write(tmp_path, good_file())
    out = run("template_import", path)
    template = Template.objects.get(name="Site plan", version="1")
    assert f"Imported global template “Site plan” version 1 (#{template.pk}) with 2 section(s)" in out
    assert template.org is None and template.description == "For sites"
    assert template.is_default is False
    assert [s["key"] for s in template_sections(template)] == ["overview", "maintenance"]


def test_import_for_an_organisation(tmp_path, org):
    path = write(tmp_path, good_file())
    out = run("template_import", path, "--organisation", org.name)
    template = Template.objects.get(name="Site plan", version="1")
    assert template.org == org and "template of Acme Ltd" in out
    with pytest.raises(CommandError, match="--organisation: no organisation named 'Nobody'"):
        run("template_import", path, "--organisation", "Nobody")


def test_import_refuses_a_bad_file_naming_the_file_and_each_path(tmp_path):
    data = good_file()
    data["sections"][1]["fields"][0]["type"] = "colour"
    data["sections"][0]["key"] = "risks"
    del data["name"]
    path = write(tmp_path, data)
    with pytest.raises(CommandError) as info:
        run("template_import", path)
    message = str(info.value)
    assert f"{path}: name: is required" in message
    assert f"{path}: sections[1].fields[0].type: 'colour' is not a field type" in message
    assert not Template.objects.filter(name="Site plan").exists()


def test_import_exits_non_zero_for_a_bad_file(tmp_path, capsys):
    data = good_file()
    data["sections"][0]["fields"][0]["type"] = "colour"
    path = write(tmp_path, data)
    with pytest.raises(SystemExit) as info:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "template_import", path]).execute()
    assert info.value.code != 0
    assert "sections[0].fields[0].type: 'colour' is not a field type" in capsys.readouterr().err


def test_import_of_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.json: no such file"):
        run("template_import", str(tmp_path / "nope.json"))


def test_import_of_invalid_json(tmp_path):
    path = write(tmp_path, '{"name": "x",\n  "sections": [}')
    with pytest.raises(CommandError, match=r"template\.json: not valid JSON \(line 2, column"):
        run("template_import", path)


def test_import_of_an_existing_name_and_version_needs_replace(tmp_path):
    path = write(tmp_path, good_file())
    run("template_import", path)
    with pytest.raises(CommandError, match="already exists"):
        run("template_import", path)
    changed = good_file(description="Changed")
    out = run("template_import", write(tmp_path, changed), "--replace")
    assert "Replaced global template" in out
    assert Template.objects.get(name="Site plan").description == "Changed"


def test_replace_is_refused_while_a_plan_uses_the_template(tmp_path, plan):
    data = {"name": plan.template.name, "version": plan.template.version, **copy.deepcopy(SMALL_SCHEMA)}
    with pytest.raises(CommandError, match="is used by plans, so it cannot be replaced"):
        run("template_import", write(tmp_path, data), "--replace")


def test_export_writes_json_that_imports_back(tmp_path):
    template = make_template(name="Exported")
    SectionDefinition.objects.create(template=template, key="row_section", title="Row", order_index=9,
                                     schema_json={"fields": [{"key": "a", "label": "A", "type": "duration"}]})
    data = json.loads(run("template_export", str(template.pk)))
    assert data["name"] == "Exported"
    assert [s["key"] for s in data["sections"]] == ["overview", "maintenance", "row_section"]
    out_file = tmp_path / "out.json"
    out = run("template_export", str(template.pk), "--output", str(out_file))
    assert f"Exported template “Exported” version 1 (#{template.pk}) to {out_file}" in out
    exported = json.loads(out_file.read_text())
    exported["version"] = "2"
    run("template_import", write(tmp_path, exported))
    imported = Template.objects.get(name="Exported", version="2")
    assert template_sections(imported) == template_sections(template)


def test_export_of_an_unknown_id():
    with pytest.raises(CommandError, match="No template with id '999999'"):
        run("template_export", "999999")
    with pytest.raises(CommandError, match="No template with id 'abc'"):
        run("template_export", "abc")


def test_default_template_file_imports_cleanly(tmp_path):
    from pathlib import Path

    import templates_app

    data = json.loads((Path(templates_app.__file__).parent / "default_template.json").read_text())
    data["version"] = "test"
    out = run("template_import", write(tmp_path, data))
    assert "with 11 section(s)" in out


def test_new_version_copies_schema_and_section_rows(bcp_admin):
    template = make_template(name="Versioned")
    SectionDefinition.objects.create(template=template, key="extra", title="Extra", order_index=3,
                                     schema_json={"fields": [{"key": "a", "label": "A", "type": "text"}]})
    new = template_new_version(template=template, version="2", actor=bcp_admin)
    assert (new.name, new.version, new.is_default) == ("Versioned", "2", False)
    assert new.schema_json == template.schema_json
    assert new.section_definitions.get().key == "extra"
    assert template_sections(new) == template_sections(template)
    assert template.section_definitions.count() == 1  # the original keeps its rows
    assert new.history.first().history_user == bcp_admin
    with pytest.raises(ServiceError, match="already has a version 2"):
        template_new_version(template=template, version="2")
    assert next_version_label(template) == "3"


def test_new_version_of_the_default_is_not_a_second_default():
    default = Template.objects.get(is_default=True)
    new = template_new_version(template=default, version="1.1")
    assert new.is_default is False
    assert Template.objects.filter(is_default=True).get() == default
