"""Exercise and finding pages: plan an exercise, hold it, record its results, report, raise and close findings.

Views parse input, call one service (`plans.exercises`, `plans.findings`) and render or redirect.
Access goes through `get_exercise_for_user` / `get_finding_for_user`: 404 outside the user's
organisation (and for another plan's exercise), 403 when the role does not allow the change.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from bcp_site.errors import error_html
from bcp_site.paging import keyset_page

from . import exercises as exercise_services
from . import findings as finding_services
from .exercise_forms import (
    AcceptRiskForm,
    ExerciseCreateForm,
    ExerciseForm,
    FindingCreateForm,
    FindingEditForm,
    HoldForm,
    ResultsForm,
)
from .exports import exercise_report_enqueue, exercise_report_read, exercise_report_state, report_filename
from .exports.pending import WORKER_GRACE
from .models import Exercise, Finding, Plan
from .selectors import get_plan_for_user
from .services import ServiceError
from .submissions import AlreadySaved, already_saved_redirect, submitted_once

PERM_ADD_EXERCISE = "plans.add_exercise"
PERM_CHANGE_EXERCISE = "plans.change_exercise"
PERM_ADD_FINDING = "plans.add_finding"
PERM_CHANGE_FINDING = "plans.change_finding"
PERM_ACCEPT_RISK = finding_services.PERM_ACCEPT_RISK
EXERCISES_PER_PAGE = 25
FINDINGS_PER_PAGE = 25
PREPARING_REFRESH_SECONDS = 3
STUCK_REFRESH_SECONDS = 15
EXERCISE_LIST_COLUMNS = ("id", "plan_id", "title", "exercise_type", "status", "scheduled_on", "held_on",
                         "facilitator_user__id", "facilitator_user__username", "facilitator_user__first_name",
                         "facilitator_user__last_name")


def _plan(user, pk, *, perm: str | None = None) -> Plan:
    """The plan (without its working copy, which these pages never show): 404 outside the organisation."""
    return get_plan_for_user(user, pk, perm=perm, queryset=Plan.objects.defer("draft_content_json"))


def get_exercise_for_user(user, pk, exercise_id, *, perm: str | None = None) -> Exercise:
    """The exercise of plan `pk`, if the user's organisation owns the plan (else 404); 403 without `perm`.

    Two queries: the plan, the exercise with the version exercised (its snapshot is compared with) and
    the people it names.
    """
    plan = _plan(user, pk, perm=perm)
    exercise = get_object_or_404(
        plan.exercises.select_related("version", "facilitator_user", "created_by_user"), pk=exercise_id)
    exercise.plan = plan
    return exercise


def get_finding_for_user(user, pk, finding_id, *, perm: str | None = None) -> Finding:
    """The finding of plan `pk`, if the user's organisation owns the plan (else 404); 403 without `perm`."""
    plan = _plan(user, pk, perm=perm)
    finding = get_object_or_404(
        plan.findings.select_related("exercise", "incident", "owner_user", "closed_by_version", "risk_accepted_by_user",
                                     "raised_by_user").defer("closed_by_version__content_json"),
        pk=finding_id)
    finding.plan = plan
    return finding


def _refused(request, exercise: Exercise, error: ServiceError) -> HttpResponseRedirect:
    messages.error(request, error_html(error))
    return redirect(exercise)


# --- exercises --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def exercise_list(request, pk):
    """A plan's exercises, newest first, "Newer" / "Older" pages of EXERCISES_PER_PAGE.

    Queries: the plan, one page (+ facilitator), and the user's permissions.
    """
    plan = _plan(request.user, pk)
    rows = plan.exercises.select_related("facilitator_user").only(*EXERCISE_LIST_COLUMNS)
    page = keyset_page(request, rows, keys=("id",), per_page=EXERCISES_PER_PAGE)
    return render(request, "plans/exercises/list.html", {
        "plan": plan, "page": page, "exercises": page.object_list,
        "can_plan": request.user.has_perm(PERM_ADD_EXERCISE) and exercise_services.exercise_refusal(plan) is None,
        "cadence": exercise_services.exercise_cadence(plan),
    })


@login_required
@require_http_methods(["GET", "POST"])
def exercise_create(request, pk):
    plan = _plan(request.user, pk, perm=PERM_ADD_EXERCISE)
    if request.method == "POST":
        form = ExerciseCreateForm(request.POST, org_id=plan.org_id)
        if form.is_valid():
            try:
                with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                    exercise = exercise_services.exercise_plan(
                        plan=plan, actor=request.user, values=form.service_values(),
                        objectives=form.cleaned_data["objectives"], participants=form.cleaned_data["participants"],
                    )
                    submission.result_url = exercise.get_absolute_url()
            except AlreadySaved as saved:  # a double click or a reload: the exercise of the first POST
                return already_saved_redirect(request, saved)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Exercise “{exercise.title}” planned.")
                return redirect(exercise)
    else:
        form = ExerciseCreateForm(org_id=plan.org_id, initial={"facilitator": request.user})
    return render(request, "plans/exercises/form.html", {"plan": plan, "form": form, "exercise": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD"])
def exercise_detail(request, pk, exercise_id):
    """An exercise: what it is, who took part, the results per objective, the recovery times achieved
    against the version exercised, its findings, and what may be done next.

    Queries: the plan, the exercise (+ version, people), its objectives, recovery times,
    participants, findings (+ owners), its report once reported, and the user's permissions.
    """
    exercise = get_exercise_for_user(request.user, pk, exercise_id)
    plan = exercise.plan
    status = exercise.status
    writable = exercise_services.exercise_refusal(plan) is None
    may_change = writable and request.user.has_perm(PERM_CHANGE_EXERCISE)
    findings = list(exercise.findings.select_related("owner_user").order_by("id"))
    return render(request, "plans/exercises/detail.html", {
        "plan": plan, "exercise": exercise,
        "objectives": list(exercise.objectives.order_by("position")),
        "recoveries": exercise_services.exercise_recoveries(exercise),
        "participants": [row.user for row in exercise.participant_rows.select_related("user")
                         .order_by("user__first_name", "user__last_name", "user__username")],
        "outsiders": [line for line in exercise.external_participants.splitlines() if line.strip()],
        "findings": findings,
        "report": exercise_report_state(exercise) if status in (Exercise.Status.REPORTED, Exercise.Status.CLOSED)
        else None,
        "can_edit": may_change and status in (Exercise.Status.PLANNED, Exercise.Status.HELD),
        "can_hold": may_change and status == Exercise.Status.PLANNED,
        "can_record": may_change and status == Exercise.Status.HELD,
        "can_report": may_change and status == Exercise.Status.HELD,
        "can_close": may_change and status == Exercise.Status.REPORTED,
        "can_raise": writable and status == Exercise.Status.HELD and request.user.has_perm(PERM_ADD_FINDING),
        "hold_form": HoldForm(initial={"held_on": exercise.scheduled_on}) if status == Exercise.Status.PLANNED
        else None,
    })


@login_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request, pk, exercise_id):
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_CHANGE_EXERCISE)
    plan = exercise.plan
    if request.method == "POST":
        form = ExerciseForm(request.POST, org_id=plan.org_id)
        if form.is_valid():
            try:
                exercise_services.exercise_update(
                    exercise=exercise, actor=request.user, values=form.service_values(),
                    objectives=form.cleaned_data["objectives"], participants=form.cleaned_data["participants"],
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Exercise “{form.cleaned_data['title']}” saved.")
                return redirect(exercise)
    else:
        form = ExerciseForm(org_id=plan.org_id, initial=ExerciseForm.initial_for(exercise))
    return render(request, "plans/exercises/form.html", {"plan": plan, "form": form, "exercise": exercise},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def exercise_hold(request, pk, exercise_id):
    """GET: the day it was held; POST: record it (planned -> held)."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_CHANGE_EXERCISE)
    form = HoldForm(request.POST or None, initial={"held_on": exercise.scheduled_on})
    if request.method == "POST" and form.is_valid():
        try:
            exercise_services.exercise_hold(exercise=exercise, actor=request.user,
                                            held_on=form.cleaned_data["held_on"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"“{exercise.title}” recorded as held. Record its results next.")
            return redirect("exercises:exercise_results", pk, exercise.pk)
    return render(request, "plans/exercises/hold.html", {"plan": exercise.plan, "exercise": exercise, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def exercise_results(request, pk, exercise_id):
    """The result of each objective, the recovery time achieved per critical process of the version
    exercised (compared with its snapshot's RTO and MTPD), and what happened."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_CHANGE_EXERCISE)
    objectives = list(exercise.objectives.order_by("position"))
    processes = exercise_services.exercise_recoveries(exercise)
    form = ResultsForm(request.POST or None, objectives=objectives, processes=processes,
                       initial={"summary": exercise.summary})
    if request.method == "POST" and form.is_valid():
        try:
            exercise_services.exercise_results_record(
                exercise=exercise, actor=request.user, objectives=form.objective_results(),
                recoveries=form.recovery_values(), summary=form.cleaned_data["summary"],
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Results saved.")
            return redirect(exercise)
    return render(request, "plans/exercises/results.html", {
        "plan": exercise.plan, "exercise": exercise, "form": form, "rows": form.grouped(),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def exercise_report_issue(request, pk, exercise_id):
    """Issue the after-action report (held -> reported); a background task renders it."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_CHANGE_EXERCISE)
    try:
        exercise_services.exercise_report_issue(exercise=exercise, actor=request.user)
    except ServiceError as error:
        return _refused(request, exercise, error)
    messages.success(request, "The exercise is reported: its after-action report is being prepared.")
    return redirect(exercise)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def exercise_report(request, pk, exercise_id):
    """The after-action report PDF: the issued file (hash checked), or "being prepared" until the task issued
    it. POST is the page's "Try again" (the task failed, or no worker picked it up)."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id)
    if exercise.status not in (Exercise.Status.REPORTED, Exercise.Status.CLOSED):
        messages.error(request, "This exercise has no report yet: it is issued once the exercise is reported.")
        return redirect(exercise)
    state = exercise_report_state(exercise)
    if request.method == "POST":
        if state.can_retry:
            exercise_report_enqueue(exercise_id=exercise.pk, retry=True)
        return redirect(request.path)
    if state.issued is None:
        refresh = None if state.failed else STUCK_REFRESH_SECONDS if state.stuck else PREPARING_REFRESH_SECONDS
        response = render(request, "plans/exercises/preparing.html", {
            "plan": exercise.plan, "exercise": exercise, "state": state, "refresh": refresh,
            "worker_grace_seconds": int(WORKER_GRACE.total_seconds()),
        }, status=202)
        response["Cache-Control"] = "no-store"
        return response
    try:
        data = exercise_report_read(issued=state.issued, exercise=exercise, actor=request.user)
    except ServiceError as error:
        return render(request, "error.html", {"status": 409, "title": "This file cannot be served",
                                              "message": error.message}, status=409)
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=report_filename(exercise),
                            content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{state.issued.sha256}"'
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_POST
def exercise_close(request, pk, exercise_id):
    """Close a reported exercise (every finding done or its risk accepted)."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_CHANGE_EXERCISE)
    try:
        exercise_services.exercise_close(exercise=exercise, actor=request.user)
    except ServiceError as error:
        return _refused(request, exercise, error)
    messages.success(request, f"Exercise “{exercise.title}” closed.")
    return redirect(exercise)


# --- findings ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def finding_create(request, pk, exercise_id):
    """Raise a finding from a held exercise."""
    exercise = get_exercise_for_user(request.user, pk, exercise_id, perm=PERM_ADD_FINDING)
    plan = exercise.plan
    if request.method == "POST":
        form = FindingCreateForm(request.POST, org_id=plan.org_id)
        if form.is_valid():
            try:
                with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                    finding = finding_services.finding_raise(
                        exercise=exercise, actor=request.user, description=form.cleaned_data["description"],
                        severity=form.cleaned_data["severity"], owner=form.cleaned_data["owner"],
                        due_on=form.cleaned_data["due_on"],
                    )
                    submission.result_url = exercise.get_absolute_url() + "#findings"
            except AlreadySaved as saved:
                return already_saved_redirect(request, saved)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Finding “{finding}” raised.")
                return redirect(exercise.get_absolute_url() + "#findings")
    else:
        form = FindingCreateForm(org_id=plan.org_id, initial={"owner": plan.owner_user_id})
    return render(request, "plans/exercises/finding_form.html", {"plan": plan, "exercise": exercise, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD"])
def finding_list(request, pk):
    """A plan's findings, newest first (`?status=open`: only the open ones), pages of FINDINGS_PER_PAGE.

    Queries: the plan, one page (+ owner, exercise or incident), and the user's permissions.
    """
    plan = _plan(request.user, pk)
    only_open = request.GET.get("status") == "open"
    rows = plan.findings.select_related("owner_user", "exercise", "incident").only(
        "id", "plan_id", "description", "severity", "status", "due_on", "owner_user__id", "owner_user__username",
        "owner_user__first_name", "owner_user__last_name", "exercise__id", "exercise__plan_id", "exercise__title",
        "incident__id", "incident__title",
    )
    if only_open:
        rows = rows.filter(status__in=Finding.OPEN_STATUSES)
    page = keyset_page(request, rows, keys=("id",), per_page=FINDINGS_PER_PAGE)
    return render(request, "plans/exercises/finding_list.html", {
        "plan": plan, "page": page, "findings": page.object_list, "only_open": only_open,
        "today": timezone.localdate(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def finding_detail(request, pk, finding_id):
    """A finding, its ticks on plan versions, and (for editors, while it is open) the form that changes it."""
    finding = get_finding_for_user(request.user, pk, finding_id,
                                   perm=PERM_CHANGE_FINDING if request.method == "POST" else None)
    plan = finding.plan
    may_change = (finding.is_open and request.user.has_perm(PERM_CHANGE_FINDING)
                  and exercise_services.exercise_refusal(plan) is None)
    form = None
    if request.method == "POST":
        form = FindingEditForm(request.POST, org_id=plan.org_id)
        if form.is_valid():
            try:
                finding_services.finding_update(
                    finding=finding, actor=request.user, description=form.cleaned_data["description"],
                    severity=form.cleaned_data["severity"], owner=form.cleaned_data["owner"],
                    due_on=form.cleaned_data["due_on"], status=form.cleaned_data["status"],
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Finding saved.")
                return redirect(finding)
    elif may_change:
        form = FindingEditForm(org_id=plan.org_id, initial=FindingEditForm.initial_for(finding))
    ticks = list(finding.ticks.select_related("version").defer("version__content_json")
                 .order_by("version__version_number"))
    return render(request, "plans/exercises/finding_detail.html", {
        "plan": plan, "finding": finding, "form": form, "ticks": ticks,
        "overdue": finding_services.is_overdue(finding),
        "can_accept_risk": finding.is_open and request.user.has_perm(PERM_ACCEPT_RISK)
        and exercise_services.exercise_refusal(plan) is None,
    }, status=400 if form is not None and form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def finding_accept_risk(request, pk, finding_id):
    """Confirm (GET) and record (POST) that the finding's risk is accepted, with a reason (BCP Admins)."""
    finding = get_finding_for_user(request.user, pk, finding_id, perm=PERM_ACCEPT_RISK)
    form = AcceptRiskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            finding_services.finding_accept_risk(finding=finding, actor=request.user,
                                                 reason=form.cleaned_data["reason"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"The risk of “{finding}” is accepted.")
            return redirect(finding)
    return render(request, "plans/exercises/accept_risk.html", {"plan": finding.plan, "finding": finding,
                                                                "form": form}, status=400 if form.errors else 200)
