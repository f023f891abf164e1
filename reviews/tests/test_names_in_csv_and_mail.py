"""People are named, not numbered: the CSV downloads and every email show a person's name
(bcp_site.text.display_name), never their username, "User #N" or their address where the name belongs."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan, make_user
from reviews import services

from .ack_support import deliver_outbox, skip_exports

pytestmark = pytest.mark.django_db

SITE = "https://bcp.example.test"


@pytest.fixture(autouse=True)
def _site(settings, monkeypatch):
    settings.SITE_URL = SITE
    skip_exports(monkeypatch)


@pytest.fixture
def people(org):
    """Usernames that share nothing with the names, so a username shown instead of a name is caught."""
    return {
        "author": make_user(org, username="ob4471", first_name="Olivia", last_name="Banks", groups=["BCP Admin"]),
        "reviewer": make_user(org, username="rq2290", first_name="Rosa", last_name="Quint",
                              groups=["BCP Reviewer"], is_staff=True),
        "reviewer2": make_user(org, username="tk8815", first_name="Tomas", last_name="Kell",
                               groups=["BCP Reviewer"], is_staff=True),
        "reader": make_user(org, username="mz5102", first_name="Milan", last_name="Zeller", groups=["BCP Viewer"]),
    }


@pytest.fixture
def names_plan(org, people, template):
    return make_plan(org, people["author"], template=template, title="Warehouse plan")


def full_name(user) -> str:
    return f"{user.first_name} {user.last_name}"


def assert_named(text: str, people: dict, *, must_name=()) -> None:
    for user in must_name:
        assert full_name(user) in text
    for user in people.values():
        assert user.get_username() not in text
    assert "User #" not in text


def mail_parts(smtp_server, message) -> str:
    return "\n".join([str(message["Subject"]), smtp_server.text(message), smtp_server.html(message)])


def approve_with_two(plan, people, capture):
    """Submit to two reviewers, both approve: every review mail goes out on the way."""
    with capture(execute=True):
        first, second = services.plan_submit_for_review(
            plan=plan, actor=people["author"], reviewers=[people["reviewer"], people["reviewer2"]])
    with capture(execute=True):
        services.review_approve(review=first, actor=people["reviewer"])
    with capture(execute=True):
        services.review_approve(review=second, actor=people["reviewer2"])
    deliver_outbox()
    plan.refresh_from_db()
    return plan


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_audit_csv_names_the_actor(client, names_plan, people, django_capture_on_commit_callbacks):
    approve_with_two(names_plan, people, django_capture_on_commit_callbacks)
    client.force_login(people["author"])
    for url in (reverse("changes:plan_audit", args=[names_plan.pk]), reverse("changes:org_audit")):
        rows = read_csv(client.get(url, {"format": "csv"}))
        actors = {row["actor"] for row in rows}
        assert {"Olivia Banks", "Rosa Quint", "Tomas Kell"} <= actors
        assert_named("\n".join(actors), people)
        # The details in words name the reviewers the details record by username.
        words = "\n".join(row["details_in_words"] for row in rows)
        assert "Reviewers: Rosa Quint, Tomas Kell" in words and "Reviewer: Rosa Quint" in words
        assert_named(words, people)
        page = client.get(url).content.decode()
        assert "Reviewer: Rosa Quint" in page and "rq2290" not in page


def test_coverage_csv_names_each_person(client, names_plan, people, django_capture_on_commit_callbacks):
    approve_with_two(names_plan, people, django_capture_on_commit_callbacks)
    client.force_login(people["author"])
    rows = read_csv(client.get(reverse("acks:coverage_csv", args=[names_plan.pk])))
    by_username = {row["username"]: row["name"] for row in rows}
    assert by_username == {user.get_username(): full_name(user) for user in people.values()}
    assert_named("\n".join(by_username.values()), people)


def test_acknowledgement_and_reminder_mails_greet_by_name(
    smtp_server, names_plan, people, django_capture_on_commit_callbacks
):
    approve_with_two(names_plan, people, django_capture_on_commit_callbacks)
    reader = people["reader"]
    (link_mail,) = [m for m in smtp_server.to(reader.email) if m["Subject"].startswith("Please acknowledge")]
    body = mail_parts(smtp_server, link_mail)
    assert "Hello Milan Zeller," in smtp_server.text(link_mail) and "Hello Milan Zeller," in smtp_server.html(link_mail)
    assert_named(body, people, must_name=[reader])
    assert reader.email not in body

    names_plan.approved_at_utc = timezone.now() - timedelta(days=10)
    names_plan.save(update_fields=["approved_at_utc"])
    smtp_server.messages.clear()
    call_command("send_ack_reminders", stdout=io.StringIO())
    deliver_outbox()
    (reminder,) = smtp_server.to(reader.email)
    assert reminder["Subject"].startswith("Reminder:")
    body = mail_parts(smtp_server, reminder)
    assert "Hello Milan Zeller," in smtp_server.text(reminder)
    assert_named(body, people, must_name=[reader])
    assert reader.email not in body


def test_review_mails_name_the_submitter_and_the_reviewer(
    smtp_server, names_plan, people, django_capture_on_commit_callbacks
):
    author, reviewer = people["author"], people["reviewer"]
    approve_with_two(names_plan, people, django_capture_on_commit_callbacks)

    (assigned,) = [m for m in smtp_server.to(reviewer.email) if m["Subject"].startswith("Review requested")]
    assert "Olivia Banks asks you to review version 1" in smtp_server.text(assigned)
    assert_named(mail_parts(smtp_server, assigned), people, must_name=[author, reviewer])

    decisions = {m["Subject"]: m for m in smtp_server.to(author.email) if "Warehouse plan v1" in m["Subject"]}
    first = decisions["Review approved by Rosa Quint: Warehouse plan v1"]
    assert "Rosa Quint approved version 1" in smtp_server.text(first)
    final = decisions["Approved: Warehouse plan v1"]
    assert "Tomas Kell approved version 1" in smtp_server.text(final)
    for message in (first, final):
        assert_named(mail_parts(smtp_server, message), people, must_name=[author])


def test_changes_requested_and_withdrawn_mails_name_the_person(
    smtp_server, names_plan, people, django_capture_on_commit_callbacks
):
    author, reviewer, reviewer2 = people["author"], people["reviewer"], people["reviewer2"]
    with django_capture_on_commit_callbacks(execute=True):
        first, _second = services.plan_submit_for_review(plan=names_plan, actor=author, reviewers=[reviewer, reviewer2])
    with django_capture_on_commit_callbacks(execute=True):
        services.review_request_changes(review=first, actor=reviewer, notes="Add the loading-dock contact.")
    deliver_outbox()

    (changes,) = [m for m in smtp_server.to(author.email) if m["Subject"].startswith("Changes requested")]
    assert "Rosa Quint requested changes to version 1" in smtp_server.text(changes)
    assert_named(mail_parts(smtp_server, changes), people, must_name=[author, reviewer])
    (cancelled,) = [m for m in smtp_server.to(reviewer2.email) if m["Subject"].startswith("Review cancelled")]
    assert "Why: Rosa Quint requested changes" in smtp_server.text(cancelled)
    assert_named(mail_parts(smtp_server, cancelled), people, must_name=[reviewer2, reviewer])

    # Submitted again, then withdrawn by its submitter: the reviewer is told who withdrew it.
    names_plan.refresh_from_db()
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit_for_review(plan=names_plan, actor=author, reviewers=[reviewer2])
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_withdraw(plan=names_plan, actor=author)
    deliver_outbox()
    (withdrawn,) = [m for m in smtp_server.to(reviewer2.email) if m["Subject"].startswith("Review cancelled")]
    assert "Why: Olivia Banks withdrew the plan from review." in smtp_server.text(withdrawn)
    assert_named(mail_parts(smtp_server, withdrawn), people, must_name=[reviewer2, author])
