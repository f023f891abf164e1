"""The section form builder: every field type renders, validates and round-trips its value."""

from html.parser import HTMLParser

import pytest
from django.utils.html import escape

from bcp_site.testing import make_user
from plans.models import Contact
from templates_app.forms import build_section_form


class _FormReader(HTMLParser):
    """Collects what a browser would submit from rendered form HTML (no button pressed)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select = None
        self._select_multiple = False
        self._option_value = None
        self._selected_seen = False
        self._textarea = None
        self._text = ""

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in {"submit", "button"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self._add(attrs["name"], attrs.get("value", "on"))
                return
            self._add(attrs["name"], attrs.get("value", ""))
        elif tag == "select":
            self._select = attrs["name"]
            self._select_first = None
            self._selected_seen = False
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self._selected_seen = True
                self._add(self._select, value)
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._text = ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._selected_seen and self._select_first is not None:
                self._add(self._select, self._select_first)
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text.removeprefix("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def browser_post(form, **changes) -> dict:
    """The POST a browser would send for the rendered form, with some inputs changed."""
    from django.utils.datastructures import MultiValueDict

    reader = _FormReader()
    reader.feed(str(form))
    data = MultiValueDict(reader.data)
    for name, value in changes.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


@pytest.fixture
def people(org, plan):
    coordinator = make_user(org, username="coord", first_name="Cora", last_name="Ordinator")
    contact = Contact.objects.create(plan=plan, name="Vendor Desk", role="Supplier")
    return coordinator, contact


FULL_VALUES = {
    "title": "Head office",
    "code": "ABC-12",
    "notes": "Line one\nLine two",
    "staff": 120,
    "budget": "1500.50",
    "review_on": "2025-04-01",
    "tested_at": "2025-03-01T10:30:00+00:00",
    "offsite": False,
    "cadence": "quarterly",
    "channels": ["email", "phone"],
    "mailbox": "bcp@example.org",
    "hotline": "+44 20 7946 0000",
    "status_page": "https://status.example.org/",
    "rto": 270,
}


def test_every_field_type_renders(all_types_section, plan, people):
    form = build_section_form(all_types_section, plan=plan)
    html = str(form)
    for expected in [
        'type="text" name="title"', 'maxlength="20"', "<textarea", 'type="number" name="staff"',
        'type="number" name="budget"', 'step="0.01"', 'type="date" name="review_on"',
        'type="datetime-local" name="tested_at"', '<select name="offsite"', '<select name="cadence"',
        'type="checkbox" name="channels"', 'type="email" name="mailbox"', 'type="tel" name="hotline"',
        'type="url" name="status_page"', 'name="rto"', 'name="systems-0-name"', 'name="systems-0-remove"',
        'name="_add_row_systems"', '<select name="coordinator"', "Cora Ordinator", "Vendor Desk (Supplier)",
        "Like ABC-12",  # help text
    ]:
        assert expected in html, expected
    # The default of the select is preselected; required fields are marked.
    assert '<option value="annually" selected>' in html
    assert 'name="title" maxlength="20" required' in html


def test_full_values_round_trip_through_the_rendered_form(all_types_section, plan, people):
    coordinator, contact = people
    values = {
        **FULL_VALUES,
        "coordinator": coordinator.pk,
        "supplier": contact.pk,
        "systems": [
            {"name": "ERP", "tier": "gold", "rpo": 60, "owner": coordinator.pk, "vendor": contact.pk},
            {"name": "Mail", "tier": None, "rpo": None, "owner": None, "vendor": None},
        ],
    }
    form = build_section_form(all_types_section, plan=plan, initial=values)
    posted = build_section_form(all_types_section, plan=plan, initial=values, data=browser_post(form))
    assert posted.is_valid(), posted.errors
    assert posted.section_values() == values


def test_empty_values_round_trip_unchanged(all_types_section):
    values = {field["key"]: None for field in all_types_section["fields"]}
    values.update({"title": "Only title", "cadence": "annually", "channels": [], "systems": [], "notes": ""})
    form = build_section_form(all_types_section, initial=values)
    posted = build_section_form(all_types_section, initial=values, data=browser_post(form))
    assert posted.is_valid(), posted.errors
    assert posted.section_values() == values


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [
        ("rto", "4h", 240), ("rto", "90m", 90), ("rto", "1h 30m", 90), ("rto", "2d", 2880),
        ("rto", "1.5h", 90), ("rto", "45", 45), ("rto", "1 day 1 h", 1500),
        ("staff", "0", 0), ("budget", "12.5", "12.5"), ("review_on", "2026-02-28", "2026-02-28"),
        ("tested_at", "2026-02-28T09:15", "2026-02-28T09:15:00+00:00"), ("offsite", "true", True),
        ("offsite", "false", False), ("offsite", "unknown", None), ("cadence", "annually", "annually"),
        ("channels", ["sms"], ["sms"]), ("mailbox", "a.b@example.org", "a.b@example.org"),
        ("hotline", "(020) 7946-0000", "(020) 7946-0000"), ("status_page", "example.org", "https://example.org"),
        ("code", "XYZ-9", "XYZ-9"),
    ],
)
def test_good_input_is_cleaned_to_content_json(all_types_section, name, typed, expected):
    form = build_section_form(all_types_section, initial={"title": "T"})
    posted = build_section_form(all_types_section, initial={"title": "T"}, data=browser_post(form, **{name: typed}))
    assert posted.is_valid(), posted.errors
    assert posted.section_values()[name] == expected


@pytest.mark.parametrize(
    ("name", "typed", "code"),
    [
        ("title", "", "required"),
        ("title", "x" * 21, "max_length"),
        ("code", "abc-12", "invalid_pattern"),
        ("staff", "ten", "invalid"),
        ("staff", "501", "max_value"),
        ("staff", "-1", "min_value"),
        ("budget", "1.234", "max_decimal_places"),
        ("budget", "-5", "min_value"),
        ("review_on", "31/02/2025", "invalid"),
        ("tested_at", "yesterday", "invalid"),
        ("cadence", "", "required"),
        ("cadence", "weekly", "invalid_choice"),
        ("channels", ["fax"], "invalid_choice"),
        ("mailbox", "not-an-email", "invalid"),
        ("hotline", "call me", "invalid_phone"),
        ("status_page", "http://", "invalid"),
        ("rto", "soon", "invalid_duration"),
        ("rto", "8d", "max_value"),
        ("coordinator", "999999", "invalid_choice"),
        ("supplier", "999999", "invalid_choice"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(all_types_section, plan, name, typed, code):
    form = build_section_form(all_types_section, plan=plan, initial={"title": "T"})
    posted = build_section_form(all_types_section, plan=plan, initial={"title": "T"},
                                data=browser_post(form, **{name: typed}))
    assert not posted.is_valid()
    assert list(posted.errors) == [name]
    assert posted.has_error(name, code), posted.errors.as_json()
    html = posted[name].as_field_group()
    assert 'aria-invalid="true"' in html
    assert escape(posted.errors[name][0]) in html


def test_duration_shows_the_saved_minutes_as_typed_text(all_types_section):
    form = build_section_form(all_types_section, initial={"rto": 1530})
    assert 'value="1d 1h 30m"' in str(form["rto"])


def test_table_ignores_blank_rows_and_removes_ticked_rows(all_types_section):
    initial = {"title": "T", "systems": [{"name": "ERP"}, {"name": "Mail"}]}
    form = build_section_form(all_types_section, initial=initial)
    data = browser_post(form, **{"systems-0-remove": "1"})
    assert data["systems-rows"] == "3"  # two rows and one blank row
    posted = build_section_form(all_types_section, initial=initial, data=data)
    assert posted.is_valid(), posted.errors
    assert posted.section_values()["systems"] == [
        {"name": "Mail", "tier": None, "rpo": None, "owner": None, "vendor": None}
    ]


def test_table_row_errors_name_the_row_and_column(all_types_section):
    form = build_section_form(all_types_section, initial={"title": "T"})
    data = browser_post(form, **{"systems-0-tier": "gold", "systems-0-rpo": "whenever"})
    posted = build_section_form(all_types_section, initial={"title": "T"}, data=data)
    assert not posted.is_valid()
    messages = posted.errors["systems"]
    assert "Row 1, System: This field is required." in messages
    assert any(m.startswith("Row 1, RPO: ") for m in messages)
    assert posted.has_error("systems", "required") and posted.has_error("systems", "invalid_duration")
    # The typed input is kept when the form is shown again.
    assert 'value="whenever"' in str(posted["systems"])


def test_add_row_button_rerenders_with_one_more_row_without_errors(all_types_section):
    form = build_section_form(all_types_section, initial={"title": ""})
    data = browser_post(form, **{"systems-0-name": "ERP", "_add_row_systems": "1"})
    posted = build_section_form(all_types_section, initial={"title": ""}, data=data)
    assert posted.wants_more_rows is True
    assert posted.is_valid() is False
    assert posted.errors == {}
    html = str(posted)
    assert 'value="ERP"' in html
    assert 'name="systems-2-name"' in html  # ERP row, the blank row, and one more
    assert "errorlist" not in html
    # Posting that form normally saves the filled row only.
    again = build_section_form(all_types_section, initial={"title": "T"},
                               data=browser_post(posted, title="T"))
    assert again.wants_more_rows is False
    assert again.is_valid(), again.errors
    assert [row["name"] for row in again.section_values()["systems"]] == ["ERP"]


def test_required_table_needs_a_row():
    section = {"key": "s", "title": "S", "fields": [
        {"key": "tbl", "label": "Tbl", "type": "table", "required": True, "max_rows": 1, "help": "",
         "columns": [{"key": "a", "label": "A", "type": "text", "required": False, "help": ""}]},
    ]}
    form = build_section_form(section)
    posted = build_section_form(section, data=browser_post(form))
    assert not posted.is_valid() and posted.has_error("tbl", "required")
    data = browser_post(form, **{"tbl-rows": "2", "tbl-0-a": "x", "tbl-1-a": "y"})
    posted = build_section_form(section, data=data)
    assert not posted.is_valid() and posted.has_error("tbl", "max_rows")


def test_required_boolean_must_be_answered():
    section = {"key": "s", "title": "S", "fields": [
        {"key": "ok", "label": "Confirmed", "type": "boolean", "required": True, "help": ""}]}
    posted = build_section_form(section, data={"ok": "unknown"})
    assert posted.has_error("ok", "required")
    posted = build_section_form(section, data={"ok": "false"})
    assert posted.is_valid() and posted.section_values() == {"ok": False}


def test_references_offer_active_members_and_plan_contacts_in_one_query_each(
    all_types_section, plan, org, other_org, people, django_assert_num_queries,
):
    make_user(org, username="gone", first_name="Gone", is_active=False)
    make_user(other_org, username="stranger", first_name="Stranger")
    Contact.objects.create(plan=plan, name="Second Desk")
    with django_assert_num_queries(2):  # 1 users of the plan's organisation, 2 the plan's contacts
        html = str(build_section_form(all_types_section, plan=plan))
    assert "Cora Ordinator" in html and "Second Desk" in html
    assert "Gone" not in html and "Stranger" not in html


def test_a_reference_to_someone_no_longer_available_is_kept(all_types_section, plan):
    values = {"title": "T", "coordinator": 424242}
    form = build_section_form(all_types_section, plan=plan, initial=values)
    assert "User #424242 (no longer available)" in str(form)
    posted = build_section_form(all_types_section, plan=plan, initial=values, data=browser_post(form))
    assert posted.is_valid(), posted.errors
    assert posted.section_values()["coordinator"] == 424242


def test_prefix_applies_to_inputs_and_add_row_button(all_types_section):
    form = build_section_form(all_types_section, prefix="s1")
    html = str(form)
    assert 'name="s1-title"' in html and 'name="s1-systems-0-name"' in html
    assert 'name="_add_row_s1-systems"' in html
    posted = build_section_form(all_types_section, prefix="s1", data=browser_post(form, **{"_add_row_s1-systems": "1"}))
    assert posted.wants_more_rows
