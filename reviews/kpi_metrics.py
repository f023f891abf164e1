"""The metrics the product tracks (`reviews.kpi`): the one place they are declared.

Each block reads one feature's rows with database aggregates. `plans` cannot import `reviews`,
so a feature of `plans` (exercises, incidents, vendors) declares its metrics here, next to the
others; `reviews.apps` imports this module once, which registers them all.

Still to come, in the same form: recovery times met in exercises (%), incidents (open, by
severity), vendors with stale evidence or an RTO gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum, When
from django.urls import reverse

from bcp_site.queries import count_subquery
from plans.models import ExerciseRecovery, Finding, IncidentRecovery, Plan, Vendor
from plans.recovery import Outcome
from plans.selectors import REVIEW_IN_DATE, REVIEW_OVERDUE, review_date_q
from plans.vendors import GAP, STALE, evidence_stale_before, gap_exists

from .auditors import auditor_membership
from .kpi import COUNT, PERCENT, Metric, register_metric
from .models import Ack, PlanDistribution

# --- the rows the metrics count ---------------------------------------------------------


def org_plans(org_id: int, today: dt.date) -> QuerySet:
    """Every plan of the organisation (the conditions are in each metric's aggregate)."""
    return Plan.objects.filter(org_id=org_id)


def in_force_plans(org_id: int | None = None) -> QuerySet:
    """Plans in use (not archived) with an approved version: the plans people must have read."""
    plans = Plan.objects.filter(approved_version__isnull=False).exclude(status=Plan.Status.ARCHIVED)
    return plans if org_id is None else plans.filter(org_id=org_id)


def with_ack_coverage(plans: QuerySet) -> QuerySet:
    """Plans annotated with `ack_total` (people on the distribution) and `ack_done` (those of them who
    acknowledged the approved version), the numbers of `reviews.ack_coverage.ack_coverage`, as
    subqueries of the plans' own query.

    A plan without distribution rows counts the organisation's active members who are not
    auditors: a subquery that depends on the organisation only (MariaDB's subquery cache computes
    it once per organisation). Acknowledgements are counted from the acknowledgements of the
    version (idx_bc_ack_plan_user), never from the people.
    """
    User = get_user_model()
    rows = PlanDistribution.objects.filter(plan_id=OuterRef(OuterRef("pk")))
    members = User.objects.filter(is_active=True, membership__organisation_id=OuterRef("org_id")).filter(
        ~auditor_membership())
    listed = User.objects.filter(is_active=True, membership__organisation_id=OuterRef("org_id")).filter(
        Exists(rows.filter(user_id=OuterRef("pk"))) | Exists(rows.filter(group__user=OuterRef("pk")))
    ).filter(~auditor_membership())
    on_list = PlanDistribution.objects.filter(plan_id=OuterRef("plan_id"))  # of the acknowledgement's plan
    acks = Ack.objects.filter(
        plan_id=OuterRef("pk"), ack_version_number=OuterRef("approved_version__version_number"),
        user__is_active=True, user__membership__organisation_id=OuterRef("org_id"),
    ).filter(
        ~Exists(on_list) | Exists(on_list.filter(user_id=OuterRef("user_id")))
        | Exists(on_list.filter(group__user=OuterRef("user_id")))
    ).filter(~auditor_membership(OuterRef("user_id")))
    has_rows = Exists(PlanDistribution.objects.filter(plan_id=OuterRef("pk")))
    return plans.annotate(
        ack_total=Case(When(has_rows, then=count_subquery(listed)), default=count_subquery(members),
                       output_field=IntegerField()),
        ack_done=count_subquery(acks),
    )


def ack_rows(org_id: int, today: dt.date) -> QuerySet:
    return with_ack_coverage(in_force_plans(org_id))


def org_findings(org_id: int, today: dt.date) -> QuerySet:
    return Finding.objects.filter(plan__org_id=org_id)


# --- the built-in metrics -------------------------------------------------------------------------


def _plan_list(query: str) -> Callable[[], str]:
    return lambda: f"{reverse('plans:plan_list')}?{query}"


def _open_findings(today: dt.date) -> Q:
    return Q(status__in=Finding.OPEN_STATUSES)


register_metric(Metric(
    key="plans_review_in_date", label="Plans approved and within their review date", unit=PERCENT,
    rows=org_plans,
    numerator=lambda today: Count("pk", filter=review_date_q(REVIEW_IN_DATE, today)),
    denominator=lambda today: Count("pk", filter=~Q(status=Plan.Status.ARCHIVED)),
    items=_plan_list(f"review={REVIEW_IN_DATE}"), items_label="Approved plans whose review date is ahead",
    help="Of the plans in use (not archived), those with an approved version whose next review date "
         "has not passed.",
    order=10,
))
register_metric(Metric(
    key="plans_review_overdue", label="Reviews overdue", unit=COUNT,
    rows=org_plans,
    numerator=lambda today: Count("pk", filter=review_date_q(REVIEW_OVERDUE, today)),
    items=_plan_list(f"review={REVIEW_OVERDUE}"), items_label="Plans whose review is overdue",
    help="Approved plans in use whose next review date has passed.",
    higher_is_better=False, order=20,
))
register_metric(Metric(
    key="ack_coverage", label="Acknowledgement coverage", unit=PERCENT,
    rows=ack_rows,
    numerator=lambda today: Sum("ack_done"),
    denominator=lambda today: Sum("ack_total"),
    items=lambda: reverse("kpi:ack_coverage"), items_label="Coverage of each approved plan",
    help="Over every approved plan in use: the people on its distribution who acknowledged its approved "
         "version, out of everyone on its distribution.",
    order=30,
))
register_metric(Metric(
    key="plans_drifting", label="Plans drifting", unit=COUNT,
    rows=org_plans,
    numerator=lambda today: Count("pk", filter=Q(review_needed=True)),
    items=_plan_list("review_needed=on"), items_label="Plans whose review is needed",
    help="Plans with a linked change after their last approval: their review is needed.",
    higher_is_better=False, order=40,
))
register_metric(Metric(
    key="plans_exercised_in_interval", label="Plans exercised within their interval", unit=PERCENT,
    rows=org_plans,
    numerator=lambda today: Count("pk", filter=Q(next_exercise_due__gt=today) & ~Q(status=Plan.Status.ARCHIVED)),
    denominator=lambda today: Count(
        "pk", filter=Q(next_exercise_due__isnull=False) & ~Q(status=Plan.Status.ARCHIVED)),
    items=_plan_list("exercise_due=on"), items_label="Plans whose exercise is due",
    help="Of the plans in use that must be exercised (their template sets an exercise interval), those "
         "whose next exercise is not due yet.",
    order=50,
))
register_metric(Metric(
    key="findings_open", label="Open findings", unit=COUNT,
    rows=org_findings,
    numerator=lambda today: Count("pk", filter=_open_findings(today)),
    help="Findings of exercises that are open or in progress.",
    higher_is_better=False, order=60,
))
register_metric(Metric(
    key="findings_overdue", label="Overdue findings", unit=COUNT,
    rows=org_findings,
    numerator=lambda today: Count("pk", filter=_open_findings(today) & Q(due_on__lt=today)),
    help="Open findings whose due date has passed.",
    higher_is_better=False, order=70,
))


def org_vendors(org_id: int, today: dt.date) -> QuerySet:
    return Vendor.objects.filter(org_id=org_id)


def _vendor_list(flag: str) -> Callable[[], str]:
    return lambda: f"{reverse('vendors:vendor_list')}?flag={flag}"


register_metric(Metric(
    key="vendors_stale_evidence", label="Vendors with stale continuity evidence", unit=COUNT,
    rows=org_vendors,
    numerator=lambda today: Count("pk", filter=Q(evidence_on__isnull=True)
                                  | Q(evidence_on__lt=evidence_stale_before(today))),
    items=_vendor_list(STALE), items_label="Vendors whose evidence is stale",
    help="Vendors whose last continuity evidence is more than 365 days old, or was never received.",
    higher_is_better=False, order=80,
))
register_metric(Metric(
    key="vendors_rto_gap", label="Vendors that recover after a process needs them", unit=COUNT,
    rows=org_vendors,
    numerator=lambda today: Count("pk", filter=Q(gap_exists())),
    items=_vendor_list(GAP), items_label="Vendors with an RTO gap",
    help="Vendors whose committed recovery time is longer than the RTO of a process that depends on them.",
    higher_is_better=False, order=90,
))


def org_exercise_recoveries(org_id: int, today: dt.date) -> QuerySet:
    return ExerciseRecovery.objects.filter(exercise__plan__org_id=org_id)


def org_incident_recoveries(org_id: int, today: dt.date) -> QuerySet:
    return IncidentRecovery.objects.filter(activation__incident__org_id=org_id, recovered_at_utc__isnull=False)


MEASURED = Q(outcome__in=[Outcome.MET, Outcome.MISSED, Outcome.BREACHED])  # a process with an RTO to meet

register_metric(Metric(
    key="exercise_recovery_met", label="Exercised recoveries within their RTO", unit=PERCENT,
    rows=org_exercise_recoveries,
    numerator=lambda today: Count("pk", filter=Q(outcome=Outcome.MET)),
    denominator=lambda today: Count("pk", filter=MEASURED),
    help="Of the critical processes whose recovery time an exercise measured against an RTO, those back "
         "within it (judged against the exercised version).",
    order=100,
))
register_metric(Metric(
    key="incident_recovery_met", label="Incident recoveries within their RTO", unit=PERCENT,
    rows=org_incident_recoveries,
    numerator=lambda today: Count("pk", filter=Q(outcome=Outcome.MET)),
    denominator=lambda today: Count("pk", filter=MEASURED),
    items=lambda: reverse("incidents:incident_list"),
    items_label="Incidents",
    help="Of the critical processes that recovered in an incident and had an RTO, those back within it "
         "(judged against the version in force when the plan was activated).",
    order=110,
))
# Later features register theirs the same way: `register_metric(Metric(...))` here.
