"""Pages of the change-log feature: a plan's linked changes, and the audit trail (page and CSV)."""

from __future__ import annotations

import csv
import json
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify

from bcp_site.paging import keyset_page
from bcp_site.text import csv_cell, display_name

from .audit_actions import audit_action_label, audit_in_words, audit_names, audit_sentence
from .change_forms import AuditFilterForm
from .changes import plan_changes
from .models import Audit, Plan
from .selectors import get_plan_for_user, organisation_for

AUDIT_PAGE_SIZE = 50
CHANGES_PAGE_SIZE = 50
AUDIT_PERM = "plans.view_audit"


@login_required
def plan_changes_list(request, pk):
    """Every change linked to a plan, newest first, "Newer" / "Older" pages on (occurred_at_utc, id).

    The order is the change's, the filter the link's (another table): a plan's links are few
    enough (bc_change_log_map's unique key leads with the plan) for the database to sort them.
    """
    plan = get_plan_for_user(request.user, pk)
    page = keyset_page(request, plan_changes(plan), keys=("occurred_at_utc", "id"), per_page=CHANGES_PAGE_SIZE)
    return render(request, "plans/changes/plan_changes.html", {"plan": plan, "page": page})


@login_required
def org_audit(request):
    """The audit trail of the user's organisation: its plans' rows and its own (no plan)."""
    org = organisation_for(request.user)
    if org is None:
        raise Http404("You do not belong to an organisation, so there is no audit trail to show.")
    if not request.user.has_perm(AUDIT_PERM):
        raise PermissionDenied("Your role does not allow you to read the audit trail.")
    entries = Audit.objects.filter(org=org)  # idx_bc_audit_org_at serves the filter, the order and the cursor
    return _audit_page(request, entries=entries, org_id=org.pk, org=org, plan=None)


@login_required
def plan_audit(request, pk):
    """The audit trail of one plan."""
    plan = get_plan_for_user(request.user, pk, perm=AUDIT_PERM, queryset=Plan.objects.select_related("org"))
    entries = Audit.objects.filter(plan=plan)  # idx_bc_audit_plan_at
    return _audit_page(request, entries=entries, org_id=plan.org_id, org=plan.org, plan=plan)


def _audit_page(request, *, entries, org_id, org, plan):
    """Filter form, then one page of 50 rows ("Newer" / "Older", no count) or the CSV of every filtered row.

    Queries: the actor typed (when filtering by one), then one page of rows (or the CSV rows).
    The action filter offers the product's fixed vocabulary (plans.audit_actions), and the actor
    filter is a search field: neither reads the trail or the organisation's people to build it.
    """
    form = AuditFilterForm(request.GET, org_id=org_id)
    rows = audit_rows(form.filter(entries) if form.is_valid() else entries.none())
    if request.GET.get("format") == "csv" and form.is_valid():
        return _audit_csv(rows.order_by("-at_utc", "-id"), filename=_csv_name(org, plan))
    page = keyset_page(request, rows, keys=("at_utc", "id"), per_page=AUDIT_PAGE_SIZE)
    audit_in_words(page.object_list)
    return render(
        request, "plans/audit/audit_list.html", {"form": form, "page": page, "plan": plan, "org": org},
    )


def audit_rows(entries):
    """What an audit page shows of each entry (plan and actor by LEFT JOIN: the filter's index leads)."""
    return entries.select_related("plan", "actor_user").only(
        "id", "action", "at_utc", "details_json", "plan__id", "plan__title",
        "actor_user__id", "actor_user__username", "actor_user__first_name", "actor_user__last_name",
    )


class _Echo:
    def write(self, value):
        return value


def _audit_csv(rows, *, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(["time", "plan", "action", "actor", "details", "action_in_words", "details_in_words"])
        for chunk in _chunks(rows.iterator(chunk_size=CSV_CHUNK), CSV_CHUNK):
            yield from _csv_lines(writer, chunk, audit_names(entry.details_json for entry in chunk))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


CSV_CHUNK = 1000  # rows read, and people named, at a time


def _chunks(iterable, size: int):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_lines(writer, chunk, names):
    for entry in chunk:
        actor = display_name(entry.actor_user) if entry.actor_user else "system"  # written by the product
        details = json.dumps(entry.details_json, ensure_ascii=False, sort_keys=True, default=str)
        at = entry.at_utc.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        plan_title = entry.plan.title if entry.plan else ""  # an organisation event has no plan
        yield writer.writerow([csv_cell(v) for v in (
            at, plan_title, entry.action, actor, details,
            audit_action_label(entry.action), audit_sentence(entry.action, entry.details_json, names),
        )])


def _csv_name(org, plan) -> str:
    stamp = timezone.now().strftime("%Y%m%d")
    if plan is not None:
        return f"audit-plan-{plan.pk}-{stamp}.csv"
    return f"audit-{slugify(org.name) or 'organisation'}-{stamp}.csv"
