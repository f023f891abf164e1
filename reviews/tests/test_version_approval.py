"""The approval lives on the version: set by the final approval, filled for old approvals by a
migration, and read (with the approvers, through one function) by exports and the review page."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from plans import approvals as plan_approvals
from plans.approvals import Approver, register_approvers_reader
from plans.exports import export_context, version_approval
from plans.models import PlanVersion
from reviews import services
from reviews.approvals import version_approvers, versions_approvers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    """Approval also renders exports and sends acknowledgement links; not needed here."""
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def approve_round(plan, actor, *reviewers):
    reviews = services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))
    for review in reviews:
        services.review_approve(review=review, actor=review.reviewer_user)
    plan.refresh_from_db()
    return reviews


def test_final_approval_records_the_approval_on_the_version(plan, owner, reviewer, reviewer2):
    (first, second) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer, reviewer2])
    services.review_approve(review=first, actor=first.reviewer_user)
    version = PlanVersion.objects.get(pk=first.version_id)
    assert (version.approved_at_utc, version.approval_round) == (None, None)  # one reviewer still to decide

    services.review_approve(review=second, actor=second.reviewer_user)
    plan.refresh_from_db()
    version.refresh_from_db()
    second.refresh_from_db()
    assert version.approved_at_utc == plan.approved_at_utc == second.decided_at_utc
    assert version.approval_round == 1
    assert [a.name for a in version_approvers(version)] == ["Reviewer", "Reviewer2"]


def test_a_reconfirmation_keeps_the_first_approval_and_moves_the_plans(plan, owner, reviewer, reviewer2,
                                                                         monkeypatch):
    approve_round(plan, owner, reviewer)
    version = plan.approved_version
    first_at = version.approved_at_utc
    monkeypatch.setattr(services, "reconfirmation_due_on", lambda plan, version: dt.date(2000, 1, 1))

    (review,) = services.plan_reconfirm(plan=plan, actor=owner, reviewers=[reviewer2])
    services.review_approve(review=review, actor=reviewer2)

    plan.refresh_from_db()
    version.refresh_from_db()
    assert plan.approved_version_id == version.pk and plan.approved_at_utc > first_at
    assert (version.approved_at_utc, version.approval_round) == (first_at, 1)
    assert [a.name for a in version_approvers(version)] == ["Reviewer"]  # the first round's, for the exports
    assert version_approval(version).at_utc == first_at


def test_export_cover_names_the_approvers_read_through_the_hook(plan, owner, reviewer, reviewer2):
    reviewer2.first_name, reviewer2.last_name = "Rita", "Second"
    reviewer2.save()
    approve_round(plan, owner, reviewer, reviewer2)
    version = plan.approved_version

    context = export_context(version)
    assert context["approval_status"] == "Approved"
    assert context["approvers"] == ["Reviewer", "Rita Second"]
    assert context["history"][-1]["approved"] == version.approved_at_utc.strftime("%Y-%m-%d")

    seen = []
    try:
        register_approvers_reader(lambda v: seen.append(v.pk) or [Approver(name="From the hook", decided_at_utc=None)])
        assert export_context(version)["approvers"] == ["From the hook"]
    finally:
        register_approvers_reader(version_approvers)
    assert seen == [version.pk]


def test_an_unapproved_version_has_no_approvers_and_exports_say_so(plan):
    version = plan.current_version
    assert plan_approvals.version_approvers(version) == []
    context = export_context(version)
    assert (context["approval_status"], context["approvers"]) == ("Not approved", [])


def test_approvers_are_read_in_one_query_for_one_or_several_versions(plan, owner, reviewer, reviewer2,
                                                                     django_assert_num_queries):
    approve_round(plan, owner, reviewer, reviewer2)
    version = plan.approved_version
    with django_assert_num_queries(1):
        assert len(version_approvers(version)) == 2
    with django_assert_num_queries(1):
        assert [a.name for a in versions_approvers([version])[version.pk]] == ["Reviewer", "Reviewer2"]
    with django_assert_num_queries(0):
        assert versions_approvers([]) == {}


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("module", [
    "exports/__init__.py", "exports/render.py", "exports/marking.py", "exports/issued.py", "exports/pending.py",
    "exports/tasks.py", "exports/verify.py", "approvals.py",
])
def test_plans_reads_approvals_without_importing_reviews(module):
    path = Path(plan_approvals.__file__).parent / module
    assert not {m for m in _imported_modules(path) if m.split(".")[0] == "reviews"}


def test_migration_fills_the_approvals_made_before_it(empty_database):
    executor = MigrationExecutor(connection)
    # reviews as it was then: its later migrations need later plans migrations (0005 needs the outbox).
    reviews_then = [("reviews", "0003_bcp_admin_user_permissions")]
    before = [("plans", "0005_version_approval"), *reviews_then]
    after = [("plans", "0006_version_approval_fill"), *reviews_then]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, Plan = old.get_model("auth", "User"), old.get_model("plans", "Plan")
    Version, Audit, Review = old.get_model("plans", "PlanVersion"), old.get_model("plans", "Audit"), \
        old.get_model("reviews", "Review")
    org = old.get_model("plans", "Organisation").objects.create(name="Acme")
    template = old.get_model("templates_app", "Template").objects.create(name="Old template")
    owner, first, second = (User.objects.create(username=name) for name in ("old-owner", "first", "second"))
    t0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
    plan = Plan.objects.create(org=org, title="Old plan", template=template, owner_user=owner)

    def version(number, status="superseded"):
        return Version.objects.create(plan=plan, version_number=number, status=status, template=template,
                                      authored_by_user=owner, authored_at_utc=t0)

    def review(v, round_number, reviewer, status, decided):
        Review.objects.create(plan=plan, version=v, round_number=round_number, requested_by_user=owner,
                              reviewer_user=reviewer, status=status, requested_at_utc=t0, decided_at_utc=decided)

    def approved_audit(number, round_number, at, **extra):
        Audit.objects.create(plan=plan, org=org, action="plan_approved", at_utc=at,
                             details_json={"version": number, "round": round_number, **extra})

    hour = dt.timedelta(hours=1)
    v1, v2, _v3, v4 = version(1), version(2), version(3), version(4, status="active")
    review(v1, 1, first, "approved", t0 + hour)  # v1: approved by both in round 1 ...
    review(v1, 1, second, "approved", t0 + 2 * hour)
    approved_audit(1, 1, t0 + 2 * hour + dt.timedelta(seconds=1))
    review(v1, 2, first, "approved", t0 + 5 * hour)  # ... and re-confirmed in round 2
    approved_audit(1, 2, t0 + 5 * hour, reconfirmed=True)
    review(v2, 3, first, "changes_requested", t0 + 6 * hour)  # v2: never approved
    approved_audit(3, 4, t0 + 7 * hour)  # v3: only the audit row tells
    Plan.objects.filter(pk=plan.pk).update(approved_version=v4, approved_at_utc=t0 + 8 * hour)  # v4: the pointer

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    Version = executor.loader.project_state(after).apps.get_model("plans", "PlanVersion")
    filled = {v.version_number: (v.approved_at_utc, v.approval_round) for v in Version.objects.filter(plan_id=plan.pk)}
    assert filled == {
        1: (t0 + 2 * hour, 1),  # the round's last decision: what the exports showed before
        2: (None, None),
        3: (t0 + 7 * hour, 4),
        4: (t0 + 8 * hour, None),
    }

