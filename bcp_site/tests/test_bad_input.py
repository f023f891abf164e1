"""Bad input gets a clear answer (invariant 9): a 400, a 404 or a form error; never a 500, never a write.

Every form, upload, command and query parameter is fed what a security run found crashing
the site: numbers no column or Python holds (2**63, 4,400 digits), far dates and time-zone
offsets, NaN and Infinity, 100,000-deep JSON, damaged zips, ids out of range in every URL
(the resolver is enumerated, so a new page is covered the day it is added) and patterns
that backtrack for ever. The limits are in bcp_site/limits.py.

Requests let exceptions raise (the test client's default), so a 500 fails with its
traceback. `unchanged()` compares every table's rows before and after.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import uuid
import zipfile
from contextlib import contextmanager
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from bcp_site.limits import (
    ID_MAX,
    JSON_MAX_NESTING,
    IdConverter,
    JSONInputError,
    json_loads,
)
from bcp_site.testing import make_plan, make_template, make_user, zip_bytes
from plans.models import Contact, Process
from templates_app.schema import (
    TemplateSchemaError,
    pattern_problem,
    validate_content,
    validate_template_schema,
)

pytestmark = pytest.mark.django_db

HUGE_NUMBERS = [str(2**63), str(2**64), str(-(2**63) - 1), "9" * 4400]
BAD_IDS = [str(2**63), str(2**64), "-1", "9" * 4400]
DEEP_JSON = "[" * 100_000 + "]" * 100_000
SLOW_TEXT = "a" * 40 + "!"  # against (a|aa)+ : exponential backtracking
# Tables whose rows come and go with the request itself, not with what it asked for.
NOT_COMPARED = ("django_session", "axes_")


# --- helpers -------------------------------------------------------------------------------------


def snapshot() -> dict[str, list]:
    """Every row of every table (the test database is small)."""
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith(NOT_COMPARED):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (our own names)
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


@contextmanager
def unchanged():
    """Assert the block wrote nothing, naming the tables it changed."""
    before = snapshot()
    yield
    after = snapshot()
    changed = sorted(table for table in set(before) | set(after) if before.get(table) != after.get(table))
    assert not changed, f"tables changed: {changed}"


def refused(response, *, also: tuple[int, ...] = ()) -> str:
    """The page of a refusal: 400, 404, or the form shown again with an error next to a field."""
    html = response.content.decode(errors="replace")
    if response.status_code == 200:
        assert 'class="errorlist' in html or 'class="errornote' in html, "200 without a form error"
    else:
        assert response.status_code in (400, 404, *also), response.status_code
    return html


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def root(org):
    """A superuser who is a member of the organisation (audit pages, admin, uploads)."""
    return make_user(org, username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def editor_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


# --- the limits themselves ----------------------------------------------------------------------


def test_json_nesting_is_bounded_without_recursion():
    assert json_loads("[" * JSON_MAX_NESTING + "]" * JSON_MAX_NESTING)  # MariaDB stores 31 levels
    with pytest.raises(JSONInputError, match="nested more than 31 deep"):
        json_loads("[" * (JSON_MAX_NESTING + 1) + "]" * (JSON_MAX_NESTING + 1))
    with pytest.raises(JSONInputError, match="nested more than 31 deep"):
        json_loads(DEEP_JSON)
    with pytest.raises(JSONInputError, match="nested more than 31 deep"):
        json_loads('{"a": ' * 100_000)
    # Brackets inside strings (escaped quotes included) are not nesting.
    assert json_loads(json.dumps({"x": "[" * 100 + '\\"[[' + "{" * 100})) == {"x": "[" * 100 + '\\"[[' + "{" * 100}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "NaN is not a number JSON allows"),
        ("[Infinity]", "Infinity is not a number JSON allows"),
        ("-Infinity", "-Infinity is not a number JSON allows"),
        ("[1e400]", "1e400 is too large"),
        ("9" * 5000, "a number of 5000 digits is too large"),
        (json.dumps({"plans": [2**63]}), "plans[0]: 9223372036854775808 is outside the range"),
        (json.dumps({"n": 2**53 + 1}), "n: 9007199254740993 is outside the range"),
        ("{", "not valid JSON (line 1, column 2"),
        ('{"summary": "\\ud800"}', "summary: holds half of a UTF-16 surrogate pair"),
        (b"\xff[]", "not UTF-8 text"),
        ("[" + " " * (3 * 1024 * 1024) + "]", "larger than 2048 KB"),
    ],
)
def test_json_loads_refuses_what_cannot_be_stored(text, message):
    with pytest.raises(JSONInputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        json_loads(text)


def test_json_numbers_within_the_limit_are_kept():
    assert json_loads(json.dumps([2**53, -(2**53), 1.5e300 / 1e300])) == [2**53, -(2**53), 1.5]


def test_id_converter_matches_database_ids_only():
    converter = IdConverter()
    assert converter.to_python(str(ID_MAX)) == ID_MAX
    for bad in ("0", str(ID_MAX + 1)):
        with pytest.raises(ValueError):
            converter.to_python(bad)


# --- ids in every URL ---------------------------------------------------------------------------


def _routes(resolver=None, prefix=""):
    """(route text, pattern) of every URL pattern, with the routes of the includes above it."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _id_params(route_text: str) -> list[str]:
    return re.findall(r"<(?:int|id):(\w+)>", route_text)


def _fill(route_text: str, values: dict[str, str]) -> str:
    """The route with `values` for its parameters, and a plausible filler for the others."""
    fillers = {"str": "x", "slug": "x", "path": "x", "uuid": str(uuid.uuid4())}

    def one(match):
        return values.get(match[2], fillers.get(match[1], "1"))

    return "/" + re.sub(r"<(\w+):(\w+)>", one, route_text)


def test_every_url_takes_ids_through_the_bounded_converter():
    """A page added with Django's <int:...> would take 2**64 to the database: use <id:...>."""
    unbounded = []
    for route, entry in _routes():
        converters = getattr(entry.pattern, "converters", {})
        unbounded += [f"{route} ({name})" for name, conv in converters.items() if isinstance(conv, IntConverter)]
    # Django's "view on site" redirect looks its content type up by exact id, which Django bounds itself.
    assert unbounded in ([], ["admin/r/<int:content_type_id>/<path:object_id>/ (content_type_id)"]), unbounded
    assert sum(1 for route, _ in _routes() if _id_params(route)) >= 30  # the enumeration finds the pages


def test_ids_out_of_range_in_every_url_are_404(root_client, plan):
    checked = 0
    with unchanged():
        for route, _entry in _routes():
            for param in _id_params(route):
                for bad in (str(2**63), str(2**64), "-1"):
                    url = _fill(route, {param: bad})
                    # (the admin's catch-all "<path:object_id>/" redirects to a change page: a 404 too)
                    methods = (root_client.get, root_client.post) if bad == str(2**63) else (root_client.get,)
                    for method in methods:
                        response = method(url, follow=url.startswith("/admin/"))
                        assert response.status_code == 404, (url, response.status_code)
                        checked += 1
    assert checked >= 100


def test_admin_object_ids_out_of_range_are_not_found(root_client):
    """404 from the product's admins (bcp_site.admin_base); Django's own (groups) redirect to the index."""
    from bcp_site.admin_base import BaseAdmin

    with unchanged():
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            for bad in (str(2**63), "9" * 4400, "-1"):
                for view in ("change", "delete", "history"):
                    url = f"/admin/{opts.app_label}/{opts.model_name}/{bad}/{view}/"
                    response = root_client.get(url)
                    if isinstance(model_admin, BaseAdmin):
                        assert response.status_code == 404, (url, response.status_code)
                    else:
                        assert (response.status_code, response.get("Location")) in ((404, None), (302, "/admin/"))


# --- the section form: a template with one field of each type -----------------------------------

EVERY_TYPE = {
    "sections": [{
        "key": "everything", "title": "Every field type", "order": 1,
        "fields": [
            {"key": "title", "label": "Title", "type": "text", "max_length": 50},
            {"key": "slow", "label": "Slow code", "type": "text"},  # a pattern is added below, unchecked
            {"key": "notes", "label": "Notes", "type": "textarea"},
            {"key": "staff", "label": "Staff", "type": "integer"},
            {"key": "budget", "label": "Budget", "type": "decimal"},
            {"key": "review_on", "label": "Review on", "type": "date"},
            {"key": "tested_at", "label": "Tested at", "type": "datetime"},
            {"key": "offsite", "label": "Offsite", "type": "boolean"},
            {"key": "cadence", "label": "Cadence", "type": "select", "choices": ["quarterly", "annually"]},
            {"key": "channels", "label": "Channels", "type": "multiselect", "choices": ["email", "sms"]},
            {"key": "mailbox", "label": "Mailbox", "type": "email"},
            {"key": "hotline", "label": "Hotline", "type": "phone"},
            {"key": "status_page", "label": "Status page", "type": "url"},
            {"key": "rto", "label": "RTO", "type": "duration"},
            {"key": "systems", "label": "Systems", "type": "table", "columns": [
                {"key": "name", "label": "System", "type": "text"},
                {"key": "rpo", "label": "RPO", "type": "duration"},
                {"key": "cost", "label": "Cost", "type": "decimal"},
                {"key": "since", "label": "Since", "type": "datetime"},
            ]},
            {"key": "coordinator", "label": "Coordinator", "type": "user"},
            {"key": "supplier", "label": "Supplier", "type": "contact"},
        ],
    }],
}
SLOW_PATTERN = "(a|aa)+"  # refused when a template is saved; this one is written straight to the table


@pytest.fixture
def every_type_plan(org, owner):
    import copy

    schema = copy.deepcopy(EVERY_TYPE)
    schema["sections"][0]["fields"][1]["pattern"] = SLOW_PATTERN
    template = make_template(name="Every type", schema=schema)  # bypasses the admin's check on purpose
    return make_plan(org, owner, template=template, title="Every type plan")


def section_url(plan) -> str:
    return reverse("plans:section_edit", args=[plan.pk, "everything"])


def section_data(plan, **values) -> dict:
    plan.refresh_from_db()
    return {"edit_revision": str(plan.edit_revision), "title": "Head office", "systems-rows": "0", **values}


TABLE = {"systems-rows": "1", "systems-0-name": "Mail"}
BAD_SECTION_VALUES = [
    *[{"staff": v} for v in [*HUGE_NUMBERS, str(2**53 + 1), "1e400", "NaN"]],
    *[{"budget": v} for v in [*HUGE_NUMBERS, "1e999999", "NaN", "Infinity", "-Infinity", "0." + "0" * 30 + "1"]],
    *[{"review_on": v} for v in ["10000-01-01", "0000-12-31", "9" * 4400, "2025-02-30"]],
    *[{"tested_at": v} for v in ["10000-01-01T00:00", "0001-01-01T00:00", "9999-12-31T23:59", "9" * 4400]],
    *[{"rto": v} for v in ["9" * 4400, "9" * 4400 + "h", str(2**31), "99999999999d", "1" + "0" * 50 + "w", "-5"]],
    *[{"coordinator": v} for v in BAD_IDS],
    *[{"supplier": v} for v in BAD_IDS],
    {"cadence": "\x00" * 10}, {"channels": ["x" * 10_000]}, {"title": "x" * 10_000},
    {"mailbox": "a" * 5000 + "@example.org"}, {"status_page": "https://" + "a" * 100_000 + ".org"},
    {"hotline": "+" + "1" * 5000},
    *[{**TABLE, "systems-0-rpo": v} for v in ["9" * 4400, str(2**40)]],
    *[{**TABLE, "systems-0-cost": v} for v in ["NaN", "9" * 4400]],
    {**TABLE, "systems-0-since": "0001-01-01T00:00"},
]


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_section_form_refuses_bad_values_next_to_the_field(editor_client, every_type_plan, settings, time_zone):
    settings.TIME_ZONE = time_zone
    cases = BAD_SECTION_VALUES if time_zone == "UTC" else [  # a time zone matters to date-times only
        values for values in BAD_SECTION_VALUES if "tested_at" in values or "systems-0-since" in values
    ]
    with unchanged():
        for values in cases:
            response = editor_client.post(section_url(every_type_plan), section_data(every_type_plan, **values))
            assert response.status_code == 200, values
            form = response.context["form"]
            bad_field = next(iter(values)) if "systems-0-name" not in values else "systems"
            assert form.errors.get(bad_field), (values, form.errors)


def test_a_pattern_that_backtracks_for_ever_is_a_form_error_naming_the_field(editor_client, every_type_plan):
    with unchanged():
        response = editor_client.post(section_url(every_type_plan), section_data(every_type_plan, slow=SLOW_TEXT))
    assert response.status_code == 200
    assert "Slow code: could not be checked against the field&#x27;s format in time" in response.content.decode()


def test_extreme_values_that_fit_are_kept_and_every_page_still_shows_them(
    editor_client, every_type_plan, settings
):
    """Values at the edge of the limits are not refused, and nothing that shows them breaks."""
    settings.TIME_ZONE = "Pacific/Kiritimati"  # +14: the far end of every conversion
    response = editor_client.post(section_url(every_type_plan), section_data(
        every_type_plan, staff=str(2**53), budget=str(2**53), review_on="9999-12-31", rto=str(2**31 - 1),
        tested_at="9999-12-30T23:59", **TABLE, **{"systems-0-rpo": "0", "systems-0-since": "0001-01-03T00:00"},
    ))
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    every_type_plan.refresh_from_db()
    values = every_type_plan.draft_content_json["everything"]
    assert values["staff"] == 2**53 and values["review_on"] == "9999-12-31" and values["rto"] == 2**31 - 1
    for time_zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        settings.TIME_ZONE = time_zone
        assert editor_client.get(every_type_plan.get_absolute_url()).status_code == 200
        assert editor_client.get(section_url(every_type_plan)).status_code == 200
        assert editor_client.get(reverse("plans:version_create", args=[every_type_plan.pk])).status_code == 200


def test_content_saved_before_the_limits_still_shows(editor_client, every_type_plan):
    """A far date-time or a huge number already in a working copy: the pages show it, saving refuses it."""
    every_type_plan.draft_content_json = {"everything": {
        "title": "x", "tested_at": "9999-12-31T23:59:59+00:00", "staff": 2**60, "rto": 2**40,
    }}
    every_type_plan.save(update_fields=["draft_content_json"])
    assert editor_client.get(every_type_plan.get_absolute_url()).status_code == 200
    assert editor_client.get(section_url(every_type_plan)).status_code == 200
    problems = validate_content(every_type_plan.template, every_type_plan.draft_content_json)
    assert any("Tested at" in p and "between" in p for p in problems)
    assert any("Staff" in p and "outside the range" in p for p in problems)
    assert any("RTO" in p and "at most" in p for p in problems)


# --- contacts, processes, risks, revisions, plan create --------------------------------------------


def row_data(plan, **values):
    plan.refresh_from_db()
    return {"edit_revision": str(plan.edit_revision), **values}


@pytest.mark.parametrize(
    ("url_name", "good", "bad"),
    [
        ("plans:process_add", {"name": "Payroll", "impact_rating": "high"}, [
            *[{"rto_minutes": v} for v in ["9" * 4400, "9" * 4400 + "h", str(2**31), "35791395h", "-1", "1e9"]],
            *[{"mtpd_minutes": v} for v in ["9" * 4400, str(2**63)]],
            {"rpo_minutes": "1" + "0" * 50 + "w"}, {"name": "x" * 10_000},
            {"impact_rating": "9" * 4400}, {"edit_revision": "9" * 4400}, {"edit_revision": "-1"},
        ]),
        ("plans:contact_add", {"name": "Ann"}, [
            {"name": "x" * 10_000}, {"email": "a" * 5000 + "@example.org"}, {"phone": "+" * 5000},
            {"edit_revision": "9" * 4400},
        ]),
        ("plans:risk_add", {"threat": "Flood", "likelihood": "rare", "impact": "minor"}, [
            {"likelihood": "9" * 4400}, {"impact": str(2**63)}, {"owner_user": str(2**63)},
            {"owner_user": "9" * 4400}, {"threat": "x" * 10_000}, {"edit_revision": "9" * 4400},
        ]),
    ],
)
def test_row_forms_refuse_bad_values(editor_client, plan, url_name, good, bad):
    url = reverse(url_name, args=[plan.pk])
    with unchanged():
        for values in bad:
            response = editor_client.post(url, row_data(plan, **{**good, **values}))
            assert response.status_code == 200, values
            assert response.context["form"].errors, values


def test_an_edit_revision_no_plan_has_is_a_conflict_not_a_crash(editor_client, plan):
    with unchanged():
        for revision in (str(2**63), str(2**64)):
            response = editor_client.post(
                reverse("plans:contact_add", args=[plan.pk]), {"edit_revision": revision, "name": "Ann"}
            )
            assert response.status_code == 200 and response.context["form"].non_field_errors()
        response = editor_client.post(reverse("plans:version_create", args=[plan.pk]),
                                      {"edit_revision": str(2**63), "note": "x"})
        assert response.status_code == 200 and response.context["form"].errors


def test_row_ids_of_another_kind_of_garbage_are_404(editor_client, plan):
    contact = Contact.objects.create(plan=plan, name="Ann")
    Process.objects.create(plan=plan, name="Payroll")
    with unchanged():
        for bad in BAD_IDS:
            assert editor_client.get(f"/plans/{plan.pk}/contacts/{bad}/edit/").status_code == 404
        assert editor_client.get(f"/plans/{plan.pk}/contacts/{contact.pk}/edit/").status_code == 200


def test_save_revision_refuses_bad_values(editor_client, plan):
    url = reverse("plans:version_create", args=[plan.pk])
    with unchanged():
        for values in ({"edit_revision": "9" * 4400, "note": "x"}, {"note": "x" * 10_000},
                       {"note": "x", "edit_revision": "-1"}):
            response = editor_client.post(url, {"edit_revision": "1", **values})
            assert response.status_code == 200 and response.context["form"].errors, values


def test_plan_create_refuses_bad_values(editor_client, owner, template):
    url = reverse("plans:plan_create")
    good = {"template": str(template.pk), "title": "New plan", "owner": str(owner.pk)}
    with unchanged():
        for values in (*[{"template": v} for v in BAD_IDS], *[{"owner": v} for v in BAD_IDS],
                       {"title": "x" * 10_000}, {"title": "\x00"}):
            response = editor_client.post(url, {**good, **values})
            assert response.status_code == 200 and response.context["form"].errors, values


# --- list, search, audit and compare parameters ----------------------------------------------------

QUERY_VALUES = [str(2**63), str(2**64), "9" * 4400, "-1", "x" * 10_000, "\x00%", "NaN", "9999-12-31"]


def test_list_and_search_parameters(root_client, plan):
    pages = [
        (reverse("plans:plan_list"), ["q", "status", "owner", "page", "cursor"]),
        (reverse("plans:version_list", args=[plan.pk]), ["page", "cursor"]),
        (reverse("changes:plan_changes", args=[plan.pk]), ["page", "cursor"]),
        (reverse("plans:person_search"), ["q"]),
        (reverse("files:attachment_list", args=[plan.pk]), ["page"]),
        (reverse("acks:coverage", args=[plan.pk]), ["show", "page"]),
        (reverse("reviews:queue"), ["page"]),
    ]
    with unchanged():
        for url, params in pages:
            for param in params:
                for value in QUERY_VALUES:
                    response = root_client.get(url, {param: value})
                    assert response.status_code in (200, 400), (url, param, value[:20], response.status_code)


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_audit_filters(root_client, plan, settings, time_zone):
    settings.TIME_ZONE = time_zone
    urls = [reverse("changes:org_audit"), reverse("changes:plan_audit", args=[plan.pk])]
    far = ["9999-12-31", "0001-01-01", "9999-12-30", "0001-01-02"]
    bad = ["10000-01-01", "0000-00-00", "9" * 4400, "2025-02-30"]
    ranges = [(d, "") for d in far + bad] + [("", d) for d in far + bad] + [(d, d) for d in far] + [
        ("0001-01-01", "9999-12-31"), ("9999-12-31", "0001-01-01"),
    ]
    with unchanged():
        for url in urls:
            for date_from, date_to in ranges:
                for output in ("", "csv"):
                    response = root_client.get(url, {"date_from": date_from, "date_to": date_to, "format": output})
                    assert response.status_code == 200, (url, date_from[:12], date_to[:12])
                    if response.streaming:
                        b"".join(response.streaming_content)
            for param in ("action", "actor", "page", "cursor") if time_zone == "UTC" else ():
                for value in QUERY_VALUES:
                    assert root_client.get(url, {param: value}).status_code == 200
    # The widest range finds the plan's own rows: the edges of the calendar are no bounds.
    response = root_client.get(urls[1], {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert len(response.context["page"].object_list) == plan.audit_entries.count() > 0


def test_version_compare_parameters(root_client, plan):
    url = reverse("plans:version_compare", args=[plan.pk])
    with unchanged():
        for old in ["", "1", *BAD_IDS, "x", "working"]:
            for new in ["", "1", "working", *BAD_IDS, "x"]:
                response = root_client.get(url, {"old": old, "new": new})
                assert response.status_code in (200, 400, 404), (old[:20], new[:20], response.status_code)


# --- reviews and acknowledgements --------------------------------------------------------------------


def test_review_and_ack_forms_refuse_bad_values(client, plan, root, reviewer):
    client.force_login(root)
    with unchanged():
        for bad in BAD_IDS:
            response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": [bad]})
            refused(response)
            response = client.post(reverse("acks:distribution_edit", args=[plan.pk]),
                                   {"audience": "chosen", "users": [bad], "groups": [bad]})
            refused(response)
            response = client.post(reverse("acks:plan_ack", args=[plan.pk]), {"version_number": bad})
            assert response.status_code == 302 and messages_of(response)  # the button reports by message
        for token in ("x" * 5000, "1" * 5000, "a.b.c", "%00"):
            assert client.get(reverse("acks:link", args=[token])).status_code == 400
            assert client.post(reverse("acks:link", args=[token])).status_code == 400


# --- change files: the importer, the admin upload and the command -----------------------------------


def change_file(**fields) -> tuple[str, bytes]:
    guid = str(uuid.uuid4())
    doc = {"guid": guid, "occurred_at": "2026-08-03T10:15:00Z", "change_type": "Change", "summary": "x",
           "content_hash": "0" * 64, **fields}
    return f"{guid}.json", json.dumps(doc).encode()


def bad_change_files() -> list[tuple[str, bytes, str]]:
    """(name, bytes, the words the error must say) of change files no database can take."""
    files = []
    for stamp in ("2026-08-03T10:15:00+99:00", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
                  "10000-01-01T00:00:00Z", "9" * 4400):
        name, raw = change_file(occurred_at=stamp)
        files.append((name, raw, "occurred_at"))
    for plans in ([2**63], [str(2**63)], ["9" * 4400], ["²"], [-1]):
        name, raw = change_file(plans=plans)
        files.append((name, raw, "plans"))
    name, _ = change_file()
    guid = name.removesuffix(".json")
    files += [
        (name, f'{{"guid": "{guid}", "plans": {DEEP_JSON}}}'.encode(), "nested more than 31 deep"),
        (name, f'{{"guid": "{guid}", "plans": [NaN]}}'.encode(), "NaN"),
        (name, f'{{"guid": "{guid}", "plans": [{"9" * 5000}]}}'.encode(), "5000 digits"),
        (name, f'{{"guid": "{guid}", "plans": [1e400]}}'.encode(), "too large"),
    ]
    return files


def test_change_file_importer_names_the_file_and_the_field(plan):
    from plans.changes import changes_import

    with unchanged():
        for name, raw, words in bad_change_files():
            report = changes_import(files=[(name, raw)])
            assert len(report.errors) == 1 and report.errors[0].startswith(name), report.errors
            assert words in report.errors[0], report.errors


def test_import_changes_command_names_the_file_and_field_and_exits_non_zero(tmp_path, plan):
    for index, (name, raw, words) in enumerate(bad_change_files()):
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / name).write_bytes(raw)
        err = StringIO()
        with unchanged(), pytest.raises(CommandError, match="could not be imported"):
            call_command("import_changes", str(folder), stdout=StringIO(), stderr=err)
        assert f"error: {name}:" in err.getvalue() and words in err.getvalue()
    with unchanged():
        for bad in (str(2**63), str(2**64), "-1"):
            with pytest.raises(CommandError):
                call_command("import_changes", str(tmp_path), "--plan", bad, stdout=StringIO(), stderr=StringIO())


def damaged_zips() -> list[tuple[bytes, str]]:
    """(zip bytes, the member the error must name): corrupted data, truncated, unknown compression."""
    name, raw = change_file(summary="x" * 2000)
    good = zip_bytes({name: raw})
    data_at = good.index(b"PK\x03\x04") + 30 + len(name)
    corrupted = bytearray(good)
    for offset in range(data_at + 2, data_at + 40):
        corrupted[offset] ^= 0xFF  # -> zlib.error or a CRC mismatch while reading
    stored = bytearray(zip_bytes({name: raw}, compression=zipfile.ZIP_STORED))
    stored[stored.index(b"PK\x03\x04") + 8] = 99  # compression method 99 in the local header
    central = stored.index(b"PK\x01\x02")
    stored[central + 10] = 99  # ... and in the central directory: NotImplementedError
    bz = bytearray(zip_bytes({name: raw}, compression=zipfile.ZIP_BZIP2))
    bz_data = bz.index(b"PK\x03\x04") + 30 + len(name)
    bz[bz_data + 4: bz_data + 20] = b"\x00" * 16  # -> OSError from bz2
    lz = bytearray(zip_bytes({name: raw}, compression=zipfile.ZIP_LZMA))
    lz_data = lz.index(b"PK\x03\x04") + 30 + len(name)
    lz[lz_data + 4: lz_data + 30] = b"\xff" * 26  # -> lzma.LZMAError
    truncated = good[: data_at + 10] + good[data_at + 10 + 1:]  # one byte missing: EOFError or CRC
    return [(bytes(corrupted), name), (bytes(stored), name), (bytes(bz), name), (bytes(lz), name),
            (truncated, "")]


def test_admin_upload_reports_damaged_zips_by_member_name(root_client):
    url = reverse("admin:plans_changerecord_upload")
    with unchanged():
        for content, member in damaged_zips():
            response = root_client.post(url, {"file": SimpleUploadedFile("changes.zip", content)})
            html = refused(response)
            assert member in html or "not a valid zip archive" in html
        for content in (b"PK\x03\x04" + b"\x00" * 100, b"PK\x05\x06" + b"\xff" * 18, b""):
            refused(root_client.post(url, {"file": SimpleUploadedFile("changes.zip", content)}))
        for bad in BAD_IDS:
            name, raw = change_file()
            refused(root_client.post(url, {"file": SimpleUploadedFile(name, raw), "plan": bad}))


def test_admin_upload_of_bad_change_files_reports_each_and_stores_nothing(root_client):
    url = reverse("admin:plans_changerecord_upload")
    files = bad_change_files()
    with unchanged():
        response = root_client.post(url, {"file": SimpleUploadedFile(
            "changes.zip", zip_bytes({f"{i}/{name}": raw for i, (name, raw, _words) in enumerate(files)}))})
    assert response.status_code == 302
    shown = messages_of(response)
    for name, _raw, words in files:
        assert any(m.startswith(f"Error: {name}:") and words in m for m in shown), (name, words)


# --- templates: the admin's schema fields and template_import ----------------------------------------


def schema_with(**field) -> dict:
    return {"sections": [{"key": "s", "title": "S", "fields": [{"key": "f", "label": "F", "type": "text", **field}]}]}


BAD_SCHEMA_TEXTS = [
    (DEEP_JSON, "nested more than 31 deep"),
    ('{"sections": [{"key": "s", "title": "S", "order": NaN}]}', "NaN is not a number JSON allows"),
    ('{"sections": [{"key": "s", "title": "S", "order": Infinity}]}', "Infinity is not a number JSON allows"),
    ('{"sections": [{"key": "s", "title": "S", "order": ' + "9" * 5000 + "}]}", "5000 digits"),
    ('{"sections": [{"key": "s", "title": "S", "order": 1e400}]}', "too large"),
    (json.dumps(schema_with(type="integer", min=10**300)), "sections[0].fields[0].min"),
    (json.dumps(schema_with(type="integer", max=2**60)), "sections[0].fields[0].max"),
    (json.dumps(schema_with(type="duration", max=2**40)), "sections[0].fields[0].max"),
    (json.dumps(schema_with(pattern="(a+)+$")), "sections[0].fields[0].pattern"),
    (json.dumps(schema_with(pattern="(a|aa)+$")), "sections[0].fields[0].pattern"),
    (json.dumps(schema_with(pattern="(\\w+\\s?)+$")), "sections[0].fields[0].pattern"),
    (json.dumps(schema_with(pattern="[")), "sections[0].fields[0].pattern"),
    (json.dumps(schema_with(type="datetime", default="9999-12-31T23:59:59+00:00")), "sections[0].fields[0].default"),
    (json.dumps(schema_with(type="decimal", default="1e999999")), "sections[0].fields[0].default"),
]


def admin_template_post(schema_text: str) -> dict:
    return {
        "name": "Admin template", "version": "1", "description": "", "schema_json": schema_text,
        "section_definitions-TOTAL_FORMS": "0", "section_definitions-INITIAL_FORMS": "0",
        "section_definitions-MIN_NUM_FORMS": "0", "section_definitions-MAX_NUM_FORMS": "1000",
    }


def test_admin_template_schema_fields_refuse_bad_json(root_client, template):
    with unchanged():
        for text, words in BAD_SCHEMA_TEXTS:
            response = root_client.post(reverse("admin:templates_app_template_add"), admin_template_post(text))
            page = html_lib.unescape(refused(response))
            assert words in page, words
            response = root_client.post(reverse("admin:templates_app_sectiondefinition_add"), {
                "template": str(template.pk), "key": "extra", "title": "Extra", "order_index": "1",
                "schema_json": text.replace('"sections": [{"key": "s", "title": "S", ', '"fields": [{')
                if text.startswith('{"sections"') else text,
            })
            assert response.status_code == 200 and 'class="errorlist' in response.content.decode(), words
        for bad in ("9" * 4400, str(2**63)):
            response = root_client.post(reverse("admin:templates_app_sectiondefinition_add"), {
                "template": str(template.pk), "key": "extra", "title": "Extra", "order_index": bad,
                "schema_json": "{}",
            })
            refused(response)


def test_template_import_names_the_file_and_the_path(tmp_path):
    for index, (text, words) in enumerate(BAD_SCHEMA_TEXTS):
        if text.startswith('{"sections"'):
            text = '{"name": "Imported", "version": "1", ' + text[1:]
        path = tmp_path / f"template-{index}.json"
        path.write_text(text, encoding="utf-8")
        with unchanged(), pytest.raises(CommandError) as error:
            call_command("template_import", str(path), stdout=StringIO())
        assert str(path) in str(error.value) and words in str(error.value), (words, str(error.value)[:300])


def test_regex_bombs_are_refused_when_a_template_is_saved():
    for pattern in ("(a+)+$", "(a*)*b", "(\\d+)*x", "(a|aa)+$", "(\\w+\\s?)+$", "(?:x?a+)+!"):
        with pytest.raises(TemplateSchemaError, match=r"sections\[0\]\.fields\[0\]\.pattern"):
            validate_template_schema(schema_with(pattern=pattern))
    for pattern in ("[A-Z]{3}-[0-9]+", "[A-Z]+(-[A-Z]+)*", "(\\d{1,3}\\.){3}\\d{1,3}", "([a-z]+-)+"):
        assert pattern_problem(pattern) is None, pattern


# --- attachments and the export check -----------------------------------------------------------------

ODD_NAMES = ["a" * 5000 + ".txt", "\x00.txt", "../../etc/passwd.txt", "x.txt\x00.exe", "CON.txt", ".txt",
             "ż" * 300 + ".txt", "\u202egnp.txt", "x" * 255 + ".txt", "\r\n.txt"]


def test_attachment_upload_names(editor_client, plan):
    from plans.models import Attachment

    url = reverse("files:attachment_list", args=[plan.pk])
    for name in ODD_NAMES:
        before = snapshot()
        response = editor_client.post(url, {"file": SimpleUploadedFile(name, b"hello\n")})
        if response.status_code == 302:  # kept, under a name that is safe to show and to send back
            stored = Attachment.objects.latest("id").file_name
            assert stored and len(stored) <= 255 and not set(stored) & {"/", "\\", "\x00", "\r", "\n"}, stored
        else:
            refused(response)
            assert snapshot() == before


def test_export_check_refuses_garbage(editor_client):
    with unchanged():
        for content, name in ((b"", "x.pdf"), (b"\x00" * 1000, "x" * 5000 + ".pdf"), (DEEP_JSON.encode(), "x.docx")):
            response = editor_client.post(reverse("files:verify"), {"file": SimpleUploadedFile(name, content)})
            assert response.status_code in (200, 400)


# --- the 400 page says what happened ---------------------------------------------------------------


def test_the_400_page_says_what_happened(editor_client, plan):
    response = editor_client.post(reverse("plans:section_edit", args=[plan.pk, "overview"]), {"purpose": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bad request" in html and "The form was incomplete: open it again from the plan page." in html
    response = editor_client.get(reverse("plans:version_compare", args=[plan.pk]), {"old": "x"})
    assert response.status_code == 400 and "Choose two versions from the lists." in response.content.decode()
    response = editor_client.post(reverse("plans:contact_add", args=[plan.pk]), {f"f{i}": "x" for i in range(1200)})
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.content.decode()


# --- the admin's lists: search, paging, ordering and date filters ------------------------------------


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati"])
def test_admin_changelist_parameters(root_client, plan, settings, time_zone):
    """Django answers a lookup it does not allow with 400 or "?e=1"; what it allows must not crash."""
    settings.TIME_ZONE = time_zone
    with unchanged():
        for model, model_admin in admin.site._registry.items():
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            params = [{"q": "x" * 10_000, "p": "9" * 4400, "o": "9" * 4400}, {"p": str(2**63), "o": "-1.-2"},
                      {"id__exact": str(2**63)}] if time_zone == "UTC" else []  # a time zone matters to dates only
            dates = [model_admin.date_hierarchy] if model_admin.date_hierarchy else []
            dates += [f for f in model_admin.list_filter if isinstance(f, str) and f.endswith(("_utc", "_at", "_on"))]
            for field in dates:
                for lookup, value in (("gte", "9999-12-31"), ("lt", "10000-01-01"), ("gte", "0001-01-01 00:00"),
                                      ("year", "99999"), ("year", "9999"), ("month", "13"), ("day", "99")):
                    params.append({f"{field}__{lookup}": value})
                params.append({f"{field}__year": "9999", f"{field}__month": "12", f"{field}__day": "31"})
            for query in params:
                response = root_client.get(url, query)
                assert response.status_code in (200, 302, 400), (url, query, response.status_code)
                if response.status_code == 302:
                    assert "e=1" in response["Location"], (url, query)


def test_commands_refuse_numbers_out_of_range():
    with unchanged():
        for command, args in (("send_ack_reminders", ["--days", str(10**12)]),
                              ("purge_submission_tokens", ["--days", str(10**12)]),
                              ("template_export", [str(2**63)]), ("template_export", ["9" * 4400])):
            with pytest.raises(CommandError):
                call_command(command, *args, stdout=StringIO(), stderr=StringIO())


def test_sign_in_with_garbage(client):
    with unchanged():
        for username, password in (("x" * 10_000, "x"), ("\x00", "\x00" * 10_000), (str(2**63), "9" * 4400)):
            response = client.post(reverse("login"), {"username": username, "password": password})
            assert response.status_code in (200, 400, 403, 429)
