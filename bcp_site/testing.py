"""Test data builders shared by every app's tests (the one place for factories)."""

from __future__ import annotations

import hashlib
import io
import itertools
import subprocess
import zipfile

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from plans.models import Contact, Membership, Organisation, Plan, PlanVersion, Process, Risk
from plans.risk import risk_rating
from plans.search import search_plan_index
from plans.services import plan_create, working_copy_content
from templates_app.models import Template
from templates_app.schema import choice_pairs, is_empty, template_readiness, template_sections, value_problem

_seq = itertools.count(1)

PASSWORD = "correct-horse-battery-staple"

# A small template exercising several field types; tests that need the shipped default
# template use `Template.objects.get(is_default=True)` instead.
SMALL_SCHEMA = {
    "sections": [
        {
            "key": "overview",
            "title": "Plan overview",
            "order": 1,
            "help": "What the plan covers.",
            "fields": [
                {"key": "purpose", "label": "Purpose", "type": "textarea", "required": True, "default": ""},
                {"key": "scope", "label": "Scope", "type": "text", "required": False, "default": "All sites"},
            ],
        },
        {
            "key": "maintenance",
            "title": "Maintenance and review",
            "order": 2,
            "fields": [
                {"key": "review_cadence", "label": "Review cadence", "type": "select", "required": True,
                 "choices": ["quarterly", "annually"], "default": "annually"},
                {"key": "next_review", "label": "Next review", "type": "date", "required": False},
            ],
        },
    ]
}


def make_org(name: str | None = None) -> Organisation:
    return Organisation.objects.create(name=name or f"Org {next(_seq)}")


def make_user(org: Organisation | None = None, *, username: str | None = None, groups=(), **extra):
    """A user in `org` (if given) and the named BCP groups, with password PASSWORD."""
    User = get_user_model()
    n = next(_seq)
    username = username or f"user{n}"
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=extra.pop("email", f"{username}@example.org"),
        first_name=extra.pop("first_name", username.capitalize()), **extra,
    )
    if org is not None:
        Membership.objects.create(user=user, organisation=org)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def make_template(*, name: str | None = None, schema: dict | None = None, is_default: bool = False,
                  org: Organisation | None = None, version: str = "1") -> Template:
    """A template: global unless `org` is given."""
    return Template.objects.create(
        org=org, name=name or f"Template {next(_seq)}", version=version, schema_json=schema or SMALL_SCHEMA,
        is_default=is_default,
    )


def make_plan(org: Organisation, owner, *, template: Template | None = None, title: str | None = None,
              ready: bool = True) -> Plan:
    """A plan with version 1. `ready` (the default): ready for review (plans.readiness), see `make_ready`;
    `ready=False`: exactly what `plan_create` makes (the template's defaults, no contacts, processes, risks)."""
    plan = plan_create(
        organisation=org, template=template or make_template(), title=title or f"Plan {next(_seq)}",
        owner=owner, actor=owner,
    )
    return make_ready(plan) if ready else plan


def make_ready(plan: Plan) -> Plan:
    """Make a new plan ready for review, as if version 1 had been written so (no audit rows, no new version).

    Adds one contact ("Duty manager"), one critical process ("Customer service", RTO 4 h, MTPD 24 h)
    and one risk ("Power cut"), fills every empty field the template requires (and those its
    readiness declaration requires for approval) with a valid value, and stores the result in
    the working copy and in the active version's snapshot.
    """
    contact = Contact.objects.create(plan=plan, name="Duty manager", role="Incident lead",
                                     phone="+44 20 7946 0001", email="duty@example.org")
    Process.objects.create(plan=plan, name="Customer service", rto_minutes=240, rpo_minutes=60, mtpd_minutes=1440,
                           impact_rating=Process.Impact.HIGH)
    Risk.objects.create(plan=plan, threat="Power cut", likelihood=Risk.Likelihood.POSSIBLE,
                        impact=Risk.Impact.MAJOR, rating=risk_rating(Risk.Likelihood.POSSIBLE, Risk.Impact.MAJOR),
                        mitigation="Generator on site", owner_user=plan.owner_user)
    wanted = set(template_readiness(plan.template)["required_for_approval"])
    content = dict(plan.draft_content_json or {})
    for section in template_sections(plan.template):
        values = dict(content.get(section["key"]) or {})
        for field in section["fields"]:
            needed = field.get("required") or f"{section['key']}.{field['key']}" in wanted
            if needed and is_empty(values.get(field["key"])):
                values[field["key"]] = sample_value(field, user_id=plan.owner_user_id, contact_id=contact.pk)
        content[section["key"]] = values
    plan.draft_content_json = content
    plan.save(update_fields=["draft_content_json"])
    PlanVersion.objects.filter(pk=plan.current_version_id).update(content_json=working_copy_content(plan))
    plan.current_version.refresh_from_db(fields=["content_json"])
    search_plan_index(plan=plan)  # the rows were written directly: index them as the services would
    return plan


def sample_value(field: dict, *, user_id: int, contact_id: int):
    """A valid value of a template field (a table gets one row with its required columns)."""
    kind = field["type"]
    if kind == "table":
        return [{column["key"]: sample_value(column, user_id=user_id, contact_id=contact_id)
                 for column in field.get("columns", []) if column.get("required")} or
                {field["columns"][0]["key"]: sample_value(field["columns"][0], user_id=user_id,
                                                          contact_id=contact_id)}]
    if kind in {"select", "multiselect"}:
        first = choice_pairs(field)[0][0]
        return [first] if kind == "multiselect" else first
    candidates = {
        "text": "Filled for review", "textarea": "Filled for review.", "integer": max(field.get("min", 1), 1),
        "decimal": str(max(field.get("min", 1), 1)), "date": "2030-01-31", "datetime": "2030-01-31T09:00:00+00:00",
        "boolean": True, "email": "plan@example.org", "phone": "+44 20 7946 0000", "url": "https://example.org",
        "duration": max(field.get("min", 60), 60), "user": user_id, "contact": contact_id,
    }
    value = candidates[kind]
    if kind in {"text", "textarea"} and "max_length" in field:
        value = value[: field["max_length"]]
    if kind not in {"user", "contact"} and value_problem(field, value):
        raise ValueError(f"make_ready cannot fill {field['key']!r}: give the plan a value yourself")
    return value


def add_children(plan: Plan, n: int) -> None:
    """Add n contacts, processes and risks to a plan (bulk, for query-count tests)."""
    Contact.objects.bulk_create(
        Contact(plan=plan, name=f"Contact {i}", role="Role", phone="+44 20 7946 0000", email=f"c{i}@example.org")
        for i in range(n)
    )
    Process.objects.bulk_create(
        Process(plan=plan, name=f"Process {i}", rto_minutes=60 + i, rpo_minutes=30, mtpd_minutes=240 + i,
                impact_rating=Process.Impact.HIGH, dependencies_json=[f"System {i}"])
        for i in range(n)
    )
    levels = list(zip(Risk.Likelihood.values, Risk.Impact.values, strict=True))
    Risk.objects.bulk_create(
        Risk(plan=plan, threat=f"Threat {i}", likelihood=levels[i % 5][0], impact=levels[(i + 2) % 5][1],
             rating=risk_rating(levels[i % 5][0], levels[(i + 2) % 5][1]), mitigation="Mitigate")
        for i in range(n)
    )


def admin_inline_data(response) -> dict[str, str]:
    """The inline formsets' management fields of an admin add/change page (what a browser posts back)."""
    data: dict[str, str] = {}
    for inline in response.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({form.add_prefix(name): str(form[name].value()) for name in form.fields})
    return data


# What the navigation adds to every signed-in page: the "needs me" counts (reviews.attention), one query.
NAVIGATION_COUNTS = 1


def pdf_text(data: bytes, tmp_path) -> str:
    """A PDF's text as a reader sees it (poppler's `pdftotext -layout`); each page ends with a form feed."""
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:16]}.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def pdf_pages(data: bytes, tmp_path) -> list[str]:
    """The text of each page of a PDF, in order."""
    return pdf_text(data, tmp_path).split("\f")[:-1]


def docx_to_pdf(data: bytes, tmp_path) -> bytes:
    """A DOCX laid out by LibreOffice (`soffice`), as the PDF it prints.

    Each call has a LibreOffice profile of its own under `tmp_path`: with the shared one, a second
    `soffice` (another test at the same time, or an office the developer has open) hands the file
    to the first and returns before it is converted.
    """
    source = tmp_path / "document.docx"
    source.write_bytes(data)
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'libreoffice-profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )
    return (tmp_path / "document.pdf").read_bytes()


ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # every entry of zip_bytes's archives


def zip_bytes(members: dict, *, compression: int = zipfile.ZIP_DEFLATED, mimetype: str | None = None) -> bytes:
    """A ZIP archive of `members` (name: str or bytes), `mimetype` first and stored when given (as
    OpenDocument files begin).

    Every entry has the same fixed date, so the same members give the same bytes: test cases
    built from them at collection time get the same ids in every test process (pytest-xdist
    refuses to run when the processes collected different ids).
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if mimetype is not None:
            archive.writestr(zipfile.ZipInfo("mimetype", ZIP_DATE), mimetype, compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, compress_type=compression)
    return buffer.getvalue()
