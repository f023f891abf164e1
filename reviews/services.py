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

Anything else raises ServiceError with a message that says why. Every function locks
the plan row first (then the review row), so concurrent decisions are serialised and a
plan is approved exactly once. Mail and the approval hooks run after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import DateTimeField, Max, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from bcp_site.mail import render_email
from bcp_site.text import display_name
from plans import exports
from plans.models import Plan, PlanVersion
from plans.services import ServiceError, audit_record, member_check, working_copy_differs

from . import ack_mail
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


# Permissions come from Django's model backend (the login throttling backend grants none).
PERMISSIONS_BACKEND = "django.contrib.auth.backends.ModelBackend"


def organisation_reviewers(plan: Plan) -> QuerySet:
    """Active users of the plan's organisation who hold plans.approve_plan, ordered by name (one query)."""
    User = get_user_model()
    users = User.objects.with_perm(
        PERM_APPROVE, is_active=True, include_superusers=True, backend=PERMISSIONS_BACKEND
    ).filter(membership__organisation_id=plan.org_id)
    return users.distinct().order_by("first_name", "last_name", "username")


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
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        plan=locked, actor=actor, action=action,
        details={
            "from": previous, "to": Status.IN_REVIEW, "version": version.version_number,
            "round": round_number, "reviewers": [p.get_username() for p in reviewers],
        },
    )
    review_ids = [r.pk for r in reviews]
    transaction.on_commit(lambda: _mail_reviewers_assigned(review_ids))
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
    _mail_cancelled_on_commit(cancelled, reason=reason)
    return [review.reviewer_user.get_username() for review in cancelled]


def reviews_cancel_for_deleted_plans(sender, *, plan_ids, actor, **kwargs) -> None:
    """Receiver of `plans.attachments.plan_deleting`: the pending reviews of plans about to be
    deleted go with them (they cascade); their reviewers are emailed after the commit."""
    pending = Review.objects.filter(plan_id__in=plan_ids, status=Review.Status.PENDING).select_related(
        "plan", "version", "reviewer_user"
    )
    _mail_cancelled_on_commit(list(pending), reason=f"{_name(actor)} deleted the plan.", plan_deleted=True)


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
    acknowledgement links. Final approval of a re-confirmation (`plan_reconfirm`) moves
    `approved_at_utc` only: the version's exports and acknowledgement links were issued
    when it was first approved, and acknowledgements of it still hold.
    """
    with transaction.atomic():
        plan, locked = _lock_review_for_decision(
            review=review, actor=actor, perm=PERM_APPROVE,
            perm_message="Your role does not allow approving plans.", verb="approve",
        )
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
            plan.save(update_fields=["status", "approved_at_utc", "approved_version", "updated_at"])
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
            if not reconfirmed:
                version_id, version_number, plan_id = locked.version.pk, locked.version.version_number, plan.pk
                transaction.on_commit(lambda: _after_final_approval(plan_id, version_id, version_number))
        review_id = locked.pk
        transaction.on_commit(lambda: _mail_decision(review_id, final=final))
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
        plan.save(update_fields=["status", "updated_at"])
        audit_record(
            plan=plan, actor=actor, action="changes_requested",
            details={
                "from": Status.IN_REVIEW, "to": Status.DRAFT, "version": locked.version.version_number,
                "round": locked.round_number, "reviewer": actor.get_username(), "notes": notes,
                "cancelled_reviewers": cancelled,
            },
        )
        review_id = locked.pk
        transaction.on_commit(lambda: _mail_decision(review_id, final=False))
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


# --- after commit: hooks and mail --------------------------------------------------------


def _after_final_approval(plan_id: int, version_id: int, version_number: int) -> None:
    """Store the exports and send acknowledgement links; a failure is logged, never raised."""
    try:
        exports.version_exports_store(version_id=version_id)
    except Exception:
        logger.exception("Storing the exports of version %s (plan %s) failed", version_id, plan_id)
    try:
        ack_mail.ack_links_send_for_version(plan_id=plan_id, version_number=version_number)
    except Exception:
        logger.exception("Sending acknowledgement links for plan %s v%s failed", plan_id, version_number)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _send(prefix: str, context: dict, recipients: list) -> None:
    """Send one message per recipient (subject / text / HTML templates); failures are logged."""
    messages = []
    for user in recipients:
        if not user.email:
            continue
        ctx = {**context, "recipient": user, "recipient_name": _name(user)}
        email = render_email(f"reviews/email/{prefix}", ctx)
        message = EmailMultiAlternatives(email.subject, email.text, settings.DEFAULT_FROM_EMAIL, [user.email])
        message.attach_alternative(email.html, "text/html")
        messages.append(message)
    if not messages:
        return
    try:
        get_connection().send_messages(messages)
    except Exception:
        logger.exception("Sending %s mail to %s failed", prefix, ", ".join(m.to[0] for m in messages))


def _mail_reviewers_assigned(review_ids: list[int]) -> None:
    try:
        reviews = list(
            Review.objects.select_related("plan", "version", "reviewer_user", "requested_by_user").filter(
                pk__in=review_ids
            )
        )
        for review in reviews:
            _send(
                "review_assigned",
                {
                    "review": review, "plan": review.plan, "version": review.version,
                    "reconfirmation": review.version_id == review.plan.approved_version_id,
                    "submitter_name": _name(review.requested_by_user),
                    "review_url": absolute_url(reverse("reviews:review_detail", args=[review.pk])),
                    "plan_url": absolute_url(review.plan.get_absolute_url()),
                },
                [review.reviewer_user],
            )
    except Exception:
        logger.exception("Preparing review assignment mail failed")


def _mail_decision(review_id: int, *, final: bool) -> None:
    try:
        review = Review.objects.select_related(
            "plan", "plan__owner_user", "version", "reviewer_user", "requested_by_user"
        ).get(pk=review_id)
        plan = review.plan
        recipients = {u.pk: u for u in (review.requested_by_user, plan.owner_user)}
        _send(
            "review_decided",
            {
                "review": review, "plan": plan, "version": review.version, "final": final,
                "approved": review.status == Review.Status.APPROVED,
                "reviewer_name": _name(review.reviewer_user),
                "review_url": absolute_url(reverse("reviews:review_detail", args=[review.pk])),
                "plan_url": absolute_url(plan.get_absolute_url()),
            },
            list(recipients.values()),
        )
    except Exception:
        logger.exception("Preparing the decision mail for review %s failed", review_id)


def _mail_cancelled_on_commit(reviews: list[Review], *, reason: str, plan_deleted: bool = False) -> None:
    """After the commit, tell each reviewer that their pending review was cancelled, and why.

    The context is taken now: a deleted plan's reviews are gone by the time the mail is sent.
    """
    letters = [
        (review.reviewer_user, {
            "plan_title": review.plan.title, "version_number": review.version.version_number,
            "round_number": review.round_number, "reason": reason,
            "plan_url": "" if plan_deleted else absolute_url(review.plan.get_absolute_url()),
        })
        for review in reviews
    ]
    if letters:
        transaction.on_commit(lambda: _mail_cancelled(letters))


def _mail_cancelled(letters: list[tuple]) -> None:
    for user, context in letters:
        try:
            _send("review_cancelled", context, [user])
        except Exception:
            logger.exception("Preparing the cancellation mail for %s failed", user)
