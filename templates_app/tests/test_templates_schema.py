"""Template schema validation, section merging, content validation and the default template."""

import copy

import pytest

from bcp_site.testing import SMALL_SCHEMA, make_template
from templates_app.models import SectionDefinition, Template
from templates_app.schema import (
    FIELD_TYPES,
    TemplateSchemaError,
    template_sections,
    validate_content,
    validate_section_schema,
    validate_template_schema,
)
from templates_app.tests.conftest import ALL_TYPES_SECTION


def errors_of(schema) -> list[str]:
    with pytest.raises(TemplateSchemaError) as info:
        validate_template_schema(schema)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def schema_with(*fields, key="overview"):
    return {"sections": [{"key": key, "title": "Section", "fields": list(fields)}]}


def text(key="purpose", **extra):
    return {"key": key, "label": key.title(), "type": "text", **extra}


def test_good_schemas_pass():
    validate_template_schema(SMALL_SCHEMA)
    validate_template_schema({"sections": [ALL_TYPES_SECTION]})
    validate_template_schema({})  # a template whose sections are all rows


def test_field_type_mistake_names_its_path():
    schema = {"sections": [
        {"key": f"s{i}", "title": "S", "fields": [text("a"), text("b"), text("c")]} for i in range(4)
    ]}
    schema["sections"][3]["fields"][2]["type"] = "colour"
    assert errors_of(schema) == ["sections[3].fields[2].type: 'colour' is not a field type"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (schema_with({"key": "a", "type": "text"}), "sections[0].fields[0]: 'label' is required"),
        (schema_with(text(colour="red")), "sections[0].fields[0]: 'colour' is not allowed here"),
        (schema_with({"key": "c", "label": "C", "type": "select"}), "sections[0].fields[0]: 'choices' is required"),
        (schema_with({"key": "t", "label": "T", "type": "table"}), "sections[0].fields[0]: 'columns' is required"),
        (schema_with(text(key="Bad Key")),
         "sections[0].fields[0].key: 'Bad Key' must start with a lowercase letter and use only a-z, 0-9 and _"),
        (schema_with(text(required="yes")), "sections[0].fields[0].required: 'yes' is not true or false"),
        (schema_with(text(max_length=0)), "sections[0].fields[0].max_length: 0 is less than the minimum 1"),
        ({"sections": [{"key": "a"}]}, "sections[0]: 'title' is required"),
        ({"sections": {"key": "a"}}, "sections: {'key': 'a'} is not a list"),
        ({"pages": []}, "(top level): 'pages' is not allowed here"),
        (schema_with({"key": "t", "label": "T", "type": "table",
                      "columns": [{"key": "x", "label": "X", "type": "table"}]}),
         "sections[0].fields[0].columns[0].type: 'table' is not a field type (a table column cannot be 'table')"),
        (schema_with({"key": "c", "label": "C", "type": "select", "choices": [{"value": "a"}]}),
         "sections[0].fields[0].choices[0]: {'value': 'a'} must be a string or an object with 'value' and 'label'"),
    ],
)
def test_shape_mistakes_are_refused_with_their_path(schema, expected):
    assert expected in errors_of(schema)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (schema_with(text(), key="risks"),
         "sections[0].key: 'risks' is reserved (the plan's risks are kept apart from the sections)"),
        ({"sections": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]},
         "sections[1].key: 'a' is already used by sections[0]"),
        (schema_with(text("x"), text("x")), "sections[0].fields[1].key: 'x' is already used by sections[0].fields[0]"),
        (schema_with(text(min=1)), "sections[0].fields[0].min: not allowed for a 'text' field"),
        (schema_with({"key": "n", "label": "N", "type": "integer", "min": 10, "max": 5}),
         "sections[0].fields[0].max: 5 is less than min 10"),
        (schema_with({"key": "n", "label": "N", "type": "integer", "default": "ten"}),
         "sections[0].fields[0].default: 'ten' is not a whole number"),
        (schema_with({"key": "s", "label": "S", "type": "select", "choices": ["a", "b"], "default": "c"}),
         "sections[0].fields[0].default: 'c' is not one of the choices"),
        (schema_with({"key": "s", "label": "S", "type": "select", "choices": ["a", "a"]}),
         "sections[0].fields[0].choices: 'a' is listed more than once"),
        (schema_with({"key": "d", "label": "D", "type": "duration", "default": "4h"}),
         "sections[0].fields[0].default: '4h' is not a whole number of minutes"),
        (schema_with({"key": "d", "label": "D", "type": "date", "default": "31/12/2025"}),
         "sections[0].fields[0].default: '31/12/2025' is not a date (YYYY-MM-DD)"),
        (schema_with({"key": "u", "label": "U", "type": "user", "default": 3}),
         "sections[0].fields[0].default: a user reference cannot have a default"),
        (schema_with(text(pattern="([a-z")), "sections[0].fields[0].pattern: not a valid regular expression"),
        (schema_with({"key": "t", "label": "T", "type": "table", "default": [{"x": "a"}, {}],
                      "columns": [{"key": "x", "label": "X", "type": "text", "required": True}]}),
         "sections[0].fields[0].default: row 2, X: is required"),
    ],
)
def test_rule_mistakes_are_refused_with_their_path(schema, expected):
    errors = errors_of(schema)
    assert any(e.startswith(expected) for e in errors), errors


def test_every_mistake_is_reported():
    schema = schema_with(text("a", colour=1), {"key": "b", "label": "B", "type": "colour"})
    assert errors_of(schema) == [
        "sections[0].fields[0]: 'colour' is not allowed here",
        "sections[0].fields[1].type: 'colour' is not a field type",
    ]


def test_section_row_schema_is_validated():
    validate_section_schema({"help": "Row help", "fields": [text()]})
    with pytest.raises(TemplateSchemaError) as info:
        validate_section_schema({"fields": [text(), {"key": "x", "label": "X", "type": "colour"}]})
    assert info.value.errors == ["fields[1].type: 'colour' is not a field type"]
    with pytest.raises(TemplateSchemaError) as info:
        validate_section_schema({"title": "no title here", "fields": []})
    assert info.value.errors == ["(top level): 'title' is not allowed here"]


@pytest.mark.django_db
def test_template_sections_merges_schema_and_rows_in_order():
    template = make_template(schema=SMALL_SCHEMA)
    SectionDefinition.objects.create(
        template=template, key="extra", title="Extra", order_index=0,
        schema_json={"help": "From a row", "fields": [text("note")]},
    )
    SectionDefinition.objects.create(
        template=template, key="maintenance", title="Maintenance (row)", order_index=5,
        schema_json={"fields": [text("who")]},
    )
    sections = template_sections(template)
    assert [s["key"] for s in sections] == ["extra", "overview", "maintenance"]
    assert sections[0]["help"] == "From a row"
    assert sections[2]["title"] == "Maintenance (row)"
    assert [f["key"] for f in sections[2]["fields"]] == ["who"]
    assert sections[0]["fields"][0]["required"] is False  # normalised


@pytest.mark.django_db
def test_validate_content_reports_required_type_and_choice_problems():
    template = make_template(schema={"sections": [copy.deepcopy(ALL_TYPES_SECTION)]})
    good = {"everything": {"title": "T", "cadence": "annually", "rto": 90, "budget": "1.50",
                           "systems": [{"name": "ERP", "rpo": 30}], "offsite": False, "channels": ["sms"]},
            "contacts": [{"id": 1, "name": "x"}], "processes": [], "risks": []}
    assert validate_content(template, good) == []
    bad = {"everything": {"title": "", "cadence": "weekly", "rto": "4h", "staff": True, "channels": ["fax"],
                          "systems": [{"rpo": 30}], "review_on": "tomorrow", "mailbox": "nope"}}
    assert validate_content(template, bad) == [
        "Every field type › Title: is required",
        "Every field type › Staff: True is not a whole number",
        "Every field type › Review on: 'tomorrow' is not a date (YYYY-MM-DD)",
        "Every field type › Cadence: 'weekly' is not one of the choices",
        "Every field type › Channels: 'fax' is not one of the choices",
        "Every field type › Mailbox: 'nope' is not an email address",
        "Every field type › RTO: '4h' is not a whole number of minutes",
        "Every field type › Systems: row 1, System: is required",
    ]
    assert validate_content(template, {}) == [
        "Every field type › Title: is required", "Every field type › Cadence: is required",
    ]


# --- The default template -------------------------------------------------------------


@pytest.fixture
def default_template(db):
    return Template.objects.get(is_default=True)


def test_default_template_is_installed_once_and_valid(default_template):
    assert Template.objects.filter(is_default=True).count() == 1
    validate_template_schema(default_template.schema_json)
    assert default_template.name == "ISO 22301 Business Continuity Plan"


def test_default_template_has_the_iso_22301_sections(default_template):
    sections = {s["key"]: s for s in template_sections(default_template)}
    assert list(sections) == [
        "overview", "governance", "bia", "risk_assessment", "recovery_strategies", "incident_response",
        "communications", "it_recovery", "testing", "maintenance", "appendices",
    ]
    overview = {f["key"]: f for f in sections["overview"]["fields"]}
    assert {"purpose", "scope", "objectives", "assumptions"} <= set(overview)
    assert overview["purpose"]["required"] is True
    incident = {f["key"]: f for f in sections["incident_response"]["fields"]}
    assert incident["activation_criteria"]["type"] == "multiselect"
    assert incident["call_tree"]["type"] == "table"
    assert [c["type"] for c in incident["call_tree"]["columns"]][:3] == ["integer", "contact", "contact"]
    maintenance = {f["key"]: f for f in sections["maintenance"]["fields"]}
    assert maintenance["review_cadence"]["type"] == "select"
    assert maintenance["next_review"]["type"] == "date"
    it = {f["key"]: f for f in sections["it_recovery"]["fields"]}
    assert {c["key"]: c["type"] for c in it["systems"]["columns"]}["rto"] == "duration"


def test_default_template_uses_structured_fields(default_template):
    used = set()
    for section in template_sections(default_template):
        for field in section["fields"]:
            used.add(field["type"])
            used.update(c["type"] for c in field.get("columns", []))
    assert {"duration", "select", "multiselect", "table", "date", "user", "contact", "boolean", "integer"} <= used
    assert used <= set(FIELD_TYPES)


def test_default_template_migration_is_idempotent(default_template):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("templates_app.migrations.0002_default_template")
    migration.install_default_template(apps, None)
    assert Template.objects.filter(name=default_template.name).count() == 1


def test_plan_from_default_template_starts_with_defaults_that_fit(default_template, org, owner):
    from bcp_site.testing import make_plan

    plan = make_plan(org, owner, template=default_template, ready=False)
    content = plan.draft_content_json
    assert content["maintenance"]["review_cadence"] == "annually"
    assert content["incident_response"]["activation_threshold"] == 240
    assert validate_content(default_template, content) == ["Plan overview › Purpose: is required"]
