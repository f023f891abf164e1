"""The review and approval workflow: the one place its rules live.

Pages (reviews.views), admin actions (reviews.admin_actions) and commands call these
functions, so a rule holds wherever the request starts. Transitions of a plan:

    draft      -> in_review   plan_submit_for_review
    approved   -> in_review   plan_reconfirm (the approved version again, unchanged, when its review is due)
    in_review  -> approved    review_approve (when every reviewer of the round approved);
                              plan_withdraw of a re-confirmation
    in_review  -> draft       review_request_changes, plan_withdraw
    approved   -> draft       plans.services.plan_prepare_edit (a new revision is started)
    approved   -> archived    plan_archive
    archived   -> draft       plan_restore (BCP administrators only)

Four eyes: nobody reviews a revision they contributed to (`reviews.contributors`).
Readiness: a version is submitted, re-confirmed or approved only when its snapshot has what a
review needs (`plans.readiness`); the refusal lists each blocker.

Anything else raises ServiceError with a message that says why. Every function locks
the plan row first (then the review row), so concurrent decisions are serialised and a
plan is approved exactly once. Mail is queued in the outbox with the change (plans.outbox) and
delivered after the commit; the approval hooks run after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import DateTimeField, Max, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bcp_site.text import display_name
from plans import exports
from plans.findings import findings_close_on_approval
from plans.models import Notification, Plan, PlanVersion
from plans.outbox import dedupe_key, notification_queue
from plans.plan_facts import plan_changes_requested, plan_facts_approved
from plans.readiness import version_readiness_refusal
from plans.services import ServiceError, audit_record, member_check, working_copy_differs

from . import ack_mail, coverage_counts
from .contributors import (
    NEVER,
    _approvals_before,
    _contribution_entries,
    reconfirmation_due_on,
    revision_contributors,
)
from .models import Review
from .permissions import (  # noqa: F401  (the PERM_* names are read as services.PERM_* by callers)
    PERM_APPROVE,
    PERM_ARCHIVE,
    PERM_REQUEST_CHANGES,
    PERM_RESTORE,
    PERM_SUBMIT,
    already_approved_refusal,
    independence_refusal,
    withdraw_refusal,
)

logger = logging.getLogger(__name__)

Status = Plan.Status



def _name(user) -> str:
    return display_name(user)


# --- reads -------------------------------------------------------------------------------


def organisation_reviewers(plan: Plan) -> QuerySet:
    """Active users of the plan's organisation who hold plans.approve_plan, ordered by name (one query).

    Who holds it is what Django's model backend says (the login throttling backend grants none):
    superusers, and holders of the permission directly or through a group. The holders are found
    by subqueries that do not depend on the person (no per-person join, no DISTINCT), so the cost
    stays small in a large organisation and a LIMIT can stop early.
    """
    User = get_user_model()
    app_label, codename = PERM_APPROVE.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).values("pk")
    through_group = User.groups.through.objects.filter(group__permissions__in=permission).values("user_id")
    directly = User.user_permissions.through.objects.filter(permission__in=permission).values("user_id")
    return (
        User.objects.filter(is_active=True, membership__organisation_id=plan.org_id)
        .filter(Q(is_superuser=True) | Q(pk__in=through_group) | Q(pk__in=directly))
        .order_by("first_name", "last_name", "username")
    )


def eligible_reviewers(plan: Plan, *, actor=None, version: PlanVersion | None = None) -> QuerySet:
    """The organisation's reviewers minus everyone who contributed to the revision `version`
    (default: the plan's active version, one query unless loaded) and, with `actor`, minus the
    person submitting it. The rule is `revision_contributors`'; runs one query when evaluated.
    """
    version = version if version is not None else plan.current_version
    excluded = {plan.owner_user_id}
    if actor is not None and getattr(actor, "pk", None):
        excluded.add(actor.pk)
    users = organisation_reviewers(plan)
    if version is not None:
        excluded.add(version.authored_by_user_id)
        last_approval = _approvals_before(plan, version).values("at_utc")[:1]
        since = Coalesce(Subquery(last_approval), Value(NEVER, output_field=DateTimeField()))
        users = users.exclude(pk__in=_contribution_entries(plan, since=since).values("actor_user_id"))
    return users.exclude(pk__in=excluded)


def current_round(plan: Plan) -> int:
    """The latest review round of the plan (0 before the first submission). One query."""
    return plan.reviews.aggregate(n=Max("round_number"))["n"] or 0


def plan_pending_review_for(*, plan: Plan, actor) -> Review:
    """The actor's pending review of the plan's current round, or ServiceError saying why there is none.

    Used where a person acts on a plan rather than on a review (the plan admin actions).
    """
    if plan.status != Status.IN_REVIEW:
        raise ServiceError(f"This plan is {plan.get_status_display().lower()}, not in review.", code="not_in_review")
    review = (
        plan.reviews.select_related("version", "requested_by_user")
        .filter(reviewer_user=actor, round_number=current_round(plan))
        .first()
    )
    version = review.version if review else plan.current_version
    _check_independent(
        plan=plan, actor=actor, version=version, submitter_id=review.requested_by_user_id if review else None
    )
    if review is None or review.status != Review.Status.PENDING:
        raise ServiceError("You have no pending review of this plan.", code="no_pending_review")
    return review


# --- checks ------------------------------------------------------------------------------


def _check_member(plan: Plan, actor) -> None:
    member_check(plan=plan, actor=actor)


def _check_perm(actor, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise ServiceError(message, code="permission")


def _check_independent(*, plan: Plan, actor, version: PlanVersion | None, submitter_id: int | None,
                       verb: str = "approve") -> None:
    """Nobody decides on a revision they contributed to (`permissions.independence_refusal`): two queries."""
    refusal = independence_refusal(plan=plan, actor=actor, version=version, submitter_id=submitter_id, verb=verb)
    if refusal:
        raise ServiceError(refusal, code="self_approval")


def _lock_plan(plan: Plan) -> Plan:
    return Plan.objects.select_for_update().get(pk=plan.pk)


def _refuse_transition(plan: Plan, wanted: str) -> ServiceError:
    """The message for a transition the plan's status does not allow."""
    status = plan.status
    reasons = {
        (Status.IN_REVIEW, "submit"): "This plan is already in review.",
        (Status.APPROVED, "submit"): (
            "This plan is approved. Change it (which starts a new revision) and save a revision before "
            "submitting it again."
        ),
        (Status.ARCHIVED, "submit"): "This plan is archived. Restore it before submitting it for review.",
        (Status.DRAFT, "withdraw"): "This plan is not in review, so there is nothing to withdraw.",
        (Status.APPROVED, "withdraw"): "This plan is approved, not in review, so there is nothing to withdraw.",
        (Status.ARCHIVED, "withdraw"): "This plan is archived, not in review, so there is nothing to withdraw.",
        (Status.DRAFT, "decide"): "This plan is a draft, not in review, so there is nothing to decide.",
        (Status.APPROVED, "decide"): "This plan is already approved.",
        (Status.ARCHIVED, "decide"): "This plan is archived, not in review.",
        (Status.DRAFT, "archive"): "Only an approved plan can be archived; this plan is a draft.",
        (Status.IN_REVIEW, "archive"): "This plan is in review. Withdraw it or wait for the decision before archiving.",
        (Status.ARCHIVED, "archive"): "This plan is already archived.",
        (Status.DRAFT, "restore"): "Only an archived plan can be restored; this plan is a draft.",
        (Status.IN_REVIEW, "restore"): "Only an archived plan can be restored; this plan is in review.",
        (Status.APPROVED, "restore"): "Only an archived plan can be restored; this plan is approved.",
    }
    return ServiceError(
        reasons.get((status, wanted), f"This is not possible while the plan is {plan.get_status_display().lower()}."),
        code="invalid_transition",
    )


# --- transitions -------------------------------------------------------------------------


def plan_submit_for_review(*, plan: Plan, actor, reviewers: Iterable) -> list[Review]:
    """Submit the plan's active version to one or more reviewers (draft -> in_review).

    The working copy must have been saved as a revision. Each reviewer must be eligible
    (`eligible_reviewers`); one review row per reviewer is created for the new round and
    each reviewer is emailed after the commit.
    """
    with transaction.atomic():
        _check_member(plan, actor)
        _check_perm(actor, PERM_SUBMIT, "Your role does not allow submitting plans for review.")
        locked = _lock_plan(plan)
        if locked.status != Status.DRAFT:
            raise _refuse_transition(locked, "submit")
        version = locked.current_version
        if version is None or working_copy_differs(locked, active=version):
            raise ServiceError(
                "Save a revision first: the working copy has changes that are not in a saved version.",
                code="unsaved_changes",
            )
        refusal = already_approved_refusal(locked, version)
        if refusal is not None:
            raise ServiceError(refusal, code="already_approved")
        not_ready = version_readiness_refusal(version, action="review")
        if not_ready is not None:
            raise not_ready
        reviews = _open_round(locked, version=version, actor=actor, reviewers=reviewers,
                              action="submitted_for_review")
    plan.status = locked.status
    return reviews


def plan_reconfirm(*, plan: Plan, actor, reviewers: Iterable) -> list[Review]:
    """Submit the approved version again, unchanged, for its periodic review (approved -> in_review).

    Allowed when the plan is approved, nothing changed since, and its review is due
    (`reconfirmation_due_on`). A new review round on the same version; its final approval
    re-confirms it (`approved_at_utc` moves, the `plan_approved` audit row says re-confirmed).
    Audits `reconfirmation_submitted`.
    """
    with transaction.atomic():
        _check_member(plan, actor)
        _check_perm(actor, PERM_SUBMIT, "Your role does not allow submitting plans for review.")
        locked = _lock_plan(plan)
        if locked.status != Status.APPROVED:
            raise ServiceError(
                f"Only an approved plan can be re-confirmed; this plan is {locked.get_status_display().lower()}.",
                code="invalid_transition",
            )
        version = locked.approved_version
        if version is None or locked.current_version_id != version.pk or working_copy_differs(locked, active=version):
            raise ServiceError(
                "This plan has changes that are not approved: save a revision and submit it for review instead.",
                code="unsaved_changes",
            )
        due_on = reconfirmation_due_on(locked, version)
        if due_on > timezone.localdate():
            raise ServiceError(
                f"Version {version.version_number} is not due for review until {due_on:%d %B %Y}, so it cannot "
                "be re-confirmed yet. To change the plan, start a new revision.",
                code="not_due",
            )
        not_ready = version_readiness_refusal(version, action="reconfirmation")
        if not_ready is not None:
            raise not_ready
        reviews = _open_round(locked, version=version, actor=actor, reviewers=reviewers,
                              action="reconfirmation_submitted")
    plan.status = locked.status
    return reviews


def _open_round(locked: Plan, *, version: PlanVersion, actor, reviewers: Iterable, action: str) -> list[Review]:
    """Check the reviewers, create the round's reviews, put the plan in review, audit `action`, mail after commit."""
    reviewers = list({r.pk: r for r in reviewers}.values())
    if not reviewers:
        raise ServiceError("Choose at least one reviewer.", code="no_reviewers")
    eligible = set(eligible_reviewers(locked, actor=actor, version=version).values_list("pk", flat=True))
    refused = [person for person in reviewers if person.pk not in eligible]
    if refused:
        person = refused[0]
        contributors = revision_contributors(locked, version=version, submitter_id=actor.pk)
        if person.pk == actor.pk:
            message = f"{_name(person)} cannot review this plan: you cannot review a plan you submit."
        elif person.pk in contributors:
            message = contributors.refusal(person)
        else:
            message = f"{_name(person)} cannot review this plan: they are not a reviewer in this plan's organisation."
        raise ServiceError(message, code="ineligible_reviewer")

    round_number = current_round(locked) + 1
    now = timezone.now()
    reviews = [
        Review.objects.create(
            plan=locked, version=version, round_number=round_number, requested_by_user=actor,
            reviewer_user=person, status=Review.Status.PENDING, requested_at_utc=now,
        )
        for person in reviewers
    ]
    previous = locked.status
    locked.status = Status.IN_REVIEW
    locked.save(update_fields=["status", "updated_at", *plan_changes_requested(locked, False)])
    audit_record(
        plan=locked, actor=actor, action=action,
        details={
            "from": previous, "to": Status.IN_REVIEW, "version": version.version_number,
            "round": round_number, "reviewers": [p.get_username() for p in reviewers],
        },
    )
    _mail_reviewers_assigned(locked, reviews)
    return reviews


def plan_withdraw(*, plan: Plan, actor) -> Plan:
    """Take the plan out of review (in_review -> draft); pending reviews of the round are cancelled.

    Withdrawing a re-confirmation returns the plan to approved: nothing in it changed.
    Allowed for the person who submitted the round and for the plan's owner.
    """
    with transaction.atomic():
        _check_member(plan, actor)
        locked = _lock_plan(plan)
        if locked.status != Status.IN_REVIEW:
            raise _refuse_transition(locked, "withdraw")
        round_number = current_round(locked)
        round_reviews = list(
            locked.reviews.select_for_update().filter(round_number=round_number)
        )
        refusal = withdraw_refusal(locked, actor, submitter_ids=(r.requested_by_user_id for r in round_reviews))
        if refusal is not None:
            raise ServiceError(refusal, code="not_submitter")
        cancelled = _cancel_pending(round_reviews, reason=f"{_name(actor)} withdrew the plan from review.")
        reconfirming = bool(round_reviews) and round_reviews[0].version_id == locked.approved_version_id
        locked.status = Status.APPROVED if reconfirming else Status.DRAFT
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            plan=locked, actor=actor, action="review_withdrawn",
            details={
                "from": Status.IN_REVIEW, "to": locked.status, "round": round_number,
                "version": round_reviews[0].version.version_number if round_reviews else None,
                "cancelled_reviewers": cancelled,
            },
        )
    plan.status = locked.status
    return locked


def _cancel_pending(reviews: Iterable[Review], *, reason: str) -> list[str]:
    """Cancel the pending reviews among `reviews`; each reviewer is emailed `reason` after the commit."""
    cancelled = []
    for review in reviews:
        if review.status == Review.Status.PENDING:
            review.status = Review.Status.CANCELLED
            review.save(update_fields=["status"])  # save(): history records it
            cancelled.append(review)
    _mail_cancelled(cancelled, reason=reason)
    return [review.reviewer_user.get_username() for review in cancelled]


def reviews_cancel_for_deleted_plans(sender, *, plan_ids, actor, **kwargs) -> None:
    """Receiver of `plans.attachments.plan_deleting`: the pending reviews of plans about to be
    deleted go with them (they cascade); their reviewers are emailed after the commit."""
    pending = Review.objects.filter(plan_id__in=plan_ids, status=Review.Status.PENDING).select_related(
        "plan", "version", "reviewer_user"
    )
    _mail_cancelled(list(pending), reason=f"{_name(actor)} deleted the plan.", plan_deleted=True)


def _lock_review_for_decision(*, review: Review, actor, perm: str, perm_message: str, verb: str):
    """Lock plan then review, and check that `actor` may decide it now. Returns (plan, review)."""
    _check_member(review.plan, actor)
    plan = _lock_plan(review.plan)
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.reviewer_user_id != actor.pk:
        raise ServiceError("Only the assigned reviewer can decide this review.", code="not_assigned")
    _check_perm(actor, perm, perm_message)
    _check_independent(
        plan=plan, actor=actor, version=locked.version, submitter_id=locked.requested_by_user_id, verb=verb
    )
    if locked.status == Review.Status.CANCELLED:
        raise ServiceError(
            "This review was cancelled (the plan was withdrawn or another reviewer requested changes).",
            code="review_closed",
        )
    if locked.status != Review.Status.PENDING:
        raise ServiceError(
            f"You already decided this review ({locked.get_status_display().lower()}).", code="already_decided"
        )
    if plan.status != Status.IN_REVIEW:
        raise _refuse_transition(plan, "decide")
    if locked.round_number != current_round(plan):
        raise ServiceError("This review belongs to an earlier review round.", code="review_closed")
    return plan, locked


def review_approve(*, review: Review, actor) -> Review:
    """Record the reviewer's approval; when every review of the round is approved, approve the plan.

    Final approval sets `approved_at_utc`, `approved_version` (the submitted version) and
    status approved, records the approval on the version (`approved_at_utc`, `approval_round`:
    the first approval only), and after the commit stores the version's exports and sends the
    acknowledgement links; the findings ticked on the version close (`plans.findings`). Final
    approval of a re-confirmation (`plan_reconfirm`) moves `approved_at_utc` only: the version's
    exports and acknowledgement links were issued when it was first approved, and acknowledgements
    of it still hold.
    """
    with transaction.atomic():
        plan, locked = _lock_review_for_decision(
            review=review, actor=actor, perm=PERM_APPROVE,
            perm_message="Your role does not allow approving plans.", verb="approve",
        )
        not_ready = version_readiness_refusal(locked.version, action="approval")
        if not_ready is not None:
            raise not_ready
        now = timezone.now()
        locked.status = Review.Status.APPROVED
        locked.decided_at_utc = now
        locked.save(update_fields=["status", "decided_at_utc"])
        outstanding = (
            plan.reviews.filter(round_number=locked.round_number).exclude(status=Review.Status.APPROVED).exists()
        )
        final = not outstanding
        audit_record(
            plan=plan, actor=actor, action="review_approved",
            details={
                "from": Status.IN_REVIEW, "to": Status.APPROVED if final else Status.IN_REVIEW,
                "version": locked.version.version_number, "round": locked.round_number,
                "reviewer": actor.get_username(),
            },
        )
        if final:
            reconfirmed = plan.approved_version_id == locked.version_id
            plan.status = Status.APPROVED
            plan.approved_at_utc = now
            plan.approved_version = locked.version
            facts = plan_facts_approved(plan, locked.version)
            plan.save(update_fields=["status", "approved_at_utc", "approved_version", "updated_at", *facts])
            version = locked.version
            if version.approved_at_utc is None:  # a re-confirmation keeps the version's first approval
                version.approved_at_utc, version.approval_round = now, locked.round_number
                version.save(update_fields=["approved_at_utc", "approval_round"])
            details = {
                "from": Status.IN_REVIEW, "to": Status.APPROVED, "version": locked.version.version_number,
                "round": locked.round_number,
            }
            audit_record(plan=plan, actor=actor, action="plan_approved",
                         details={**details, "reconfirmed": True} if reconfirmed else details)
            findings_close_on_approval(plan=plan, version=version, actor=actor)  # the findings it addresses
            coverage_counts.version_approved(plan.pk, version.version_number)  # its acknowledgements' count
            if not reconfirmed:
                version_id, version_number, plan_id = locked.version.pk, locked.version.version_number, plan.pk
                ack_mail.ack_links_queue(plan=plan, version_number=version_number)
                transaction.on_commit(lambda: _after_final_approval(plan_id, version_id, version_number))
        _mail_decision(plan, locked, final=final)
    review.status, review.decided_at_utc = locked.status, locked.decided_at_utc
    return locked


def review_request_changes(*, review: Review, actor, notes: str) -> Review:
    """Record a request for changes (notes required): the plan goes back to draft and the
    other pending reviews of the round are cancelled."""
    notes = (notes or "").strip()
    with transaction.atomic():
        plan, locked = _lock_review_for_decision(
            review=review, actor=actor, perm=PERM_REQUEST_CHANGES,
            perm_message="Your role does not allow requesting changes to plans.", verb="review",
        )
        if not notes:
            raise ServiceError("Notes are required when requesting changes.", code="notes_required")
        now = timezone.now()
        locked.status = Review.Status.CHANGES_REQUESTED
        locked.decided_at_utc = now
        locked.notes = notes
        locked.save(update_fields=["status", "decided_at_utc", "notes"])
        others = plan.reviews.select_for_update().filter(round_number=locked.round_number).exclude(pk=locked.pk)
        cancelled = _cancel_pending(
            others, reason=f"{_name(actor)} requested changes, so the plan is back in draft and this round is over."
        )
        plan.status = Status.DRAFT
        plan.save(update_fields=["status", "updated_at", *plan_changes_requested(plan, True)])
        audit_record(
            plan=plan, actor=actor, action="changes_requested",
            details={
                "from": Status.IN_REVIEW, "to": Status.DRAFT, "version": locked.version.version_number,
                "round": locked.round_number, "reviewer": actor.get_username(), "notes": notes,
                "cancelled_reviewers": cancelled,
            },
        )
        _mail_decision(plan, locked, final=False)
    review.status, review.decided_at_utc, review.notes = locked.status, locked.decided_at_utc, locked.notes
    return locked


def plan_archive(*, plan: Plan, actor) -> Plan:
    """Archive an approved plan (approved -> archived); the approved version stays recorded."""
    with transaction.atomic():
        _check_member(plan, actor)
        _check_perm(actor, PERM_ARCHIVE, "Your role does not allow archiving plans.")
        locked = _lock_plan(plan)
        if locked.status != Status.APPROVED:
            raise _refuse_transition(locked, "archive")
        locked.status = Status.ARCHIVED
        locked.save(update_fields=["status", "updated_at"])
        # None are pending in the usual flow (an approved plan's rounds are over); any left are closed.
        _cancel_pending(locked.reviews.select_for_update().filter(status=Review.Status.PENDING),
                        reason=f"{_name(actor)} archived the plan.")
        audit_record(
            plan=locked, actor=actor, action="plan_archived",
            details={
                "from": Status.APPROVED, "to": Status.ARCHIVED,
                "version": locked.approved_version.version_number if locked.approved_version else None,
            },
        )
    plan.status = locked.status
    return locked


def plan_restore(*, plan: Plan, actor) -> Plan:
    """Restore an archived plan to draft (BCP administrators only); `approved_version` is kept."""
    with transaction.atomic():
        _check_member(plan, actor)
        locked = _lock_plan(plan)
        if locked.status != Status.ARCHIVED:
            raise _refuse_transition(locked, "restore")
        _check_perm(actor, PERM_RESTORE, "This plan is archived; only a BCP administrator can restore it.")
        locked.status = Status.DRAFT
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            plan=locked, actor=actor, action="plan_restored",
            details={
                "from": Status.ARCHIVED, "to": Status.DRAFT,
                "version": locked.current_version.version_number if locked.current_version else None,
            },
        )
    plan.status = locked.status
    return locked


# --- after commit: hooks; mail through the outbox ---------------------------------------


def _after_final_approval(plan_id: int, version_id: int, version_number: int) -> None:
    """Store the exports; a failure is logged, never raised (the links were queued with the approval)."""
    try:
        exports.version_exports_enqueue(version_id=version_id)  # rendered by a background task
    except Exception:
        logger.exception("Storing the exports of version %s (plan %s) failed", version_id, plan_id)


# Mail is queued in the outbox in the same transaction as the change it announces
# (plans.outbox): it is delivered after the commit, and never if the change rolls back.
# The renderers (reviews.outbox_renderers) read the review when the mail goes out.


def _mail_reviewers_assigned(plan: Plan, reviews: list[Review]) -> None:
    for review in reviews:
        # Whether this round re-confirms the approved version is decided now: by the time the
        # mail is rendered the plan may be approved again.
        reconfirmation = review.version_id == plan.approved_version_id
        notification_queue(
            kind=Notification.Kind.REVIEW_ASSIGNED, recipients=[review.reviewer_user], org=plan.org, plan=plan,
            version_number=review.version.version_number,
            context={"review_id": review.pk, "reconfirmation": reconfirmation},
            dedupe=dedupe_key(Notification.Kind.REVIEW_ASSIGNED, review.pk),
        )


def _mail_decision(plan: Plan, review: Review, *, final: bool) -> None:
    """Tell the submitter and the plan's owner (once each) how the reviewer decided."""
    recipients = {u.pk: u for u in (review.requested_by_user, plan.owner_user)}
    notification_queue(
        kind=Notification.Kind.REVIEW_DECISION, recipients=recipients.values(), org=plan.org, plan=plan,
        version_number=review.version.version_number, context={"review_id": review.pk, "final": final},
        dedupe=dedupe_key(Notification.Kind.REVIEW_DECISION, review.pk, "{user}"),
    )


def _mail_cancelled(reviews: list[Review], *, reason: str, plan_deleted: bool = False) -> None:
    """Tell each reviewer that their pending review was cancelled, and why (queued with the change).

    The whole context is stored now: a deleted plan's reviews are gone by the time the mail is
    sent, and its rows carry no plan (they would go with it).
    """
    for review in reviews:
        context = {
            "plan_title": review.plan.title, "version_number": review.version.version_number,
            "round_number": review.round_number, "reason": reason,
            "plan_url": "" if plan_deleted else absolute_url(review.plan.get_absolute_url()),
        }
        notification_queue(
            kind=Notification.Kind.REVIEW_CANCELLED, recipients=[review.reviewer_user], org=review.plan.org,
            plan=None if plan_deleted else review.plan, version_number=review.version.version_number,
            context=context,
            dedupe=dedupe_key(Notification.Kind.REVIEW_CANCELLED, review.pk),
        )


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
