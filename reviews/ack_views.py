"""Acknowledgement pages: the email link (no login), the plan-page button, distribution, coverage."""

import csv
from datetime import UTC

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from bcp_site.security import client_ip
from bcp_site.text import csv_cell
from plans.selectors import get_plan_for_user
from plans.services import ServiceError

from . import ack_links, ack_mail, ack_records, distribution
from .ack_coverage import ack_coverage
from .ack_forms import DistributionForm, NewLinkForm, PlanAckForm
from .models import PlanDistribution

COVERAGE_PAGE_SIZE = 50


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
    """Count "new link" requests per client IP per hour in the cache (see README: use a shared cache
    when running several processes; the per-person limit is in the database and always holds)."""
    key = f"bcp:ack-new-link:ip:{client_ip(request) or ''}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count <= ack_mail.RESEND_PER_IP_PER_HOUR


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


@login_required
@require_http_methods(["GET", "POST"])
def distribution_edit(request, pk):
    plan = get_plan_for_user(request.user, pk, perm="plans.change_plan")
    rows = PlanDistribution.objects.filter(plan=plan)
    form = DistributionForm(request.POST or None, plan=plan, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            distribution.distribution_set(
                plan=plan, actor=request.user, users=form.cleaned_data["users"], groups=form.cleaned_data["groups"]
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "The distribution list is saved.")
            return redirect(plan)
    return render(request, "reviews/ack/distribution_edit.html", {"plan": plan, "form": form},
                  status=400 if form.errors else 200)


@login_required
def coverage(request, pk):
    plan = get_plan_for_user(request.user, pk, perm="plans.view_plan")
    result = ack_coverage(plan)
    show = request.GET.get("show", "all")
    rows = {"outstanding": result.outstanding, "acknowledged": result.acknowledged}.get(show, result.rows)
    if show not in ("outstanding", "acknowledged"):
        show = "all"
    page = Paginator(rows, COVERAGE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "reviews/ack/coverage.html",
        {"plan": plan, "coverage": result, "page": page, "show": show},
    )


@login_required
def coverage_csv(request, pk):
    plan = get_plan_for_user(request.user, pk, perm="plans.view_plan")
    result = ack_coverage(plan)
    version = result.version_number or 0
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}-v{version}-acknowledgements.csv"'
    writer = csv.writer(response)
    writer.writerow(["username", "name", "email", "version", "status", "acknowledged_at_utc"])
    for row in result.rows:
        user = row.user
        writer.writerow([
            csv_cell(user.get_username()), csv_cell(user.get_full_name()), csv_cell(user.email), version,
            "acknowledged" if row.acknowledged else "outstanding",
            row.ack_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if row.ack_at else "",
        ])
    return response
