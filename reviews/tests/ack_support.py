"""Helpers shared by the acknowledgement tests (reviews/tests/test_ack_*.py, test_browser_ack.py)."""

from __future__ import annotations

import re
from contextlib import nullcontext

from django.db import transaction

from plans.models import Plan
from plans.services import plan_prepare_edit, version_create
from reviews.services import plan_submit_for_review, review_approve

LINK_RE = re.compile(r"https?://[^\s\"'<>]+/ack/l/[^\s\"'<>/]+/")


def approve(plan: Plan, *, submitter, approver, capture=None) -> Plan:
    """Approve the plan's active version through the real workflow services.

    `capture` is pytest-django's `django_capture_on_commit_callbacks` (tests inside a
    transaction); without it (transaction=True tests) the after-commit hooks run on commit.
    Then the outbox is delivered, as a worker would (`deliver_outbox`).
    """
    ctx = (lambda: capture(execute=True)) if capture else nullcontext
    with ctx():
        [review] = plan_submit_for_review(plan=plan, actor=submitter, reviewers=[approver])
    with ctx():
        review_approve(review=review, actor=approver)
    deliver_outbox()
    plan.refresh_from_db()
    return plan


def new_revision(plan: Plan, *, actor) -> None:
    """Start a new revision of an approved plan and save it as the next version (unchanged content)."""
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        plan_prepare_edit(plan=locked, actor=actor)
    version_create(plan=plan, actor=actor, note="Next revision")
    plan.refresh_from_db()


def deliver_outbox():
    """Deliver the queued mail now, with the workers' own loop (whatever the task backend did)."""
    from plans.outbox import outbox_deliver

    return outbox_deliver()


def links_in(text: str) -> list[str]:
    return LINK_RE.findall(text)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def skip_exports(monkeypatch) -> None:
    """Approval also renders the version's PDF/DOCX (another feature); these tests do not need them."""
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kwargs: None)


def links_call(kwargs: dict) -> dict:
    """What a test double of `ack_mail.ack_links_queue` records: which plan and version got links."""
    return {"plan_id": kwargs["plan"].pk, "version_number": kwargs["version_number"]}
