"""Workflow mail: queued with the change, delivered to a real local SMTP server; a failed send undoes nothing."""

import socket

import pytest

from plans.models import Notification, Plan
from reviews import services
from reviews.models import Review

from .ack_support import deliver_outbox

pytestmark = pytest.mark.django_db

SITE = "https://bcp.example.test"


@pytest.fixture(autouse=True)
def _site_and_hooks(settings, monkeypatch):
    settings.SITE_URL = SITE
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def test_each_reviewer_is_emailed_a_link_to_their_review_after_commit(
    smtp_server, plan, editor, reviewer, reviewer2, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reviews = services.plan_submit_for_review(plan=plan, actor=editor, reviewers=[reviewer, reviewer2])
        assert smtp_server.messages == []  # nothing leaves before the commit

    assert len(smtp_server.messages) == 2
    for review in reviews:
        (message,) = smtp_server.to(review.reviewer_user.email)
        assert message["Subject"] == "Review requested: Head office plan v1"
        link = f"{SITE}/reviews/{review.pk}/"
        text, html = smtp_server.text(message), smtp_server.html(message)
        assert link in text and f'href="{link}"' in html
        assert "Editor2 asks you to review version 1" in text
        assert f"{SITE}/plans/{plan.pk}/" in text


def test_each_decision_is_emailed_to_submitter_and_owner(
    smtp_server, plan, owner, editor, reviewer, reviewer2, django_capture_on_commit_callbacks
):
    first, second = services.plan_submit_for_review(plan=plan, actor=editor, reviewers=[reviewer, reviewer2])
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=first, actor=reviewer)
    assert sorted(m.envelope_rcpt_tos[0] for m in smtp_server.messages) == [editor.email, owner.email]
    message = smtp_server.to(owner.email)[0]
    assert message["Subject"] == "Review approved by Reviewer: Head office plan v1"
    assert "stays in review until every reviewer has approved" in smtp_server.text(message)

    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=second, actor=reviewer2)
    message = smtp_server.to(editor.email)[0]
    assert message["Subject"] == "Approved: Head office plan v1"
    assert "version 1 is now the approved plan" in smtp_server.text(message)
    assert f'href="{SITE}/plans/{plan.pk}/"' in smtp_server.html(message)


def test_changes_requested_mail_carries_the_notes(
    smtp_server, plan, owner, reviewer, django_capture_on_commit_callbacks
):
    (review,) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.review_request_changes(review=review, actor=reviewer, notes="Add the <payroll> contact & RTO.")

    (message,) = smtp_server.messages  # owner is also the submitter: one message
    assert message.envelope_rcpt_tos == [owner.email]
    assert message["Subject"] == "Changes requested: Head office plan v1"
    assert "Add the <payroll> contact & RTO." in smtp_server.text(message)
    assert "Add the &lt;payroll&gt; contact &amp; RTO." in smtp_server.html(message)


def test_a_failing_smtp_server_never_undoes_the_decision(
    settings, plan, owner, reviewer, caplog, django_capture_on_commit_callbacks
):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5

    with django_capture_on_commit_callbacks(execute=True):
        (review,) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=review, actor=reviewer)

    plan.refresh_from_db()
    assert plan.status == Plan.Status.APPROVED
    assert Review.objects.get().status == Review.Status.APPROVED
    assert "Opening the mail connection failed" in caplog.text
    # The mail is owed, not lost: queued for a later try, with the reason.
    owed = Notification.objects.filter(kind__in=[Notification.Kind.REVIEW_ASSIGNED, Notification.Kind.REVIEW_DECISION])
    assert sorted(owed.values_list("to_address", flat=True)) == ["owner@example.org", "reviewer@example.org"]
    assert all(n.status == Notification.Status.QUEUED and "could not be sent" in n.last_error for n in owed)
