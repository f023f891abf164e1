"""Needs my attention: the home page, the navigation's counts, and the stored plan facts behind them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan, make_user
from plans.models import Plan
from reviews import services
from reviews.attention import attention_counts
from reviews.models import Ack

pytestmark = pytest.mark.django_db


def _approve(plan, owner, reviewer, capture):
    """Submit and approve through the services; after-commit work (exports) is not run."""
    with capture(execute=False):
        (review,) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        services.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()
    return plan


def _section(page: str, section_id: str) -> str:
    """The HTML of one list of the home page ("" when the page does not show it)."""
    start = page.find(f'id="{section_id}"')
    return "" if start < 0 else page[start:page.index("</section>", start)]


def _home(client, user):
    client.force_login(user)
    response = client.get(reverse("home:home"))
    assert response.status_code == 200
    return response.content.decode()


def test_login_lands_on_the_home_page_and_an_empty_home_says_so(client, org, member):
    member.set_password("a long enough password 1")
    member.save()
    response = client.post(reverse("login"), {"username": member.username, "password": "a long enough password 1"})
    assert response.status_code == 302 and response["Location"] == reverse("home:home")
    page = _home(client, member)
    assert "Nothing needs you right now" in page
    assert 'data-testid="attention-total"' not in page


def test_home_lists_waiting_reviews_changes_requested_due_dates_drift_and_acknowledgements(
    client, org, owner, reviewer, reviewer2, member, template, django_capture_on_commit_callbacks
):
    # A review waiting for `reviewer`.
    waiting = make_plan(org, owner, template=template, title="Payroll continuity")
    services.plan_submit_for_review(plan=waiting, actor=owner, reviewers=[reviewer])
    # A plan of `owner` with changes requested.
    asked = make_plan(org, owner, template=template, title="Warehouse plan")
    (review,) = services.plan_submit_for_review(plan=asked, actor=owner, reviewers=[reviewer2])
    services.review_request_changes(review=review, actor=reviewer2, notes="Add the forklift supplier.")
    # An approved plan of `owner` whose review date has passed, and one due in 10 days.
    overdue = _approve(make_plan(org, owner, template=template, title="Head office plan"), owner, reviewer2,
                       django_capture_on_commit_callbacks)
    Plan.objects.filter(pk=overdue.pk).update(next_review_due=timezone.localdate() - dt.timedelta(days=3))
    soon = _approve(make_plan(org, owner, template=template, title="Call centre plan"), owner, reviewer2,
                    django_capture_on_commit_callbacks)
    Plan.objects.filter(pk=soon.pk).update(next_review_due=timezone.localdate() + dt.timedelta(days=10))
    # Review needed (drift) on an approved plan of `owner`, due in a year.
    drifting = _approve(make_plan(org, owner, template=template, title="Data centre plan"), owner, reviewer2,
                        django_capture_on_commit_callbacks)
    Plan.objects.filter(pk=drifting.pk).update(review_needed=True)
    # Not due for a long time: not listed.
    quiet = _approve(make_plan(org, owner, template=template, title="Quiet plan"), owner, reviewer2,
                     django_capture_on_commit_callbacks)

    owner_page = _home(client, owner)
    mine = _section(owner_page, "my-plans")
    for title in ("Warehouse plan", "Head office plan", "Call centre plan", "Data centre plan"):
        assert title in mine
    assert "Quiet plan" not in mine and "Payroll continuity" not in mine
    assert "Changes requested" in mine and "Review needed: linked changes since approval" in mine
    assert "Review overdue since" in mine and "Review due on" in mine
    assert mine.index("Head office plan") < mine.index("Call centre plan")  # the most urgent first
    assert attention_counts(owner).my_plans == 4
    assert 'data-testid="attention-total"' in owner_page

    reviewer_page = _home(client, reviewer)
    assert "Payroll continuity" in _section(reviewer_page, "reviews-waiting")
    assert _section(owner_page, "reviews-waiting") == ""
    assert reverse("reviews:review_detail", args=[waiting.reviews.get().pk]) in reviewer_page
    assert 'data-testid="reviews-waiting"' in reviewer_page  # the navigation's count

    # `member` was sent a link for every approved plan: four to acknowledge until they do.
    to_read = _section(_home(client, member), "acknowledgements-due")
    assert all(title in to_read for title in ("Head office plan", "Call centre plan", "Data centre plan", "Quiet plan"))
    assert "Warehouse plan" not in to_read  # never approved
    Ack.objects.create(plan=quiet, user=member, ack_at_utc=timezone.now(),
                       ack_version_number=quiet.approved_version.version_number)
    to_read = _section(_home(client, member), "acknowledgements-due")
    assert "Quiet plan" not in to_read and "Head office plan" in to_read

    # Submitting the revision ends "changes requested"; approval ends "review needed".
    services.plan_submit_for_review(plan=asked, actor=owner, reviewers=[reviewer2])
    asked.refresh_from_db()
    assert asked.changes_requested is False


def test_another_organisations_items_never_show(client, org, other_org, owner, outsider, template,
                                                 django_capture_on_commit_callbacks):
    outsider_reviewer = make_user(other_org, username="far-reviewer", groups=["BCP Reviewer"])
    theirs = make_plan(other_org, outsider, template=template, title="Their secret plan")
    services.plan_submit_for_review(plan=theirs, actor=outsider, reviewers=[outsider_reviewer])
    Plan.objects.filter(pk=theirs.pk).update(review_needed=True, owner_user=owner)  # owned across the wall
    page = _home(client, owner)
    assert "Their secret plan" not in page and "Nothing needs you right now" in page


def test_home_and_navigation_cost_the_same_queries_at_any_size(
    client, org, owner, reviewer, member, template, django_assert_num_queries, django_capture_on_commit_callbacks
):
    def one_of_each(n):
        waiting = make_plan(org, owner, template=template, title=f"Waiting {n}")
        services.plan_submit_for_review(plan=waiting, actor=owner, reviewers=[reviewer])
        approved = _approve(make_plan(org, owner, template=template, title=f"Approved {n}"), owner, reviewer,
                            django_capture_on_commit_callbacks)
        Plan.objects.filter(pk=approved.pk).update(review_needed=True)

    def queries(user):
        client.force_login(user)
        client.get(reverse("home:home"))  # warm the session
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home:home")).status_code == 200
        return len(captured)

    one_of_each(0)
    small = {who.username: queries(who) for who in (owner, reviewer, member)}
    for n in range(1, 15):
        one_of_each(n)
    for n in range(30):
        make_user(org, username=f"colleague-{n}")
    large = {who.username: queries(who) for who in (owner, reviewer, member)}
    assert large == small
    # Session, user, permissions (groups), the counts, then one query per non-empty list.
    assert max(large.values()) <= 7
