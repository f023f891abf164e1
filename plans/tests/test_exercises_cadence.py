"""Exercise cadence: a plan whose last held exercise is older than its exercise interval, or that was never
exercised since its approval, is flagged on the plan list (badge and filter), the plan page and the owner's
"Needs me" home. Only plans with an interval (the template's exercise_interval role) and an approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan
from plans.models import Plan, PlanVersion
from plans.plan_facts import add_months
from plans.services import plan_section_update
from reviews.attention import attention_counts
from reviews.services import plan_archive

from .exercise_support import approve, cadence_template, held_exercise, save_revision

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def cadenced(org, owner):
    """A plan of a template whose testing section gives the exercise interval (quarterly: 3 months)."""
    return make_plan(org, owner, template=cadence_template(), title="Depot plan")


def flagged_in_list(client, **params) -> bool:
    page = client.get(reverse("plans:plan_list"), params).content.decode()
    return ">Exercise due</span>" in page


def home_reasons(client) -> str:
    return client.get(reverse("home:home")).content.decode()


def test_never_exercised_is_due_from_the_first_approval(client, cadenced, owner, reviewer):
    client.force_login(owner)
    assert cadenced.next_exercise_due is None and not flagged_in_list(client)  # not approved: nothing is due

    approve(cadenced, submitter=owner, approver=reviewer)
    assert (cadenced.exercise_interval_months, cadenced.next_exercise_due) == (3, TODAY())
    assert flagged_in_list(client)
    assert "Depot plan" in client.get(reverse("plans:plan_list"), {"exercise_due": "on"}).content.decode()
    page = client.get(cadenced.get_absolute_url()).content.decode()
    assert 'data-testid="exercise-flag"' in page and "Never exercised: due since its approval" in page
    assert "Never exercised since its approval" in home_reasons(client)
    assert attention_counts(owner).my_plans == 1


def test_a_held_exercise_moves_the_due_date(client, cadenced, owner, reviewer):
    client.force_login(owner)
    approve(cadenced, submitter=owner, approver=reviewer)
    held_exercise(cadenced, actor=owner, held_on=TODAY())
    cadenced.refresh_from_db()
    assert (cadenced.last_exercised_on, cadenced.next_exercise_due) == (TODAY(), add_months(TODAY(), 3))
    assert not flagged_in_list(client)
    assert "Depot plan" not in client.get(reverse("plans:plan_list"), {"exercise_due": "on"}).content.decode()
    page = client.get(cadenced.get_absolute_url()).content.decode()
    assert 'data-testid="exercise-flag"' not in page and f"Last held {TODAY():%d %b %Y}" in page
    assert attention_counts(owner).my_plans == 0


@pytest.mark.parametrize("due_in_days, flagged", [(1, False), (0, True), (-1, True)])
def test_an_exercise_older_than_the_interval_flags_the_plan(client, cadenced, owner, reviewer, due_in_days, flagged):
    """Held so that the next one is due tomorrow (not flagged), today or yesterday (flagged)."""
    client.force_login(owner)
    approve(cadenced, submitter=owner, approver=reviewer)
    due = TODAY() + dt.timedelta(days=due_in_days)
    held_on = add_months(due, -3)
    assert add_months(held_on, 3) == due  # a day that maps back exactly (not the 31st)
    held_exercise(cadenced, actor=owner, held_on=held_on)
    cadenced.refresh_from_db()
    assert cadenced.next_exercise_due == due
    assert flagged_in_list(client) is flagged
    assert ("Exercise overdue since" in home_reasons(client)) is flagged
    assert bool(attention_counts(owner).my_plans) is flagged


def test_a_second_approval_keeps_the_first_approval_day_and_takes_the_new_interval(cadenced, owner, reviewer):
    approve(cadenced, submitter=owner, approver=reviewer)
    first = timezone.now() - dt.timedelta(days=40)
    PlanVersion.objects.filter(plan=cadenced).update(approved_at_utc=first)
    save_revision(cadenced, actor=owner)
    approve(cadenced, submitter=owner, approver=reviewer)
    assert cadenced.next_exercise_due == timezone.localdate(first)

    held_exercise(cadenced, actor=owner, held_on=TODAY())
    values = {"exercise_frequency": "annually"}
    plan_section_update(plan=cadenced, section_key="testing", values=values, actor=owner, expected_revision=None)
    save_revision(cadenced, actor=owner)
    approve(cadenced, submitter=owner, approver=reviewer)
    assert (cadenced.exercise_interval_months, cadenced.next_exercise_due) == (12, add_months(TODAY(), 12))


def test_plans_without_an_interval_or_archived_are_never_flagged(client, plan, cadenced, owner, reviewer, bcp_admin):
    client.force_login(owner)
    approve(plan, submitter=owner, approver=reviewer)  # the small template gives no exercise interval
    assert (plan.exercise_interval_months, plan.next_exercise_due) == (None, None)
    approve(cadenced, submitter=owner, approver=reviewer)
    plan_archive(plan=cadenced, actor=bcp_admin)
    assert not flagged_in_list(client)
    filtered = client.get(reverse("plans:plan_list"), {"exercise_due": "on"}).content.decode()
    assert "Depot plan" not in filtered and "Head office plan" not in filtered
    assert attention_counts(owner).my_plans == 0
    assert Plan.objects.get(pk=cadenced.pk).next_exercise_due == TODAY()  # the fact stays; archived plans are quiet


def test_the_navigation_counts_stay_one_query(cadenced, owner, reviewer, django_assert_num_queries):
    approve(cadenced, submitter=owner, approver=reviewer)
    with django_assert_num_queries(1):
        counts = attention_counts(owner)
    assert counts.my_plans == 1
