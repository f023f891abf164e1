"""How the outbox renders the emails of reviews (found by `plans.outbox.renderer_for`).

`plans` cannot import `reviews`; the outbox imports every app's `outbox_renderers` module the
first time it needs a renderer (the way the admin finds `admin` modules), and this module
registers one per kind. Rendering happens at delivery, on a worker, from the row's plan,
version and `context_json`.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from bcp_site.mail import RenderedEmail, render_email
from bcp_site.text import display_name
from plans.models import Notification
from plans.outbox import register_renderer

from .ack_mail import ack_mail_render
from .models import Review

Kind = Notification.Kind


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _review(notification: Notification) -> Review:
    return Review.objects.select_related("plan", "version", "reviewer_user", "requested_by_user").get(
        pk=notification.context_json["review_id"]
    )


def _recipient(notification: Notification) -> dict:
    user = notification.recipient_user
    return {"recipient": user, "recipient_name": display_name(user)}


def review_assigned_render(notification: Notification) -> RenderedEmail:
    review = _review(notification)
    return render_email("reviews/email/review_assigned", {
        **_recipient(notification),
        "review": review, "plan": review.plan, "version": review.version,
        "reconfirmation": bool(notification.context_json.get("reconfirmation")),  # as it was when queued
        "submitter_name": display_name(review.requested_by_user),
        "review_url": absolute_url(reverse("reviews:review_detail", args=[review.pk])),
        "plan_url": absolute_url(review.plan.get_absolute_url()),
    })


def review_decision_render(notification: Notification) -> RenderedEmail:
    review = _review(notification)
    return render_email("reviews/email/review_decided", {
        **_recipient(notification),
        "review": review, "plan": review.plan, "version": review.version,
        "final": bool(notification.context_json.get("final")),
        "approved": review.status == Review.Status.APPROVED,
        "reviewer_name": display_name(review.reviewer_user),
        "review_url": absolute_url(reverse("reviews:review_detail", args=[review.pk])),
        "plan_url": absolute_url(review.plan.get_absolute_url()),
    })


def review_cancelled_render(notification: Notification) -> RenderedEmail:
    # Everything was stored at queue time: a deleted plan's review is gone by now.
    return render_email("reviews/email/review_cancelled", {**_recipient(notification), **notification.context_json})


register_renderer(Kind.REVIEW_ASSIGNED, review_assigned_render)
register_renderer(Kind.REVIEW_DECISION, review_decision_render)
register_renderer(Kind.REVIEW_CANCELLED, review_cancelled_render)
for kind in (Kind.ACK_LINK, Kind.ACK_LINK_RESEND, Kind.ACK_REMINDER):
    register_renderer(kind, ack_mail_render)
