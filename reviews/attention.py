"""Needs my attention: what each person has to do next, as their home page and as counts in the navigation.

- reviews waiting for my decision;
- my plans (I own them) with changes requested, a review needed (a linked change after the
  approval), a review date passed or within `DUE_SOON_DAYS`, or an exercise due (the stored plan
  facts of decision 5, `plans.plan_facts`: indexed columns, no JSON read);
- my outstanding acknowledgements: approved versions whose acknowledgement link I was sent and
  that I have not acknowledged.

Nothing here grows with the organisation: every read starts from the person (their reviews, the
plans they own, the links they were sent), through an index that starts with them. The navigation
counts come from one query per page (`attention_counts`, on first use), the home page adds one
query per list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from bcp_site.queries import count_subquery
from plans.models import Membership, Notification, Plan
from plans.plan_facts import DUE_SOON_DAYS

from .models import Ack, Review

HOME_LIST_SIZE = 10  # rows per list on the home page; the rest are behind "see all"
OWNED_COLUMNS = ("id", "title", "status", "next_review_due", "review_needed", "changes_requested", "updated_at",
                 "next_exercise_due", "last_exercised_on")


@dataclass(frozen=True)
class AttentionCounts:
    org_id: int | None = None
    reviews_waiting: int = 0
    my_plans: int = 0
    acknowledgements: int = 0

    @property
    def total(self) -> int:
        return self.reviews_waiting + self.my_plans + self.acknowledgements


def _soon(today: dt.date | None = None) -> dt.date:
    return (today or timezone.localdate()) + dt.timedelta(days=DUE_SOON_DAYS)


def waiting_reviews(user_id, org_id) -> QuerySet:
    """Reviews waiting for the person's decision in their organisation, oldest request first."""
    return Review.objects.filter(reviewer_user_id=user_id, status=Review.Status.PENDING, plan__org_id=org_id)


def owner_reasons(today: dt.date | None = None) -> list[Q]:
    """Why a plan needs its owner, most urgent first: each a condition an index on (owner, column) serves.

    The last: an exercise due (an approved plan never exercised, or whose last exercise is older than
    its exercise interval: the stored `next_exercise_due`, plans.exercises).
    """
    return [Q(next_review_due__lte=_soon(today)), Q(review_needed=True), Q(changes_requested=True),
            Q(next_exercise_due__lte=today or timezone.localdate())]


def owned_plans(user_id, org_id) -> QuerySet:
    return Plan.objects.filter(owner_user_id=user_id, org_id=org_id).exclude(status=Plan.Status.ARCHIVED)


def plans_needing_owner(user_id, org_id, *, today: dt.date | None = None) -> list[QuerySet]:
    """The person's own plans that need them, as one queryset per reason (`owner_reasons`), disjoint:
    a plan is in the first reason's set that it meets. Each is read through its own index
    (idx_bc_plan_owner_review_due, _drift, _changes, _exercise_due), so the cost follows the plans that
    need the person, never all the plans they own."""
    parts, earlier = [], Q()
    for reason in owner_reasons(today):
        part = owned_plans(user_id, org_id).filter(reason)
        parts.append(part.exclude(earlier) if earlier else part)
        earlier |= reason
    return parts


def outstanding_acknowledgements(user_id, org_id) -> QuerySet:
    """Acknowledgement links the person was sent for a version that is still their plan's approved one,
    and that they have not acknowledged (one row per plan and version)."""
    acked = Ack.objects.filter(plan_id=OuterRef("plan_id"), user_id=OuterRef("recipient_user_id"),
                               ack_version_number=OuterRef("version_number"))
    return (
        Notification.objects.filter(recipient_user_id=user_id, kind=Notification.Kind.ACK_LINK, plan__org_id=org_id,
                                    plan__approved_version__version_number=F("version_number"))
        .exclude(plan__status=Plan.Status.ARCHIVED)
        .filter(~Exists(acked))
    )


def attention_counts(user) -> AttentionCounts:
    """The person's organisation and their three counts, in one query (none for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return AttentionCounts()
    user_id, org = user.pk, OuterRef("organisation_id")
    row = (
        Membership.objects.filter(user_id=user_id)
        .annotate(
            reviews_waiting=count_subquery(waiting_reviews(user_id, org)),
            **{f"my_plans_{n}": count_subquery(part) for n, part in enumerate(plans_needing_owner(user_id, org))},
            acknowledgements=count_subquery(outstanding_acknowledgements(user_id, org)),
        )
        .values()
        .first()
    )
    if row is None:
        return AttentionCounts()
    my_plans = sum(value or 0 for key, value in row.items() if key.startswith("my_plans_"))
    return AttentionCounts(org_id=row["organisation_id"], reviews_waiting=row["reviews_waiting"] or 0,
                           my_plans=my_plans, acknowledgements=row["acknowledgements"] or 0)


def request_attention(request) -> AttentionCounts:
    """The counts for this request, read once however many templates ask."""
    counts = getattr(request, "_attention_counts", None)
    if counts is None:
        counts = request._attention_counts = attention_counts(request.user)
    return counts


def navigation(request) -> dict:
    """Context processor: `attention` (AttentionCounts), read on first use: a page without navigation pays nothing."""
    return {"attention": SimpleLazyObject(lambda: request_attention(request))}


@dataclass
class OwnedPlan:
    plan: Plan
    reasons: list[str]
    overdue: bool


def home_lists(user, counts: AttentionCounts, *, today: dt.date | None = None) -> dict:
    """What the home page lists: at most HOME_LIST_SIZE rows of each kind (a query for each non-empty count)."""
    today = today or timezone.localdate()
    org_id = counts.org_id
    reviews = []
    if counts.reviews_waiting:
        reviews = list(
            waiting_reviews(user.pk, org_id).select_related("plan", "version", "requested_by_user")
            .only("id", "round_number", "requested_at_utc", "plan__id", "plan__title", "version__id",
                  "version__version_number", "requested_by_user__id", "requested_by_user__username",
                  "requested_by_user__first_name", "requested_by_user__last_name")
            .order_by("requested_at_utc", "id")[:HOME_LIST_SIZE]
        )
    owned = []
    if counts.my_plans:
        parts = [part.annotate(urgency=Value(n)).only(*OWNED_COLUMNS).order_by()
                 for n, part in enumerate(plans_needing_owner(user.pk, org_id, today=today))]
        rows = parts[0].union(*parts[1:], all=True).order_by("urgency", "next_review_due", "-updated_at", "-id")
        for plan in rows[:HOME_LIST_SIZE]:
            reasons = []
            if plan.changes_requested:
                reasons.append("Changes requested")
            if plan.review_needed:
                reasons.append("Review needed: linked changes since approval")
            overdue = plan.next_review_due is not None and plan.next_review_due < today
            if plan.next_review_due is not None and plan.next_review_due <= _soon(today):
                reasons.append(f"Review {'overdue since' if overdue else 'due on'} {plan.next_review_due:%d %b %Y}")
            if plan.next_exercise_due is not None and plan.next_exercise_due <= today:
                reasons.append(f"Exercise overdue since {plan.next_exercise_due:%d %b %Y}" if plan.last_exercised_on
                               else "Never exercised since its approval")
            owned.append(OwnedPlan(plan=plan, reasons=reasons, overdue=overdue))
    acknowledgements = []
    if counts.acknowledgements:
        acknowledgements = list(
            outstanding_acknowledgements(user.pk, org_id).select_related("plan")
            .only("id", "version_number", "created_at_utc", "plan__id", "plan__title", "plan__approved_at_utc")
            .order_by("created_at_utc", "id")[:HOME_LIST_SIZE]
        )
    return {"waiting_reviews": reviews, "owned_plans": owned, "acknowledgements": acknowledgements,
            "list_size": HOME_LIST_SIZE}
