"""Durations and the read-only display of section values (pages, diffs, exports)."""

import pytest
from django.template import Context, Template

from bcp_site.testing import make_user
from plans.models import Contact
from templates_app.schema import template_sections
from templates_app.tests.conftest import ALL_TYPES_SECTION
from templates_app.values import (
    display_value,
    format_duration_input,
    format_minutes,
    parse_duration,
    reference_names,
    table_display,
)

FIELDS = {f["key"]: f for f in ALL_TYPES_SECTION["fields"]}


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("4h", 240), ("90m", 90), ("1h 30m", 90), ("1h30m", 90), ("2d", 2880), ("1.5h", 90), ("45", 45),
        ("0", 0), ("1 day 1 h", 1500), ("1 h 30 min", 90), ("2 days", 2880), ("1w", 10080), ("1:30", 90),
        ("3 hours and 15 minutes", 195), ("0,5h", 30), (" 4H ", 240), (120, 120),
    ],
)
def test_parse_duration_reads_what_people_type(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a duration such as"), ("soon", '"soon" is not a duration'), ("4 parsecs", "is not a duration"),
        ("-4h", "cannot be negative"), ("0.01h", "not a whole number of minutes"), ("4h x", "is not a duration"),
        (None, "Enter a duration such as"),
    ],
)
def test_parse_duration_explains_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0 min"), (45, "45 min"), (90, "1 h 30 min"), (1440, "1 day"), (2880, "2 days"), (1500, "1 day 1 h"),
     (1531, "1 day 1 h 31 min"), (None, "—")],
)
def test_format_minutes(minutes, text):
    assert format_minutes(minutes) == text


@pytest.mark.parametrize("minutes", [0, 1, 59, 60, 90, 270, 1440, 1500, 10081])
def test_form_text_of_a_duration_reads_back_the_same(minutes):
    assert parse_duration(format_duration_input(minutes)) == minutes
    assert parse_duration(format_minutes(minutes)) == minutes


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("title", "Head office", "Head office"),
        ("title", "", "—"),
        ("title", None, "—"),
        ("staff", 0, "0"),
        ("budget", "1500.50", "1500.50"),
        ("review_on", "2025-04-01", "1 April 2025"),
        ("tested_at", "2025-03-01T10:30:00+00:00", "1 March 2025 10:30 UTC"),
        ("offsite", True, "Yes"),
        ("offsite", False, "No"),
        ("offsite", None, "—"),
        ("cadence", "quarterly", "Every quarter"),
        ("cadence", "annually", "annually"),
        ("channels", ["email", "phone"], "email, Telephone"),
        ("channels", [], "—"),
        ("rto", 270, "4 h 30 min"),
        ("rto", 0, "0 min"),
        ("coordinator", 7, "Cora Ordinator"),
        ("coordinator", 8, "User #8"),
        ("supplier", 3, "Vendor Desk"),
        ("supplier", 4, "Contact #4"),
    ],
)
def test_display_value_for_every_type(key, value, text):
    assert display_value(FIELDS[key], value, contacts={3: "Vendor Desk"}, users={7: "Cora Ordinator"}) == text


def test_table_display_gives_headers_and_display_rows():
    value = [{"name": "ERP", "tier": "gold", "rpo": 60, "owner": 7, "vendor": None}, {"name": "Mail"}]
    headers, rows = table_display(FIELDS["systems"], value, users={7: "Cora"})
    assert headers == ["System", "Tier", "RPO", "Owner", "Vendor contact"]
    assert rows == [["ERP", "gold", "1 h", "Cora", "—"], ["Mail", "—", "—", "—", "—"]]
    assert display_value(FIELDS["systems"], value, users={7: "Cora"}).splitlines()[0] == (
        "System: ERP; Tier: gold; RPO: 1 h; Owner: Cora; Vendor contact: —"
    )
    assert table_display(FIELDS["systems"], None)[1] == []


def test_template_tags_show_values():
    html = Template(
        "{% load template_values %}{{ m|minutes }}|{% field_display field value %}|"
        "{% field_display ref 5 None users %}|{% field_table table rows as t %}"
        "{{ t.headers|join:',' }}:{{ t.rows.0|join:',' }}"
    ).render(Context({
        "m": 1500, "field": FIELDS["cadence"], "value": "quarterly", "ref": FIELDS["coordinator"],
        "users": {5: "Ann <b>"}, "table": FIELDS["systems"], "rows": [{"name": "ERP", "rpo": 30}],
    }))
    assert html == "1 day 1 h|Every quarter|Ann &lt;b&gt;|System,Tier,RPO,Owner,Vendor contact:ERP,—,30 min,—,—"


def test_reference_names_loads_each_kind_in_one_query(org, plan, django_assert_num_queries):
    user = make_user(org, username="cora", first_name="Cora", last_name="Ordinator")
    contact = Contact.objects.create(plan=plan, name="Vendor Desk")
    template = plan.template
    template.schema_json = {"sections": [ALL_TYPES_SECTION]}
    sections = template_sections(template, section_rows=[])
    content = {"everything": {"coordinator": user.pk, "supplier": contact.pk,
                              "systems": [{"name": "x", "owner": user.pk, "vendor": contact.pk}]}}
    with django_assert_num_queries(2):  # 1 contacts of the plan, 2 users
        contacts, users = reference_names(template, content, plan=plan, sections=sections)
    assert contacts == {contact.pk: "Vendor Desk"} and users == {user.pk: "Cora Ordinator"}
    # A version renders alone: its contacts snapshot names the contacts without a query.
    content["contacts"] = [{"id": contact.pk, "name": "Vendor Desk (v1)"}]
    with django_assert_num_queries(1):  # users
        contacts, _users = reference_names(template, content, sections=sections)
    assert contacts[contact.pk] == "Vendor Desk (v1)"
