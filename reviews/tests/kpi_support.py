"""Plans in known states for the KPI and evidence tests: the stored facts the metrics read, set directly."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bcp_site.testing import make_plan
from plans.models import Plan, PlanVersion


def plan_in_state(org, owner, template, *, title: str, approved: bool = True, status: str | None = None,
                  review_due: dt.date | None = None, exercise_due: dt.date | None = None,
                  drifting: bool = False) -> Plan:
    """A plan whose version 1 is approved (unless `approved` is False), with these stored facts; its
    status is `status`, by default approved (a draft when not approved)."""
    plan = make_plan(org, owner, template=template, title=title)
    status = status or (Plan.Status.APPROVED if approved else Plan.Status.DRAFT)
    now = timezone.now()
    if approved:
        PlanVersion.objects.filter(pk=plan.current_version_id).update(approved_at_utc=now)
        Plan.objects.filter(pk=plan.pk).update(
            status=status, approved_version_id=plan.current_version_id, approved_at_utc=now,
            next_review_due=review_due, next_exercise_due=exercise_due, review_needed=drifting,
        )
    else:
        Plan.objects.filter(pk=plan.pk).update(status=status, review_needed=drifting)
    plan.refresh_from_db()
    return plan
