"""Acknowledgement pages: the email link (no login), the plan-page button, distribution, coverage."""

import csv
from datetime import UTC
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from bcp_site.security import client_ip
from bcp_site.text import csv_cell, display_name
from plans.models import Plan
from plans.outbox import notification_status_for
from plans.ratelimit import rate_hit
from plans.selectors import get_plan_for_user
from plans.services import ServiceError

from . import ack_links, ack_mail, ack_records, distribution
from .ack_coverage import ALL, SHOW_CHOICES, ack_coverage, coverage_page, coverage_people
from .ack_forms import DistributionForm, NewLinkForm, PlanAckForm, RemoveRowForm
from .models import PlanDistribution

COVERAGE_PAGE_SIZE = 50
CSV_CHUNK = 500
USERNAME_MAX = 150  # Django's username length


def _day(moment) -> str:
    return date_format(timezone.localtime(moment), "j F Y")


# --- email link pages (no login) ---------------------------------------------------------


def _link_page(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """A page reached through a personal link: never cached, never leaks the link as a referrer."""
    context = {"link_days": settings.BCP_ACK_LINK_DAYS, **context}
    response = render(request, f"reviews/ack/{template}", context, status=status)
    response["Referrer-Policy"] = "same-origin"  # see link_base.html
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _invalid(request) -> HttpResponse:
    return _link_page(request, "link_invalid.html", {}, status=400)


def _too_many(request) -> HttpResponse:
    return _link_page(request, "too_many.html", {}, status=429)


def _ip_allowed(request) -> bool:
    """Count "new link" requests per client IP per hour where every app process sees them (plans.ratelimit);
    the per-person limit is kept by the outbox's rows."""
    return rate_hit(name="ack-new-link-ip", subject=client_ip(request) or "", limit=ack_mail.RESEND_PER_IP_PER_HOUR,
                    window_seconds=3600)


@require_http_methods(["GET", "POST"])
def ack_link(request, token):
    """GET shows the version and a confirm button and records nothing; POST records the acknowledgement."""
    try:
        target = ack_links.ack_link_target(ack_links.ack_token_read(token))
    except ack_links.AckLinkExpired:
        return _link_page(request, "link_expired.html", {"form": NewLinkForm(), "token": token})
    except ack_links.AckLinkInvalid:
        return _invalid(request)
    if request.method == "POST":
        if target.state == ack_records.LinkState.OK:
            try:
                ack, created = ack_records.ack_record(
                    plan=target.plan, user=target.user, version_number=target.version.version_number, via="link"
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                if created:
                    messages.success(request, f"Thank you: your acknowledgement of version "
                                              f"{ack.ack_version_number} is recorded.")
                else:
                    messages.info(request, f"Nothing more to do: already acknowledged on {_day(ack.ack_at_utc)}.")
        return redirect("acks:link", token=token)
    context = {"target": target, "token": token, "plan": target.plan, "version": target.version}
    if target.state == ack_records.LinkState.OK:
        context["summary"] = ack_links.version_summary(target.plan, target.version)
    return _link_page(request, "link.html", context)


@require_POST
def ack_link_new(request, token):
    """Send a fresh link: after expiry (to an address on the distribution) or for a newer version."""
    if not _ip_allowed(request):
        return _too_many(request)
    try:
        claim = ack_links.ack_token_read(token)
    except ack_links.AckLinkExpired as exc:
        form = NewLinkForm(request.POST)
        if not form.is_valid():
            return _link_page(request, "link_expired.html", {"form": form, "token": token}, status=400)
        ack_mail.ack_link_request_by_email(plan_id=exc.claim.plan_id, email=form.cleaned_data["email"])
        return redirect("acks:link_new_sent")
    except ack_links.AckLinkInvalid:
        return _invalid(request)
    try:
        target = ack_links.ack_link_target(claim)
    except ack_links.AckLinkInvalid:
        return _invalid(request)
    if target.state != ack_records.LinkState.SUPERSEDED:
        return redirect("acks:link", token=token)
    try:
        ack_mail.ack_link_resend(plan=target.plan, user=target.user)
    except ack_mail.AckRateLimited:
        return _too_many(request)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("acks:link", token=token)
    return redirect("acks:link_new_sent")


def ack_link_new_sent(request):
    return _link_page(request, "link_new_sent.html", {})


# --- signed-in pages ---------------------------------------------------------------------


@login_required
@require_POST
def plan_ack(request, pk):
    """The acknowledge button of the plan page (the approved version the person was shown)."""
    plan = get_plan_for_user(request.user, pk, perm="plans.view_plan")
    form = PlanAckForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete: nothing was recorded. Please try again.")
        return redirect(plan)
    try:
        ack, created = ack_records.ack_record(
            plan=plan, user=request.user, version_number=form.cleaned_data["version_number"], via="page"
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, f"Thank you: your acknowledgement of version {ack.ack_version_number} "
                                      f"is recorded.")
        else:
            messages.info(request, f"Nothing more to do: already acknowledged on {_day(ack.ack_at_utc)}.")
    return redirect(plan)


DISTRIBUTION_PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def distribution_edit(request, pk):
    """Who must acknowledge the plan: the listed people (a page at a time) and groups, each with a
    Remove button; a form to add people (a search field) and groups, or to choose everyone."""
    plan = get_plan_for_user(request.user, pk, perm="plans.change_plan")
    rows = PlanDistribution.objects.filter(plan=plan)
    has_rows = rows.exists()
    form = DistributionForm(None, has_rows=has_rows, org_id=plan.org_id)
    if request.method == "POST" and "remove" in request.POST:
        remove = RemoveRowForm(request.POST)
        if not remove.is_valid():
            raise BadRequest("Choose a row of the distribution list to remove.")
        row = get_object_or_404(rows.select_related("user", "group"), pk=remove.cleaned_data["remove"])
        try:
            distribution.distribution_remove(row=row, actor=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            who = display_name(row.user) if row.user_id else row.group.name
            messages.success(request, f"{who} is no longer on the distribution list."
                             + ("" if rows.exists() else " Everyone in the organisation must acknowledge the plan."))
        return redirect("acks:distribution_edit", pk=plan.pk)
    if request.method == "POST":
        form = DistributionForm(request.POST, has_rows=has_rows, org_id=plan.org_id)
        if form.is_valid():
            try:
                if form.cleaned_data["audience"] == DistributionForm.EVERYONE:
                    distribution.distribution_set(plan=plan, actor=request.user, users=[], groups=[])
                else:
                    distribution.distribution_add(plan=plan, actor=request.user, users=form.cleaned_data["users"],
                                                  groups=form.cleaned_data["groups"])
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "The distribution list is saved.")
                return redirect(plan)
    people = Paginator(
        rows.filter(user__isnull=False).select_related("user").order_by("id"), DISTRIBUTION_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    groups = list(rows.filter(group__isnull=False).select_related("group").order_by("group__name"))
    return render(request, "reviews/ack/distribution_edit.html",
                  {"plan": plan, "form": form, "people": people, "groups": groups, "has_rows": has_rows},
                  status=400 if form.errors else 200)


@login_required
def coverage(request, pk):
    """The coverage numbers and the people, a page at a time (by username; `?after=` / `?before=`),
    filtered to everyone, the outstanding or the acknowledged: a fixed number of queries."""
    plan = get_plan_for_user(
        request.user, pk, perm="plans.view_plan",
        queryset=Plan.objects.select_related("approved_version").defer("approved_version__content_json"),
    )
    result = ack_coverage(plan)
    show = request.GET.get("show", ALL)
    if show not in SHOW_CHOICES:
        show = ALL
    page = None
    if result.version_number is not None:
        page = coverage_page(
            coverage_people(plan, result.version_number, show=show),
            after=_username_param(request, "after"), before=_username_param(request, "before"),
            size=COVERAGE_PAGE_SIZE,
        )
        mail = notification_status_for(plan=plan, version_number=result.version_number,
                                       user_ids=[row.user.pk for row in page.rows])
        for row in page.rows:
            row.mail_status = mail.get(row.user.pk, "")
    return render(request, "reviews/ack/coverage.html", {
        "may_remind": _may_remind(request.user, plan),
        "plan": plan, "coverage": result, "page": page, "show": show, "choices": SHOW_CHOICES,
        "shown_count": result.count_for(show),
    })


def _may_remind(user, plan: Plan) -> bool:
    """The plan's owner, reviewers and BCP Admins remind people (ack_mail.ack_reminders_send_for_plan decides)."""
    return user.pk == plan.owner_user_id or user.has_perm("plans.approve_plan") or user.has_perm("plans.restore_plan")


@login_required
@require_POST
def coverage_remind(request, pk):
    """Remind everyone outstanding, or the one person posted as `user`; at most one reminder a day each."""
    plan = get_plan_for_user(
        request.user, pk, perm="plans.view_plan",
        queryset=Plan.objects.select_related("org", "approved_version").defer("approved_version__content_json"),
    )
    person = None
    if request.POST.get("user"):
        person = get_object_or_404(
            get_user_model().objects.filter(membership__organisation_id=plan.org_id),
            pk=_id_or_404(request.POST["user"]),
        )
    try:
        queued, skipped = ack_mail.ack_reminders_send_for_plan(plan=plan, actor=request.user, user=person)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        who = display_name(person) if person else f"{queued} {'person' if queued == 1 else 'people'}"
        if queued:
            messages.success(request, f"Reminder queued for {who}; it goes out in a moment.")
        if skipped:
            messages.info(request, f"{skipped} already reminded today: one reminder a day at most.")
        if not queued and not skipped:
            messages.info(request, "Nobody is outstanding: there is nobody to remind.")
    return redirect(reverse("acks:coverage", args=[plan.pk]) + "?show=outstanding")


def _id_or_404(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404("No such person in this plan's organisation.")
    return int(value)


def _username_param(request, name: str) -> str | None:
    value = request.GET.get(name, "")
    return value[:USERNAME_MAX] or None


class _Echo:
    """A file-like object whose write returns the line (csv.writer into a streaming response)."""

    def write(self, value):
        return value


@login_required
def coverage_csv(request, pk):
    """Everyone on the distribution and their acknowledgement of the approved version, streamed in
    chunks from the database (never built as one list)."""
    plan = get_plan_for_user(
        request.user, pk, perm="plans.view_plan",
        queryset=Plan.objects.select_related("approved_version").defer("approved_version__content_json"),
    )
    number = ack_records.approved_number(plan)
    version = number or 0

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(["username", "name", "email", "version", "status", "acknowledged_at_utc", "link"])
        if number is None:
            return
        people = coverage_people(plan, number).only("id", "username", "first_name", "last_name", "email")
        rows = people.iterator(chunk_size=CSV_CHUNK)
        while chunk := list(islice(rows, CSV_CHUNK)):
            mail = notification_status_for(plan=plan, version_number=number, user_ids=[u.pk for u in chunk])
            for user in chunk:
                yield writer.writerow([
                    csv_cell(user.get_username()), csv_cell(display_name(user)), csv_cell(user.email), version,
                    "acknowledged" if user.ack_at else "outstanding",
                    user.ack_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if user.ack_at else "",
                    csv_cell(mail.get(user.pk, "")),
                ])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}-v{version}-acknowledgements.csv"'
    return response
