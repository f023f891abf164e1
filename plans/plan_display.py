"""What the plan and version pages show, computed before the templates run.

Templates only print what these functions return: no queries and no per-row filters or URL
reversing in the big tables. A written version never changes (invariant 2), so its rendered
body (sections, contacts, processes, risks, charts) is cached with Django's cache framework,
keyed by the version, its template and `FRAGMENT_VERSION`; the editable working copy is never
cached.

People: only the people the shown content refers to are named (`user_labels`: one query,
none when nobody is referred to), never every member of the organisation.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bcp_site.text import display_name
from templates_app.schema import template_roles, template_sections
from templates_app.values import display_value, format_minutes, reference_ids, table_display

from .charts import recovery_chart_svg, risk_heatmap
from .models import Process, Risk
from .resources import resource_rows
from .risk import IMPACT_SCORES, LIKELIHOOD_SCORES
from .vendors import recovery_gap

# Bump when the markup of a cached fragment changes, so old fragments are not served.
FRAGMENT_VERSION = 4  # 2: rows carry ids (contact-12) that search results link to; 3: the exercises slot;
# 4: resources, and the vendors of each process
# Names in a fragment may change (a person's name); a cached fragment is rebuilt after this.
FRAGMENT_SECONDS = 24 * 3600

EMPTY = "—"
_LIKELIHOOD = dict(Risk.Likelihood.choices)
_IMPACT = dict(Risk.Impact.choices)
_RATING = dict(Risk.Rating.choices)
_PROCESS_IMPACT = dict(Process.Impact.choices)


# --- people and contacts named by the content -------------------------------------------------

def referenced_user_ids(sections: list[dict], *contents: dict | None) -> set[int]:
    """Ids of the people that user-type fields (and user columns of tables) of the contents name."""
    ids: set[int] = set()
    for content in contents:
        ids |= reference_ids(sections, content or {})[1]
    return ids


def user_labels(org_id, user_ids) -> dict[int, str]:
    """id -> name of the given people within the organisation: one query, none for no ids.

    People outside the organisation stay unnamed ("User #7"): the page never names them.
    """
    if not user_ids or org_id is None:
        return {}
    people = get_user_model().objects.filter(pk__in=user_ids, membership__organisation_id=org_id).only(
        "id", "username", "first_name", "last_name"
    )
    return {person.pk: display_name(person) for person in people}


def contact_labels(contacts: list[dict]) -> dict:
    return {c.get("id"): c.get("name", "") for c in contacts}


# --- display values ------------------------------------------------------------------------------

def display_sections(sections, content, *, contacts, users) -> list[dict]:
    """Sections with each field's value ready to show (text, or a table's headers and rows)."""
    shown = []
    for section in sections:
        values = (content or {}).get(section["key"]) or {}
        items = []
        for field in section["fields"]:
            value = values.get(field["key"])
            item = {"label": field["label"], "text": "", "headers": None, "rows": None}
            if field.get("type") == "table":
                item["headers"], item["rows"] = table_display(field, value, contacts=contacts, users=users)
            else:
                item["text"] = display_value(field, value, contacts=contacts, users=users)
            items.append(item)
        shown.append({"key": section["key"], "title": section["title"], "help": section.get("help", ""),
                      "items": items})
    return shown


def _minutes(value) -> str:
    return EMPTY if value is None or value == "" else format_minutes(value)


def _score(risk: dict) -> int | str:
    try:
        return LIKELIHOOD_SCORES[risk["likelihood"]] * IMPACT_SCORES[risk["impact"]]
    except (KeyError, TypeError):
        return ""


class _RowUrls:
    """Edit and remove links of a plan's rows, reversed once per kind rather than once per row."""

    def __init__(self, plan_pk: int, kind: str):
        self.edit = self._pattern(f"plans:{kind}_edit", plan_pk)
        self.remove = self._pattern(f"plans:{kind}_delete", plan_pk)

    @staticmethod
    def _pattern(name: str, plan_pk: int) -> tuple[str, str]:
        # The row id is the last parameter of these URLs: reverse with 0, then put each id there.
        head, tail = reverse(name, args=[plan_pk, 0]).rsplit("/0/", 1)
        return head + "/", "/" + tail

    def urls(self, row_id) -> dict[str, str]:
        return {"edit_url": f"{self.edit[0]}{row_id}{self.edit[1]}",
                "remove_url": f"{self.remove[0]}{row_id}{self.remove[1]}"}


def contact_rows(contacts: list[dict], *, plan_pk: int | None = None) -> list[dict]:
    """Contact snapshots as the table shows them (with edit links when `plan_pk` is given)."""
    links = _RowUrls(plan_pk, "contact") if plan_pk is not None else None
    return [{**c, **(links.urls(c.get("id")) if links else {})} for c in contacts]


def process_rows(processes: list[dict], *, plan_pk: int | None = None) -> list[dict]:
    """Process snapshots with durations in human units, the impact's label and the vendors each depends on
    (flagged when a vendor recovers later than the RTO, as the snapshot says)."""
    links = _RowUrls(plan_pk, "process") if plan_pk is not None else None
    return [{
        **p, "rto": _minutes(p.get("rto_minutes")), "rpo": _minutes(p.get("rpo_minutes")),
        "mtpd": _minutes(p.get("mtpd_minutes")),
        "impact": _PROCESS_IMPACT.get(p.get("impact_rating"), p.get("impact_rating") or EMPTY),
        "vendor_rows": [{
            "name": v.get("name", ""), "recovery": _minutes(v.get("recovery_minutes")),
            "gap": recovery_gap(v.get("recovery_minutes"), p.get("rto_minutes")),
        } for v in p.get("vendors") or [] if isinstance(v, dict)],
        **(links.urls(p.get("id")) if links else {}),
    } for p in processes]


def risk_rows(risks: list[dict], *, plan_pk: int | None = None) -> list[dict]:
    """Risk snapshots with the scales' labels and the likelihood x impact score."""
    links = _RowUrls(plan_pk, "risk") if plan_pk is not None else None
    return [{
        **r, "likelihood_label": _LIKELIHOOD.get(r.get("likelihood"), r.get("likelihood") or EMPTY),
        "impact_label": _IMPACT.get(r.get("impact"), r.get("impact") or EMPTY),
        "rating_label": _RATING.get(r.get("rating"), r.get("rating") or EMPTY), "score": _score(r),
        **(links.urls(r.get("id")) if links else {}),
    } for r in risks]


def content_display(sections, content: dict, *, org_id, plan_pk: int | None = None) -> dict[str, Any]:
    """Everything a plan body shows, as display values (one query for people's names, if any).

    `content` is shaped like a version's `content_json`: section values and the snapshots of
    contacts, processes (with their vendors), risks and resources. With `plan_pk`, rows carry their
    edit and remove links.
    """
    contacts = list(content.get("contacts") or [])
    processes = list(content.get("processes") or [])
    risks = list(content.get("risks") or [])
    users = user_labels(org_id, referenced_user_ids(sections, content))
    return {
        "sections": display_sections(sections, content, contacts=contact_labels(contacts), users=users),
        "contacts": contact_rows(contacts, plan_pk=plan_pk),
        "processes": process_rows(processes, plan_pk=plan_pk),
        "risks": risk_rows(risks, plan_pk=plan_pk),
        # A version written before resources were kept has no list at all: "not recorded", not "none".
        "resources_recorded": "resources" in content,
        "resources": resource_rows(list(content.get("resources") or []),
                                   links=_RowUrls(plan_pk, "resource") if plan_pk is not None else None),
        "heatmap": risk_heatmap(risks), "recovery_svg": recovery_chart_svg(processes),
    }


# --- cached fragments of written versions --------------------------------------------------------

def fragment_key(kind: str, *parts) -> str:
    return ":".join(["bcp", "plans", kind, f"f{FRAGMENT_VERSION}", *(str(p) for p in parts)])


def version_identity(version) -> str:
    """What identifies a written version's content in a cache key: its id, plan, number and the
    moment it was written (so an id a database hands out again after a deletion never finds
    the old fragment). No query."""
    written = int(version.authored_at_utc.timestamp() * 1_000_000) if version.authored_at_utc else 0
    return f"{version.pk}-{version.plan_id}-{version.version_number}-{written}"


def template_identity(template) -> str:
    """The layout a fragment was rendered with: the template and its version (a used one is frozen)."""
    return f"t{template.pk}-{template.version}"


# Where the plan page puts the plan's exercises: the end of the section holding the template's
# exercise interval (the cached body is the same for everyone; the exercises are not).
EXERCISES_SLOT = "<!-- bcp:exercises -->"


def exercise_section_key(template) -> str:
    """The section of the template's `exercise_interval` role ("" without one): no query."""
    return (template_roles(template).get("exercise_interval") or "").partition(".")[0]


def body_with_exercises(body: str, exercises_html: str) -> SafeString:
    """The body with the exercises shown in their section, or after the body when no section has the role."""
    if EXERCISES_SLOT in body:
        return mark_safe(body.replace(EXERCISES_SLOT, exercises_html, 1))  # both rendered by our templates
    return mark_safe(body + exercises_html)


def render_body(display: dict[str, Any], *, plan_pk: int, can_edit: bool, exercise_section: str = "") -> SafeString:
    """A plan body (`content_display`'s values) rendered with `plans/includes/plan_body.html`;
    `exercise_section` (a section key) gets the exercises slot."""
    html = render_to_string("plans/includes/plan_body.html", {
        **display, "plan_pk": plan_pk, "can_edit": can_edit, "exercise_section": exercise_section,
        "exercises_slot": mark_safe(EXERCISES_SLOT),
    })
    return mark_safe(html)  # rendered by our template, escaped there


def version_body_html(version, *, org_id, editable: bool = False, template=None,
                      sections: list[dict] | None = None) -> SafeString:
    """The rendered body of a written version (sections, rows, charts), cached.

    `editable`: with the plan page's Edit buttons and row links, for a plan page whose working
    copy is exactly this version (`plans.services.working_copy_differs` says so; the row ids of
    the snapshot are then the live rows'). Keyed by the version and its template
    (`version_identity`, `template_identity`) and the variant: a written version never changes.
    On a cache hit nothing is queried. On a miss the content is read if it was deferred (one
    query), the template's section rows unless `sections` is given, and the names of the people
    the content refers to, if any. `template` defaults to `version.template`.
    """
    template = template if template is not None else version.template
    key = fragment_key("body", version_identity(version), template_identity(template), "edit" if editable else "read")
    html = cache.get(key)
    if html is None:
        sections = sections if sections is not None else template_sections(template)
        display = content_display(sections, version.content_json or {}, org_id=org_id,
                                  plan_pk=version.plan_id if editable else None)
        html = str(render_body(display, plan_pk=version.plan_id, can_edit=editable,
                               exercise_section=exercise_section_key(template)))
        cache.set(key, html, FRAGMENT_SECONDS)
    return mark_safe(html)  # rendered by our template, escaped there
