"""Plan pages: list, create, detail, section editing, contacts/processes/risks/resources, versions and diffs.

Views parse input, call one service, and render or redirect. Access always goes through
`get_plan_for_user` (404 outside the user's organisation, 403 without the permission).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from bcp_site.paging import keyset_page
from templates_app.forms import build_section_form
from templates_app.schema import content_carry_over, template_sections, validate_content
from templates_app.values import display_value

from . import services
from .audit_actions import audit_in_words
from .collaborators import collaborator_refusal, collaborators_panel
from .diff import version_diff, written_diff_html
from .exercises import exercises_panel
from .findings import findings_open, findings_ticked
from .forms import (
    ContactForm,
    EditRevisionForm,
    PlanCreateForm,
    PlanFilterForm,
    ProcessForm,
    ResourceForm,
    RiskForm,
    SearchForm,
    TemplateChangeForm,
    VersionCreateForm,
)
from .hooks import plan_page_context
from .models import Contact, Plan, Process, Resource, Risk
from .panels import changes_panel, files_panel
from .plan_display import body_with_exercises, content_display, exercise_section_key, render_body, version_body_html
from .readiness import plan_readiness
from .resources import resource_delete, resource_save
from .search import MAX_PAGES, search_entries
from .selectors import (
    colleagues_of,
    get_plan_for_user,
    organisation_for,
    organisation_id_for,
    plan_detail_queryset,
    plan_list_queryset,
)
from .services import ServiceError
from .submissions import AlreadySaved, already_saved_redirect, submitted_once
from .vendors import plan_vendor_links, plan_vendor_rows

EDIT_PERM = "plans.change_plan"
PERM_ADD_COLLABORATOR = "plans.add_plancollaborator"
PLANS_PER_PAGE = 25
SEARCH_RESULTS_PER_PAGE = 20
VERSIONS_PER_PAGE = 25
AUDIT_ON_PLAN_PAGE = 10
VERSIONS_ON_PLAN_PAGE = 5


# --- helpers -----------------------------------------------------------------------------

def _current_revision(plan: Plan) -> int:
    return Plan.objects.values_list("edit_revision", flat=True).get(pk=plan.pk)


def _with_revision(data, revision: int):
    """A copy of posted data whose edit_revision is the plan's current one (after a conflict)."""
    data = data.copy()
    data["edit_revision"] = str(revision)
    return data


def _editable_notice(plan: Plan) -> str:
    """Why the plan cannot change now (the edit lock, `services.plan_edit_refusal`), or what saving does."""
    refusal = services.plan_edit_refusal(plan)
    if refusal is not None:
        return refusal.message
    if plan.status == Plan.Status.APPROVED:
        return ("This plan is approved. Saving a change starts a new draft revision; the approved "
                "version stays available until the new one is approved.")
    return ""


# --- list and create ---------------------------------------------------------------------

@login_required
def plan_list(request):
    """The organisation's plans, most recently updated first, "Newer" / "Older" pages (no total count)."""
    org_id = organisation_id_for(request.user)
    filter_form = PlanFilterForm(request.GET or None, org_id=org_id)
    filters = filter_form.filters()
    plans = plan_list_queryset(org_id, **filters) if filters is not None else Plan.objects.none()
    page = keyset_page(request, plans, keys=("updated_at", "id"), per_page=PLANS_PER_PAGE)
    return render(request, "plans/plan_list.html", {
        "filter_form": filter_form, "search_form": SearchForm(), "page": page, "plans": page.object_list,
        "filtered": filters is None or any(filters.values()), "today": timezone.localdate(),
    })


@login_required
@require_GET
def search(request):
    """Words found in the organisation's plans (`plans.search`): where, the text around them, a link.

    Pages of SEARCH_RESULTS_PER_PAGE, best match first, "Previous" / "Next" (no total count); a page
    number that does not parse is the first page. Queries: the membership and one search.
    """
    form = SearchForm(request.GET or None)
    results = None
    if form.is_valid() and form.cleaned_data["q"].strip():
        raw = request.GET.get("page", "")
        number = int(raw) if re.fullmatch(r"[0-9]{1,3}", raw) else 1
        results = search_entries(organisation_id_for(request.user), form.cleaned_data["q"],
                                 page=min(max(number, 1), MAX_PAGES), per_page=SEARCH_RESULTS_PER_PAGE)
    return render(request, "plans/search.html", {
        "form": form, "results": results,
        "first_number": (results.number - 1) * SEARCH_RESULTS_PER_PAGE + 1 if results else 1,
    }, status=400 if form.errors else 200)


@login_required
@permission_required("plans.add_plan", raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_create(request):
    organisation = organisation_for(request.user)
    if organisation is None:
        raise PermissionDenied("You are not a member of an organisation, so you cannot create plans.")
    if request.method == "POST":
        form = PlanCreateForm(request.POST, org_id=organisation.pk)
        if form.is_valid():
            try:
                with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                    plan = services.plan_create(
                        organisation=organisation, template=form.cleaned_data["template"],
                        title=form.cleaned_data["title"], owner=form.cleaned_data["owner"], actor=request.user,
                    )
                    submission.result_url = plan.get_absolute_url()
            except AlreadySaved as saved:  # a double click or a reload: the plan of the first POST
                return already_saved_redirect(request, saved)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Plan “{plan.title}” created with version 1 from its template.")
                return redirect(plan)
    else:
        form = PlanCreateForm(org_id=organisation.pk, initial={"owner": request.user})
    return render(request, "plans/plan_create.html", {"form": form})


# --- plan page ---------------------------------------------------------------------------

@login_required
def plan_detail(request, pk):
    """The working copy with its live rows, and the panels of other features.

    Display values, edit links and the panels' answers are computed here; the template and its
    tags run no query. People are named only when the content refers to them (one query). The
    working copy is rendered afresh while it differs from the active version; when it is exactly
    that version, the version's cached body is shown (a written version never changes).
    """
    plan = get_plan_for_user(request.user, pk, queryset=plan_detail_queryset())
    sections = template_sections(plan.template)
    links = plan_vendor_links(plan)  # the processes' vendors, for the snapshot and the vendors panel
    working = services.working_copy_content(plan, vendor_links=links)
    active = plan.current_version
    today = timezone.localdate()
    unsaved = services.working_copy_differs(plan, active=active, content=working)
    versions = list(
        plan.versions.select_related("authored_by_user").defer("content_json").order_by("-version_number")
        [:VERSIONS_ON_PLAN_PAGE + 1]
    )
    audit = list(plan.audit_entries.select_related("actor_user").order_by("-at_utc", "-id")[:AUDIT_ON_PLAN_PAGE])
    audit_in_words(audit)
    may_edit = request.user.has_perm(EDIT_PERM)
    # Edit controls only when the role allows it and the edit lock does not hold.
    can_edit = may_edit and services.plan_edit_refusal(plan) is None
    if unsaved:
        display = content_display(sections, working, org_id=plan.org_id, plan_pk=plan.pk if can_edit else None)
        body = render_body(display, plan_pk=plan.pk, can_edit=can_edit,
                           exercise_section=exercise_section_key(plan.template))
    else:
        # The working copy is exactly the active version (same template too): show that written
        # version's body, rendered once and cached, with the edit links when they apply.
        body = version_body_html(active, org_id=plan.org_id, editable=can_edit, template=plan.template,
                                 sections=sections)
    # The plan's exercises, in the section of the template's exercise interval (not part of any version).
    exercises = exercises_panel(plan, request.user)
    body = body_with_exercises(body, render_to_string("plans/exercises/includes/plan_exercises.html",
                                                      {"plan": plan, "panel": exercises}))
    return render(request, "plans/plan_detail.html", {
        "plan": plan, "body": body, "toc": sections,
        "unsaved": unsaved, "active": active,
        "versions": versions[:VERSIONS_ON_PLAN_PAGE], "more_versions": len(versions) > VERSIONS_ON_PLAN_PAGE,
        "audit": audit,
        "may_edit": may_edit, "can_edit": can_edit,
        "editable_notice": _editable_notice(plan),
        # What a review needs, checked on the working copy (no query: content, sections and vendors are here).
        "readiness": plan_readiness(plan, content=working, sections=sections, today=today,
                                    evidence={link.vendor_id: link.vendor.evidence_on for link in links})
        if can_edit else None,
        "vendor_rows": plan_vendor_rows(working["processes"], links, today=today),
        "collaborators": collaborators_panel(plan, sections=sections),
        "can_manage_collaborators": request.user.has_perm(PERM_ADD_COLLABORATOR) and collaborator_refusal(plan) is None,
        "files_panel": files_panel(plan, request.user), "changes_panel": changes_panel(plan),
        "exercises_panel": exercises,
        "today": today,
        **plan_page_context(request=request, plan=plan),  # the workflow and acknowledgement panels (reviews)
    })


# --- section editing -----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def section_edit(request, pk, section_key):
    plan = get_plan_for_user(request.user, pk, perm=EDIT_PERM, queryset=plan_detail_queryset())
    section = next((s for s in template_sections(plan.template) if s["key"] == section_key), None)
    if section is None:
        raise Http404("This plan's template has no such section.")
    initial = (plan.draft_content_json or {}).get(section_key) or {}
    if request.method == "POST":
        form = build_section_form(section, plan=plan, data=request.POST, initial=initial)
        revision_form = EditRevisionForm(request.POST)
        if getattr(form, "wants_more_rows", False):
            # "Add a row" on a table field: show the form again with the extra row, save nothing.
            return _render_section(request, plan, section, form, revision_form)
        if not revision_form.is_valid():
            raise BadRequest("The form was incomplete: open it again from the plan page.")
        if form.is_valid():
            try:
                services.plan_section_update(
                    plan=plan, section_key=section_key, values=form.section_values(), actor=request.user,
                    expected_revision=revision_form.cleaned_data["edit_revision"],
                )
            except ServiceError as error:
                form.add_error(None, error.message)
                if error.code == "conflict":
                    revision_form = EditRevisionForm(initial={"edit_revision": _current_revision(plan)})
            else:
                messages.success(request, f"“{section['title']}” saved in the working copy.")
                return redirect(reverse("plans:plan_detail", args=[plan.pk]) + f"#section-{section_key}")
    else:
        form = build_section_form(section, plan=plan, initial=initial)
        revision_form = EditRevisionForm(initial={"edit_revision": plan.edit_revision})
    return _render_section(request, plan, section, form, revision_form)


def _render_section(request, plan, section, form, revision_form):
    return render(request, "plans/section_edit.html", {
        "plan": plan, "section": section, "form": form, "revision_form": revision_form,
        "editable_notice": _editable_notice(plan),
    })


# --- contacts, processes, risks, resources ---------------------------------------------------

ROWS = {
    "contact": {"model": Contact, "form": ContactForm, "save": services.contact_save,
                "delete": services.contact_delete, "id_kw": "contact_id", "anchor": "contacts",
                "title": "contact", "label": "name"},
    "process": {"model": Process, "form": ProcessForm, "save": services.process_save,
                "delete": services.process_delete, "id_kw": "process_id", "anchor": "processes",
                "title": "critical process", "label": "name"},
    "risk": {"model": Risk, "form": RiskForm, "save": services.risk_save,
             "delete": services.risk_delete, "id_kw": "risk_id", "anchor": "risks",
             "title": "risk", "label": "threat"},
    "resource": {"model": Resource, "form": ResourceForm, "save": resource_save,
                 "delete": resource_delete, "id_kw": "resource_id", "anchor": "resources",
                 "title": "resource", "label": "name"},
}


def _row_form(kind, request, plan, *, data=None, instance=None, initial=None):
    kwargs = {"data": data, "instance": instance, "initial": initial}
    if kind == "risk":
        kwargs["members"] = colleagues_of(request.user)
    elif kind == "process":
        kwargs["org_id"] = plan.org_id  # the organisation's vendors are offered
    elif kind == "resource":
        kwargs["plan"] = plan  # the plan's processes are offered
    return ROWS[kind]["form"](**kwargs)


@login_required
@require_http_methods(["GET", "POST"])
def row_edit(request, pk, kind, row_id=None):
    """Add (`row_id` None) or change a contact, process, risk or resource of the plan."""
    spec = ROWS[kind]
    plan = get_plan_for_user(request.user, pk, perm=EDIT_PERM)
    instance = get_object_or_404(spec["model"], plan=plan, pk=row_id) if row_id is not None else None
    if request.method == "POST":
        form = _row_form(kind, request, plan, data=request.POST, instance=instance)
        if form.is_valid():
            values = form.service_values() if hasattr(form, "service_values") else {
                f: form.cleaned_data.get(f) for f in form.Meta.fields
            }
            try:
                row = spec["save"](plan=plan, actor=request.user, values=values,
                                   expected_revision=form.cleaned_data["edit_revision"],
                                   **{spec["id_kw"]: row_id})
            except ServiceError as error:
                if error.code == "conflict":
                    form = _row_form(kind, request, plan,
                                     data=_with_revision(request.POST, _current_revision(plan)), instance=instance)
                    form.is_valid()
                form.add_error(None, error.message)
            else:
                verb = "added" if row_id is None else "saved"
                messages.success(request, f"{spec['title'].capitalize()} “{getattr(row, spec['label'])}” {verb}.")
                return redirect(reverse("plans:plan_detail", args=[plan.pk]) + f"#{spec['anchor']}")
    else:
        form = _row_form(kind, request, plan, instance=instance, initial={"edit_revision": plan.edit_revision})
    return render(request, "plans/row_edit.html", {
        "plan": plan, "form": form, "kind": kind, "spec": spec, "row": instance,
        "editable_notice": _editable_notice(plan),
    })


@login_required
@require_http_methods(["GET", "POST"])
def row_delete(request, pk, kind, row_id):
    """Confirm (GET) and remove (POST) a contact, process, risk or resource."""
    spec = ROWS[kind]
    plan = get_plan_for_user(request.user, pk, perm=EDIT_PERM)
    row = get_object_or_404(spec["model"], plan=plan, pk=row_id)
    if request.method == "POST":
        form = EditRevisionForm(request.POST)
        if form.is_valid():
            try:
                spec["delete"](plan=plan, actor=request.user, expected_revision=form.cleaned_data["edit_revision"],
                               **{spec["id_kw"]: row_id})
            except ServiceError as error:
                if error.code == "conflict":
                    form = EditRevisionForm(_with_revision(request.POST, _current_revision(plan)))
                    form.is_valid()
                form.add_error(None, error.message)
            else:
                messages.success(request, f"{spec['title'].capitalize()} “{getattr(row, spec['label'])}” removed.")
                return redirect(reverse("plans:plan_detail", args=[plan.pk]) + f"#{spec['anchor']}")
    else:
        form = EditRevisionForm(initial={"edit_revision": plan.edit_revision})
    return render(request, "plans/row_delete.html", {
        "plan": plan, "form": form, "kind": kind, "spec": spec, "row": row, "label": getattr(row, spec["label"]),
    })


# --- versions ----------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def version_create(request, pk):
    plan = get_plan_for_user(request.user, pk, perm=EDIT_PERM, queryset=plan_detail_queryset())
    problems: list[str] = []
    # The plan's open findings are offered as ticks; those the active version addresses are ticked already.
    offered = findings_open(plan)
    if not offered.exists():
        offered = None  # no findings to tick: the form leaves the field out
    if request.method == "POST":
        form = VersionCreateForm(request.POST, open_findings=offered)
        if form.is_valid():
            try:
                with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                    version = services.revision_save(
                        plan=plan, actor=request.user, note=form.cleaned_data["note"],
                        expected_revision=form.cleaned_data["edit_revision"],
                        findings=form.cleaned_data.get("findings") or [],
                    )
                    submission.result_url = version.get_absolute_url()
            except AlreadySaved as saved:  # a double click or a reload: the version of the first POST
                return already_saved_redirect(request, saved)
            except ServiceError as error:
                problems = error.problems
                if error.code == "conflict":
                    form = VersionCreateForm(_with_revision(request.POST, _current_revision(plan)),
                                             open_findings=offered)
                    form.is_valid()
                form.add_error(None, error.message if not problems else
                               "The plan cannot be saved as a revision until the problems listed are fixed.")
            else:
                messages.success(request, f"Version {version.version_number} saved.")
                return redirect(version)
    else:
        ticked = []
        if offered is not None and plan.current_version is not None:
            ticked = list(findings_ticked(plan.current_version).values_list("pk", flat=True))
        form = VersionCreateForm(initial={"edit_revision": plan.edit_revision, "findings": ticked},
                                 open_findings=offered)
        problems = validate_content(plan.template, plan.draft_content_json or {})
    sections = template_sections(plan.template)
    active = plan.current_version
    diff = version_diff(plan.template, active.content_json if active else {}, services.working_copy_content(plan),
                        sections=sections, org_id=plan.org_id)
    return render(request, "plans/version_create.html", {
        "plan": plan, "form": form, "problems": problems, "diff": diff, "active": active,
        "section_keys": {s["title"]: s["key"] for s in sections},
        "editable_notice": _editable_notice(plan),
    })


@login_required
def version_list(request, pk):
    """A plan's versions, newest first, paged by keyset on the version number (unique per plan).

    Queries: the plan, the latest version number (for the compare form's defaults), one page.
    """
    plan = get_plan_for_user(request.user, pk)
    latest = plan.versions.order_by("-version_number").values_list("version_number", flat=True).first()
    versions = plan.versions.select_related("authored_by_user").defer("content_json")
    page = keyset_page(request, versions, keys=("version_number",), per_page=VERSIONS_PER_PAGE)
    return render(request, "plans/version_list.html", {
        "plan": plan, "page": page, "versions": page.object_list, "latest": latest,
        "previous": max((latest or 1) - 1, 1),
    })


@login_required
def version_detail(request, pk, number):
    """One version, rendered only from its content_json (plus the template's structure).

    The body is cached (`plans.plan_display.version_body_html`): on a cache hit the version's
    content is not even read.
    """
    # Neither the working copy nor the active version's content is shown here: not read.
    plan = get_plan_for_user(request.user, pk, queryset=Plan.objects.defer("draft_content_json"))
    version = get_object_or_404(
        plan.versions.select_related("authored_by_user", "template").defer("content_json"), version_number=number
    )
    return render(request, "plans/version_detail.html", {
        "plan": plan, "version": version,
        # Laid out with the template version it was written with (decision 8); exercises are the plan's.
        "body": body_with_exercises(version_body_html(version, org_id=plan.org_id), ""),
        "is_approved": plan.approved_version_id == version.pk,
    })


WORKING_COPY = "working"


@login_required
def version_compare(request, pk):
    """The differences between two versions (`?old=1&new=2`; `new=working` is the unsaved working copy).

    Between two written versions the rendered differences are cached (`plans.diff.written_diff_html`)
    and no content is read on a cache hit; the working copy is compared afresh every time.
    """
    plan = get_plan_for_user(request.user, pk, queryset=Plan.objects.select_related("template")
                             .defer("draft_content_json"))
    numbers = list(plan.versions.order_by("-version_number").values_list("version_number", flat=True))
    if not numbers:
        raise Http404("This plan has no versions yet.")
    new_raw = request.GET.get("new") or str(numbers[0])
    try:
        new_number = None if new_raw == WORKING_COPY else int(new_raw)
        default_old = numbers[0] if new_number is None else max(new_number - 1, 1)
        old_number = int(request.GET.get("old") or default_old)
    except ValueError:
        return render(request, "error.html", {"status": 400, "title": "Bad request",
                                              "message": "Choose two versions from the lists."}, status=400)
    wanted = {old_number} | ({new_number} if new_number is not None else set())
    # Contents are read only when the differences are not cached (two written versions) or
    # the working copy is compared.
    found = {v.version_number: v for v in plan.versions.select_related("template").defer("content_json")
             .filter(version_number__in=wanted)}
    if wanted - set(found):
        raise Http404("This plan has no version with that number.")
    old = found[old_number]
    if new_number is None:
        # The editable working copy: compared afresh every time, never cached.
        new = None
        diff_html = render_to_string("plans/includes/version_diff.html", {"diff": version_diff(
            plan.template, old.content_json, services.working_copy_content(plan), org_id=plan.org_id,
        )})
    else:
        # Laid out with the newer side's template version.
        new = found[new_number]
        diff_html = written_diff_html(old=old, new=new, org_id=plan.org_id)
    return render(request, "plans/version_compare.html", {
        "plan": plan, "old": old, "new": new, "diff_html": diff_html, "numbers": numbers,
        "old_number": old_number, "new_value": WORKING_COPY if new is None else str(new_number),
        "working": WORKING_COPY,
    })

# --- moving to another template version -------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def template_change(request, pk):
    """Move the working copy to another version of the plan's template (decision 7).

    First POST: a preview listing the values whose field the chosen version lacks. Second
    POST (confirm): the move. Versions already saved keep the template they were written with.
    """
    plan = get_plan_for_user(request.user, pk, perm=EDIT_PERM, queryset=plan_detail_queryset())
    choices = services.template_versions_for(plan)
    form = TemplateChangeForm(request.POST or None, choices=choices,
                              initial={"edit_revision": plan.edit_revision})
    preview = None
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["template"]
        if form.cleaned_data["confirm"]:
            try:
                services.plan_template_change(plan=plan, actor=request.user, template=chosen,
                                              expected_revision=form.cleaned_data["edit_revision"])
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"The working copy now uses “{chosen}”. Save a revision to record it.")
                return redirect(plan)
        else:
            _, dropped = content_carry_over(template_sections(plan.template), template_sections(chosen),
                                            plan.draft_content_json or {})
            preview = {"template": chosen, "dropped": [
                {**d, "text": display_value(d["field_def"], d["value"])} for d in dropped
            ]}
    return render(request, "plans/template_change.html", {
        "plan": plan, "form": form, "preview": preview, "has_choices": choices.exists(),
        "editable_notice": _editable_notice(plan),
    }, status=400 if form.errors else 200)
