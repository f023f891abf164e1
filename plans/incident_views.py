"""Incident pages: the list, declaring, the activation page built for a crisis, the timeline, recovery of the
affected processes, stand-down, the post-incident review and its findings, the post-incident report, and
the break-glass pack downloads of an approved version.

Views parse input, call one service (`plans.incidents`, `plans.findings`, `plans.exports.breakglass`) and
render or redirect. Access goes through `get_incident_for_user`: 404 outside the user's organisation,
403 when the role does not allow the change. The activation page costs a fixed number of queries
whatever the size of the plans, the timeline or the recoveries (`incident_page`).
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from bcp_site.errors import error_html
from bcp_site.paging import keyset_page
from templates_app.schema import template_sections

from . import incidents as services
from .exports.breakglass import (
    CONTENT_TYPES,
    FORMATS,
    LABELS,
    breakglass_download,
    breakglass_filename,
    breakglass_refusal,
    breakglass_request,
)
from .exports.incident_report import (
    incident_report_enqueue,
    incident_report_filename,
    incident_report_read,
    incident_report_state,
)
from .exports.pending import WORKER_GRACE
from .findings import incident_finding_raise
from .incident_display import people_named, process_statuses, version_response, version_user_ids
from .incident_forms import (
    ActivateForm,
    EventForm,
    IncidentFindingForm,
    IncidentForm,
    RecoveryForm,
    ReviewForm,
    StandDownForm,
    activatable_plans,
)
from .models import Finding, Incident, IncidentRecovery, Plan
from .selectors import get_plan_for_user, organisation_for
from .services import ServiceError
from .submissions import AlreadySaved, already_saved_redirect, submitted_once

PERM_ADD_FINDING = "plans.add_finding"
INCIDENTS_PER_PAGE = 25
ACTIVE_ON_LIST = 50
TIMELINE_ON_PAGE = 50
TIMELINE_PER_PAGE = 100
PREPARING_REFRESH_SECONDS = 3
STUCK_REFRESH_SECONDS = 15
AUTO_REFRESH_SECONDS = 30
INCIDENT_LIST_COLUMNS = ("id", "org_id", "title", "severity", "status", "declared_at_utc", "stood_down_at_utc",
                         "closed_at_utc")


def get_incident_for_user(user, incident_id, *, perm: str | None = None) -> Incident:
    """The incident if the user's organisation owns it (else 404); 403 without `perm`.

    One query (with the people it names), plus the permission lookup cached per request.
    """
    try:
        incident = (services.incidents_visible_to(user)
                    .select_related("org", "declared_by_user", "stood_down_by_user", "closed_by_user")
                    .get(pk=incident_id))
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404("No incident with that number exists in your organisation.") from None
    if perm and not user.has_perm(perm):
        raise PermissionDenied("Your role does not allow this action on incidents.")
    return incident


def _refused(request, incident: Incident, error: ServiceError, anchor: str = "") -> HttpResponseRedirect:
    messages.error(request, error_html(error))
    return redirect(incident.get_absolute_url() + anchor)


# --- the list and declaring ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def incident_list(request):
    """Active incidents first, then every incident of the organisation, newest first (keyset pages).

    Queries: the organisation, the active ones, one page, and the user's permissions.
    """
    org = organisation_for(request.user)
    rows = Incident.objects.filter(org_id=org.pk if org else None).only(*INCIDENT_LIST_COLUMNS)
    active = list(rows.filter(status=Incident.Status.ACTIVE).order_by("-id")[:ACTIVE_ON_LIST])
    page = keyset_page(request, rows, keys=("id",), per_page=INCIDENTS_PER_PAGE)
    return render(request, "plans/incidents/list.html", {
        "active": active, "page": page, "incidents": page.object_list,
        "can_declare": org is not None and request.user.has_perm(services.PERM_DECLARE),
    })


@login_required
@require_http_methods(["GET", "POST"])
def incident_create(request):
    """Declare an incident, and activate a plan at once if one is chosen (editors and BCP Admins)."""
    if not request.user.has_perm(services.PERM_DECLARE):
        raise PermissionDenied("Your role does not allow declaring incidents.")
    org = organisation_for(request.user)
    if org is None:
        raise Http404("You belong to no organisation.")
    form = IncidentForm(request.POST or None, org_id=org.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with submitted_once(user=request.user, token=data["submission_token"]) as submission:
                incident = services.incident_declare(
                    organisation=org, actor=request.user, title=data["title"], severity=data["severity"],
                    description=data["description"], plans=[data["plan"]] if data["plan"] else [],
                )
                submission.result_url = incident.get_absolute_url()
        except AlreadySaved as saved:  # a double click or a reload: the incident of the first POST
            return already_saved_redirect(request, saved)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Incident “{incident.title}” declared.")
            return redirect(incident)
    return render(request, "plans/incidents/form.html", {"form": form}, status=400 if form.errors else 200)


# --- the activation page --------------------------------------------------------------------------------


def incident_page(incident: Incident, user, *, now=None) -> dict:
    """Everything the activation page shows. A fixed number of queries whatever the data's size:

    the activations (with plan, version and template), the templates' section rows, the recovery rows,
    the people the versions name, the newest timeline entries (with their authors), and, depending on
    the incident's status: the plans left to activate, the findings, the report; plus the user's
    permissions (cached per request).
    """
    now = now or timezone.now()
    activations = list(
        incident.activations.select_related("plan", "version__template", "activated_by_user")
        .defer("plan__draft_content_json").prefetch_related("version__template__section_definitions")
        .order_by("activated_at_utc", "id")
    )
    recoveries: dict[int, list[IncidentRecovery]] = {}
    if activations:
        for row in IncidentRecovery.objects.filter(activation__incident=incident).order_by("id"):
            recoveries.setdefault(row.activation_id, []).append(row)
    sections = {a.pk: template_sections(a.version.template) for a in activations}
    people = people_named(incident.org_id, set().union(*(version_user_ids(a.version, sections[a.pk])
                                                          for a in activations)))
    blocks = []
    for activation in activations:
        response = version_response(activation.version, sections=sections[activation.pk], people=people)
        blocks.append({
            "activation": activation, "plan": activation.plan, "version": activation.version,
            "response": response,
            "statuses": process_statuses(response.processes, recoveries.get(activation.pk, []), now=now),
        })
    events = list(incident.events.select_related("author_user").order_by("-at_utc", "-id")[:TIMELINE_ON_PAGE + 1])
    active = incident.status == Incident.Status.ACTIVE
    open_ = incident.status != Incident.Status.CLOSED
    may_stand_down = services.may_stand_down(incident, user)
    activate_form = None
    if active and user.has_perm(services.PERM_ACTIVATE):
        plans_left = list(activatable_plans(incident.org_id).exclude(pk__in=[a.plan_id for a in activations]))
        activate_form = ActivateForm(plans=plans_left)
    findings = None
    if not active:
        findings = list(Finding.objects.filter(incident=incident).select_related("owner_user", "plan")
                        .only("id", "plan_id", "plan__id", "plan__title", "description", "severity", "status",
                              "due_on", "owner_user__id", "owner_user__username", "owner_user__first_name",
                              "owner_user__last_name").order_by("id"))
    return {
        "incident": incident, "blocks": blocks, "now": now,
        "events": events[:TIMELINE_ON_PAGE], "more_events": len(events) > TIMELINE_ON_PAGE,
        "event_form": EventForm() if open_ and user.has_perm(services.PERM_TIMELINE) else None,
        "can_recover": open_ and user.has_perm(services.PERM_RECOVERY),
        "can_disrupt": active and user.has_perm(services.PERM_RECOVERY),
        "activate_form": activate_form,
        "can_stand_down": active and may_stand_down,
        "can_review": incident.status == Incident.Status.STOOD_DOWN and may_stand_down,
        "can_raise": (incident.status == Incident.Status.STOOD_DOWN and bool(activations)
                      and user.has_perm(PERM_ADD_FINDING)),
        "findings": findings,
        "report": incident_report_state(incident) if incident.status == Incident.Status.CLOSED else None,
        "refresh_seconds": AUTO_REFRESH_SECONDS if open_ else None,
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def incident_detail(request, incident_id):
    """The activation page: one page for a phone in a crisis (see `incident_page`). Works without JavaScript:
    reload to refresh; a small script (static/js/incident-refresh.js) reloads it every 30 s while nobody types."""
    incident = get_incident_for_user(request.user, incident_id)
    response = render(request, "plans/incidents/detail.html", incident_page(incident, request.user))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def incident_activate(request, incident_id):
    """Activate one more plan (editors and BCP Admins), at the version in force now."""
    incident = get_incident_for_user(request.user, incident_id, perm=services.PERM_ACTIVATE)
    form = ActivateForm(request.POST, plans=activatable_plans(incident.org_id))
    if not form.is_valid():
        return _refused(request, incident, ServiceError("Choose a plan of your organisation to activate."))
    try:
        activation = services.incident_plan_activate(incident=incident, plan=form.chosen_plan(), actor=request.user)
    except ServiceError as error:
        return _refused(request, incident, error)
    warning = "" if activation.version_approved else " It has no approved version: its newest version is shown, " \
                                                     "marked NOT APPROVED."
    messages.success(request, f"“{activation.plan.title}” activated.{warning}")
    return redirect(activation.get_absolute_url())


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_timeline(request, incident_id):
    """GET: the whole timeline, newest first, pages of TIMELINE_PER_PAGE. POST: the one-line form adds an entry
    (every member but auditors); nothing here, or anywhere, changes or deletes one."""
    incident = get_incident_for_user(request.user, incident_id,
                                     perm=services.PERM_TIMELINE if request.method == "POST" else None)
    if request.method == "POST":
        form = EventForm(request.POST)
        if not form.is_valid():
            return _refused(request, incident, ServiceError("Write the entry (and choose its kind).",
                                                            code="invalid"), "#timeline")
        try:
            with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                services.incident_event_add(incident=incident, actor=request.user, kind=form.cleaned_data["kind"],
                                            text=form.cleaned_data["text"])
                submission.result_url = incident.get_absolute_url() + "#timeline"
        except AlreadySaved as saved:
            return already_saved_redirect(request, saved)
        except ServiceError as error:
            return _refused(request, incident, error, "#timeline")
        return redirect(incident.get_absolute_url() + "#timeline")
    rows = incident.events.select_related("author_user")
    page = keyset_page(request, rows, keys=("at_utc", "id"), per_page=TIMELINE_PER_PAGE)
    return render(request, "plans/incidents/timeline.html", {"incident": incident, "page": page,
                                                             "events": page.object_list})


@login_required
@require_POST
def incident_recovery(request, incident_id):
    """Record that a process of an activated version is disrupted since, or recovered at, a time (blank: now)."""
    incident = get_incident_for_user(request.user, incident_id, perm=services.PERM_RECOVERY)
    form = RecoveryForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return _refused(request, incident, ServiceError(f"Nothing was recorded: {problems}", code="invalid"),
                        "#processes")
    data = form.cleaned_data
    action = (services.incident_process_disrupted if data["action"] == RecoveryForm.DISRUPTED
              else services.incident_process_recovered)
    try:
        row = action(incident=incident, activation_id=data["activation"], process_ref=data["process"],
                     actor=request.user, at=data["at"], notes=data["notes"])
    except ServiceError as error:
        return _refused(request, incident, error, "#processes")
    said = "recovered" if row.recovered_at_utc else "disrupted"
    messages.success(request, f"“{row.process_name}” recorded as {said}.")
    return redirect(incident.get_absolute_url() + f"#process-{data['activation']}-{data['process']}")


@login_required
@require_http_methods(["GET", "POST"])
def incident_stand_down(request, incident_id):
    """GET: confirm; POST: stand the incident down (the declarer or a BCP Admin)."""
    incident = get_incident_for_user(request.user, incident_id)
    if not services.may_stand_down(incident, request.user):
        raise PermissionDenied("Only the person who declared this incident or a BCP Admin may stand it down.")
    form = StandDownForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.incident_stand_down(incident=incident, actor=request.user, note=form.cleaned_data["note"])
        except ServiceError as error:
            return _refused(request, incident, error)
        messages.success(request, f"“{incident.title}” stood down. Write the post-incident review next.")
        return redirect("incidents:incident_review", incident.pk)
    not_recovered = IncidentRecovery.objects.filter(activation__incident=incident, recovered_at_utc=None).count()
    return render(request, "plans/incidents/stand_down.html", {
        "incident": incident, "form": form, "not_recovered": not_recovered,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def incident_review(request, incident_id):
    """The post-incident review of a stood-down incident (the declarer or a BCP Admin), and closing it."""
    incident = get_incident_for_user(request.user, incident_id)
    if not services.may_stand_down(incident, request.user):
        raise PermissionDenied("Only the person who declared this incident or a BCP Admin may write its review.")
    form = ReviewForm(request.POST or None, initial={"summary": incident.review_summary})
    if request.method == "POST" and form.is_valid():
        try:
            services.incident_review_save(incident=incident, actor=request.user,
                                          summary=form.cleaned_data["summary"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Review saved.")
            return redirect(incident.get_absolute_url() + "#review")
    return render(request, "plans/incidents/review.html", {
        "incident": incident, "form": form,
        "editable": incident.status == Incident.Status.STOOD_DOWN,
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def incident_close(request, incident_id):
    """Close a stood-down incident whose review is written; its report is rendered by a task."""
    incident = get_incident_for_user(request.user, incident_id)
    try:
        services.incident_close(incident=incident, actor=request.user)
    except ServiceError as error:
        return _refused(request, incident, error, "#review")
    messages.success(request, f"“{incident.title}” closed: its post-incident report is being prepared.")
    return redirect(incident.get_absolute_url() + "#review")


@login_required
@require_http_methods(["GET", "POST"])
def incident_finding_create(request, incident_id):
    """Raise a finding from the post-incident review (editors), against a plan the incident activated."""
    incident = get_incident_for_user(request.user, incident_id, perm=PERM_ADD_FINDING)
    plans = Plan.objects.filter(incident_activations__incident=incident).only("id", "title", "org_id").order_by(
        "title", "id")
    form = IncidentFindingForm(request.POST or None, org_id=incident.org_id, plans=plans,
                               initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with submitted_once(user=request.user, token=data["submission_token"]) as submission:
                finding = incident_finding_raise(
                    incident=incident, plan=data["plan"], actor=request.user, description=data["description"],
                    severity=data["severity"], owner=data["owner"], due_on=data["due_on"],
                )
                submission.result_url = incident.get_absolute_url() + "#review"
        except AlreadySaved as saved:
            return already_saved_redirect(request, saved)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Finding “{finding}” raised.")
            return redirect(incident.get_absolute_url() + "#review")
    return render(request, "plans/incidents/finding_form.html", {"incident": incident, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_report(request, incident_id):
    """The post-incident report PDF: the issued file (hash checked), or "being prepared" until the task issued
    it. POST is the page's "Try again"."""
    incident = get_incident_for_user(request.user, incident_id)
    if incident.status != Incident.Status.CLOSED:
        messages.error(request, "This incident has no report yet: it is issued once the incident is closed.")
        return redirect(incident)
    state = incident_report_state(incident)
    if request.method == "POST":
        if state.can_retry:
            incident_report_enqueue(incident_id=incident.pk, retry=True)
        return redirect(request.path)
    if state.issued is None:
        refresh = None if state.failed else STUCK_REFRESH_SECONDS if state.stuck else PREPARING_REFRESH_SECONDS
        response = render(request, "plans/incidents/preparing.html", {
            "incident": incident, "state": state, "refresh": refresh,
            "worker_grace_seconds": int(WORKER_GRACE.total_seconds()),
        }, status=202)
        response["Cache-Control"] = "no-store"
        return response
    try:
        data = incident_report_read(issued=state.issued, incident=incident, actor=request.user)
    except ServiceError as error:
        return render(request, "error.html", {"status": 409, "title": "This file cannot be served",
                                              "message": error.message}, status=409)
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=incident_report_filename(incident),
                            content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{state.issued.sha256}"'
    response["Cache-Control"] = "private, no-cache"
    return response


# --- the break-glass pack of a version -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def breakglass(request, pk, number, fmt):
    """The break-glass pack of an approved version (every member): the issued file, each download audited; or
    "being prepared" until a task issued it. POST is the page's "Try again"."""
    if fmt not in FORMATS:
        raise Http404("Break-glass packs are offline HTML or PDF.")
    plan = get_plan_for_user(request.user, pk, queryset=Plan.objects.defer("draft_content_json"))
    version = get_object_or_404(plan.versions.defer("content_json"), version_number=number)
    version.plan = plan
    refusal = breakglass_refusal(version)
    if refusal is not None:
        raise Http404(refusal.message)
    if request.method == "POST":
        breakglass_request(version=version, fmt=fmt, actor=request.user, retry=True)
        return redirect(request.path)
    state = breakglass_request(version=version, fmt=fmt, actor=request.user)
    if state.issued is None:
        refresh = None if state.failed else STUCK_REFRESH_SECONDS if state.stuck else PREPARING_REFRESH_SECONDS
        response = render(request, "plans/exports/preparing.html", {
            "plan": plan, "version": version, "kind": fmt, "kind_label": f"break-glass pack ({LABELS[fmt]})",
            "state": state, "refresh": refresh, "worker_grace_seconds": int(WORKER_GRACE.total_seconds()),
        }, status=202)
        response["Cache-Control"] = "no-store"
        return response
    try:
        data = breakglass_download(issued=state.issued, version=version, actor=request.user)
    except ServiceError as error:
        return render(request, "error.html", {"status": 409, "title": "This file cannot be served",
                                              "message": error.message}, status=409)
    response = FileResponse(io.BytesIO(data), as_attachment=True, content_type=CONTENT_TYPES[fmt],
                            filename=breakglass_filename(version, fmt, plan_title=plan.title))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"  # each download is audited: never answered from a cache
    return response
