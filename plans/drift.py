"""Drift that people notice: when linked changes arrive after a plan's approval.

`changes_import` records, per run, which plans received a change dated after their last
approval; `drift_digests_queue` then refreshes each plan's stored `review_needed` fact and
queues one digest email per plan to its owner through the outbox (the run's id in the
uniqueness key: one digest per plan per import run, however many changes it brought).
The digest is rendered at delivery (`drift_digest_render`, found by the outbox's renderer
discovery as this app's `outbox_renderers`).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from bcp_site.mail import RenderedEmail, render_email
from bcp_site.text import display_name

from .models import ChangeRecord, Notification, Plan
from .outbox import dedupe_key, notification_queue
from .plan_facts import plans_review_needed_refresh

Kind = Notification.Kind
DIGEST_CHANGES = 20  # changes listed in one digest; the rest are counted


def drift_digests_queue(*, run_id: str, changes_by_plan: dict[int, list[str]]) -> int:
    """Refresh `review_needed` of the plans an import linked, and queue a digest for each plan that
    received changes dated after its approval. `changes_by_plan`: plan id -> GUIDs linked in the run.
    Returns how many digests were queued."""
    if not changes_by_plan:
        return 0
    plans_review_needed_refresh(changes_by_plan)
    queued = 0
    flagged = (
        Plan.objects.filter(pk__in=changes_by_plan, review_needed=True, approved_at_utc__isnull=False)
        .select_related("owner_user", "org").order_by("pk")
    )
    for plan in flagged:
        newer = list(
            ChangeRecord.objects.filter(guid__in=changes_by_plan[plan.pk], occurred_at_utc__gt=plan.approved_at_utc)
            .order_by("-occurred_at_utc", "-id").values_list("guid", flat=True)
        )
        if not newer:
            continue  # this run's changes predate the approval; the flag is older news
        queued += notification_queue(
            kind=Kind.DRIFT, recipients=[plan.owner_user], org=plan.org, plan=plan,
            dedupe=dedupe_key("drift", plan.pk, run_id, "{user}"),
            context={"guids": newer[:DIGEST_CHANGES], "count": len(newer)},
        )
    return queued


def drift_digest_render(notification: Notification) -> RenderedEmail:
    plan = notification.plan
    guids = notification.context_json.get("guids") or []
    changes = list(ChangeRecord.objects.filter(guid__in=guids).order_by("-occurred_at_utc", "-id"))
    count = int(notification.context_json.get("count") or len(changes))
    return render_email("plans/email/drift_digest", {
        "recipient_name": display_name(notification.recipient_user),
        "plan_title": plan.title, "organisation": plan.org.name if plan.org else "",
        "approved_at": plan.approved_at_utc, "changes": changes, "count": count, "more": max(count - len(changes), 0),
        "plan_url": f"{settings.SITE_URL}{plan.get_absolute_url()}",
        "changes_url": f"{settings.SITE_URL}{reverse('changes:plan_changes', args=[plan.pk])}",
    })
