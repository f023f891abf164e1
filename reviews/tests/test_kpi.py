"""KPIs: each metric computed from a known set of plans, people and acknowledgements (reviews.kpi)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_org, make_plan, make_user
from plans.models import Exercise, Finding, Plan
from reviews.ack_coverage import ack_coverage
from reviews.coverage_counts import coverage_recount
from reviews.distribution import distribution_set, distribution_users
from reviews.kpi import COUNT, PERCENT, Metric, figures, format_value, metrics, percent_of, register_metric
from reviews.models import Ack

from .kpi_support import plan_in_state

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)


def _by_key(org_id, today=TODAY) -> dict:
    return {figure.metric.key: figure for figure in figures(org_id, today=today)}


@pytest.fixture
def plans(org, owner, template):
    """Six plans of the organisation in known states (review dates around TODAY), and one elsewhere."""
    day = dt.timedelta(days=1)
    made = {
        "in_date": plan_in_state(org, owner, template, title="In date", review_due=TODAY,  # due today: not overdue
                                 exercise_due=TODAY + day),
        "in_date_draft": plan_in_state(org, owner, template, title="Revising", status=Plan.Status.DRAFT,
                                       review_due=TODAY + 30 * day, exercise_due=TODAY),  # exercise due today
        "overdue": plan_in_state(org, owner, template, title="Overdue", review_due=TODAY - day, drifting=True,
                                 exercise_due=TODAY - 10 * day),
        "never_approved": plan_in_state(org, owner, template, title="Never approved", approved=False),
        "archived": plan_in_state(org, owner, template, title="Archived", status=Plan.Status.ARCHIVED,
                                  review_due=TODAY - 90 * day, exercise_due=TODAY - 90 * day),
        "drifting_draft": plan_in_state(org, owner, template, title="Drifting draft", approved=False, drifting=True),
    }
    elsewhere = make_org("Elsewhere Ltd")
    other_owner = make_user(elsewhere, username="elsewhere-owner", groups=["BCP Editor"])
    plan_in_state(elsewhere, other_owner, template, title="Elsewhere overdue", review_due=TODAY - 5 * day,
                  drifting=True)
    return made


def test_plan_metrics_from_known_plans(org, plans):
    got = _by_key(org.pk)
    # In use: every plan but the archived one (5); approved and in date: "In date" (due today) and "Revising".
    in_date = got["plans_review_in_date"]
    assert (in_date.numerator, in_date.denominator, in_date.display) == (2, 5, "40%")
    assert got["plans_review_overdue"].display == "1"  # "Overdue"; the archived one is not in use
    assert got["plans_drifting"].display == "2"  # "Overdue" and "Drifting draft"; nothing of the other organisation
    # Must be exercised (an interval, in use): "In date", "Revising", "Overdue"; not due yet: "In date" only.
    exercised = got["plans_exercised_in_interval"]
    assert (exercised.numerator, exercised.denominator, exercised.display) == (1, 3, "33.3%")


def test_an_organisation_without_plans_has_nothing_to_count(org):
    got = _by_key(org.pk)
    assert got["plans_review_in_date"].value is None and got["plans_review_in_date"].display == "—"
    assert got["ack_coverage"].display == "—"
    assert got["plans_review_overdue"].display == "0"


def test_each_figure_is_the_number_of_items_on_the_list_it_links_to(client, org, plans, bcp_admin):
    """The plan list filters behind the figures list exactly the plans counted (on the real today)."""
    today = timezone.localdate()
    offset = today - TODAY
    for plan in Plan.objects.filter(org=org):  # move the fixture's dates to today
        Plan.objects.filter(pk=plan.pk).update(
            next_review_due=plan.next_review_due and plan.next_review_due + offset,
            next_exercise_due=plan.next_exercise_due and plan.next_exercise_due + offset,
        )
    client.force_login(bcp_admin)
    got = _by_key(org.pk, today=today)
    expected = {
        "plans_review_in_date": {"In date", "Revising"},
        "plans_review_overdue": {"Overdue"},
        "plans_drifting": {"Overdue", "Drifting draft"},
        "plans_exercised_in_interval": {"Revising", "Overdue"},  # the items: plans whose exercise is due
    }
    for key, titles in expected.items():
        url = got[key].metric.items_url()
        page = client.get(url).content.decode()
        shown = {t for t in ("In date", "Revising", "Overdue", "Never approved", "Archived", "Drifting draft")
                 if f">{t}</a>" in page}
        assert shown == titles, (key, url, shown)
    assert got["plans_review_in_date"].numerator == 2 and got["plans_review_overdue"].numerator == 1


def test_acknowledgement_coverage_over_every_approved_plan(org, owner, template, member, reviewer, bcp_admin):
    """Everyone (no distribution rows) on one plan, a chosen list on another; only the approved version's
    acknowledgements by people on the distribution count; auditors and deactivated people are on none."""
    auditor = make_user(org, username="auditor", groups=["BCP Auditor"])
    gone = make_user(org, username="gone")
    everyone = plan_in_state(org, owner, template, title="Everyone", review_due=TODAY)
    chosen = plan_in_state(org, owner, template, title="Chosen", review_due=TODAY)
    draft = plan_in_state(org, owner, template, title="Not approved", approved=False)
    distribution_set(plan=chosen, actor=bcp_admin, users=[member, reviewer], groups=[])
    gone.is_active = False
    gone.save()
    now = timezone.now()
    Ack.objects.bulk_create([
        Ack(plan=everyone, user=member, ack_version_number=1, ack_at_utc=now),
        Ack(plan=everyone, user=owner, ack_version_number=1, ack_at_utc=now),
        Ack(plan=everyone, user=gone, ack_version_number=1, ack_at_utc=now),  # deactivated: not counted
        Ack(plan=chosen, user=member, ack_version_number=1, ack_at_utc=now),
        Ack(plan=chosen, user=owner, ack_version_number=1, ack_at_utc=now),  # not on that distribution
        Ack(plan=draft, user=member, ack_version_number=1, ack_at_utc=now),  # no approved version
    ])
    coverage_recount(org.pk)  # bulk inserts send no signals
    # Active members: owner, member, reviewer, bcp_admin (the auditor is on no distribution).
    assert auditor not in distribution_users(everyone)
    coverage = _by_key(org.pk)["ack_coverage"]
    assert (coverage.numerator, coverage.denominator) == (2 + 1, 4 + 2)
    assert coverage.display == "50%"
    per_plan = [ack_coverage(p) for p in (everyone, chosen)]
    assert coverage.numerator == sum(c.acknowledged_count for c in per_plan)
    assert coverage.denominator == sum(c.total for c in per_plan)


def test_acknowledgement_coverage_of_a_group_distribution_matches_the_plan_page(org, owner, template, member,
                                                                               reviewer, reviewer2, bcp_admin):
    from django.contrib.auth.models import Group

    plan = plan_in_state(org, owner, template, title="Reviewers read it", review_due=TODAY)
    distribution_set(plan=plan, actor=bcp_admin, users=[member],
                     groups=[Group.objects.get(name="BCP Reviewer")])
    Ack.objects.create(plan=plan, user=reviewer2, ack_version_number=1, ack_at_utc=timezone.now())
    coverage = _by_key(org.pk)["ack_coverage"]
    page = ack_coverage(plan)
    assert (coverage.numerator, coverage.denominator) == (page.acknowledged_count, page.total) == (1, 3)


def test_every_figure_in_one_query_per_kind_of_rows(org, owner, template, django_assert_num_queries):
    """Plans, approved plans with their coverage, findings, vendors, exercise and incident recoveries: six
    aggregates, whatever the data."""
    plan_in_state(org, owner, template, title="Everyone", review_due=TODAY)
    with django_assert_num_queries(6):
        figures(org.pk, today=TODAY)


def test_vendors_with_stale_evidence_or_an_rto_gap(org, other_org, owner, template):
    from plans.models import Process, ProcessVendor, Vendor
    from plans.vendors import vendor_name_key

    def vendor(name, *, org=org, evidence_days=None, minutes=None):
        now = timezone.now()
        return Vendor.objects.create(
            org=org, name=name, name_key=vendor_name_key(name), recovery_minutes=minutes,
            evidence_on=TODAY - dt.timedelta(days=evidence_days) if evidence_days is not None else None,
            created_at_utc=now, updated_at_utc=now)

    plan = plan_in_state(org, owner, template, title="Vendors", review_due=TODAY)
    process = Process.objects.create(plan=plan, name="Payroll", rto_minutes=240, mtpd_minutes=1440)
    fresh_slow = vendor("Slow Cloud", evidence_days=365, minutes=300)  # 365 days: fresh; 300 > 240: a gap
    stale_fast = vendor("Old Courier", evidence_days=366, minutes=240)  # 366 days: stale; equal RTO: fine
    vendor("Never asked")  # no evidence at all: stale
    vendor("Elsewhere", org=other_org)  # another organisation's: not counted
    for supplier in (fresh_slow, stale_fast):
        ProcessVendor.objects.create(process=process, vendor=supplier)
    values = _by_key(org.pk)
    assert values["vendors_stale_evidence"].numerator == 2
    assert values["vendors_rto_gap"].numerator == 1


def _finding(plan, owner, *, status, due_on):
    exercise = Exercise.objects.create(
        plan=plan, version=plan.current_version, exercise_type=Exercise.Type.TABLETOP, title="Tabletop",
        scheduled_on=TODAY, held_on=TODAY, status=Exercise.Status.HELD, created_at_utc=timezone.now(),
    )
    return Finding.objects.create(
        plan=plan, exercise=exercise, description="Call tree out of date", severity=Finding.Severity.HIGH,
        owner_user=owner, due_on=due_on, status=status, raised_at_utc=timezone.now(),
        risk_accepted_reason="Accepted" if status == Finding.Status.RISK_ACCEPTED else "",
    )


def test_findings_open_and_overdue(org, owner, template):
    plan = plan_in_state(org, owner, template, title="Exercised", review_due=TODAY)
    day = dt.timedelta(days=1)
    _finding(plan, owner, status=Finding.Status.OPEN, due_on=TODAY - day)  # open, overdue
    _finding(plan, owner, status=Finding.Status.IN_PROGRESS, due_on=TODAY)  # open, due today
    _finding(plan, owner, status=Finding.Status.DONE, due_on=TODAY - day)  # closed
    _finding(plan, owner, status=Finding.Status.RISK_ACCEPTED, due_on=TODAY - day)  # closed
    got = _by_key(org.pk)
    assert (got["findings_open"].display, got["findings_overdue"].display) == ("2", "1")


def test_the_registry_takes_new_metrics_and_computes_them_with_the_others(org, plans):
    from django.db.models import Count, Q

    from reviews import kpi
    from reviews.kpi_metrics import org_plans

    with pytest.raises(ValueError, match="denominator"):
        register_metric(Metric(key="bad", label="Bad", unit=PERCENT, rows=org_plans,
                               numerator=lambda today: Count("pk")))
    before = dict(kpi._registry)
    try:
        register_metric(Metric(key="test_drafts", label="Drafts", unit=COUNT, rows=org_plans,
                               numerator=lambda today: Count("pk", filter=Q(status=Plan.Status.DRAFT)), order=999))
        assert metrics()[-1].key == "test_drafts"
        assert _by_key(org.pk)["test_drafts"].display == "3"  # Revising, Never approved, Drifting draft
    finally:
        kpi._registry.clear()
        kpi._registry.update(before)


def test_values_round_down_and_read_well():
    assert percent_of(2, 3) == Decimal("66.6") and percent_of(3, 3) == Decimal("100.0")
    assert percent_of(0, 0) is None
    assert format_value(Decimal("100.0"), PERCENT) == "100%"
    assert format_value(Decimal("66.6"), PERCENT) == "66.6%"
    assert format_value(Decimal("7"), COUNT) == "7"
    assert format_value(None, COUNT) == "—"


def test_approving_through_the_workflow_counts_as_in_date(org, owner, reviewer, template,
                                                          django_capture_on_commit_callbacks):
    from reviews import services

    plan = make_plan(org, owner, template=template, title="Real approval")
    with django_capture_on_commit_callbacks(execute=False):
        [review] = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        services.review_approve(review=review, actor=reviewer)
    got = _by_key(org.pk, today=timezone.localdate())
    assert got["plans_review_in_date"].display == "100%"
    assert got["ack_coverage"].detail == "0 of 2"  # the owner and the reviewer: nobody acknowledged yet
    assert reverse("kpi:ack_coverage") == got["ack_coverage"].metric.items_url()


def test_recoveries_within_their_rto_count_processes_with_an_objective(org, owner, template):
    """Exercised recoveries: met, missed, breached and no objective (which does not count); judged against the
    exercised version's snapshot, whatever the live process says later."""
    from plans.exercises import exercise_hold, exercise_plan, exercise_results_record
    from plans.models import Process

    plan = plan_in_state(org, owner, template, title="Recoveries", review_due=TODAY)
    extra = [Process.objects.create(plan=plan, name=f"Extra {i}", rto_minutes=rto, mtpd_minutes=mtpd)
             for i, (rto, mtpd) in enumerate([(60, 120), (60, 120), (None, None)])]
    from plans.models import PlanVersion
    from plans.services import working_copy_content

    PlanVersion.objects.filter(pk=plan.approved_version_id).update(content_json=working_copy_content(plan))
    plan.refresh_from_db()
    exercise = exercise_plan(plan=plan, actor=owner, values={
        "title": "Drill", "exercise_type": "tabletop", "scenario": "Power cut", "scheduled_on": TODAY,
        "facilitator_user": owner}, objectives=["Restore"], participants=[])
    exercise = exercise_hold(exercise=exercise, actor=owner, held_on=TODAY)
    refs = {p["name"]: p["id"] for p in exercise.version.content_json["processes"]}
    exercise_results_record(exercise=exercise, actor=owner, summary="", objectives={}, recoveries={
        refs["Extra 0"]: (60, ""),  # = RTO: met
        refs["Extra 1"]: (121, ""),  # > MTPD: breached
        refs["Extra 2"]: (999, ""),  # no RTO: not counted
    })
    Process.objects.filter(pk=extra[1].pk).update(rto_minutes=500, mtpd_minutes=900)  # the live row changes later
    figure = _by_key(org.pk)["exercise_recovery_met"]
    assert (figure.numerator, figure.denominator) == (1, 2) and figure.display == "50%"
