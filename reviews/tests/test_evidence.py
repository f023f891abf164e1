"""A plan's evidence page (reviews.evidence): the chain in order, timestamped and attributed, at a fixed cost."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan, make_user
from plans.changes import changes_import
from plans.exports import version_export_store
from plans.models import Exercise, Finding, IssuedFile, PlanVersion, Process
from plans.services import version_create
from reviews import services
from reviews.ack_records import ack_record
from reviews.coverage_counts import coverage_recount
from reviews.evidence import EVIDENCE_LIMIT, evidence_chain, evidence_plan_queryset
from reviews.models import Ack, Review

pytestmark = pytest.mark.django_db

STEPS = ["Business impact analysis", "Versions and change notes", "Reviews and approvals", "Acknowledgement coverage",
         "Issued files and their hashes", "Linked changes and drift", "Exercises", "Findings"]


def _change_file(plan, summary: str, occurred: dt.datetime) -> tuple[str, bytes]:
    stamp = occurred.isoformat(timespec="minutes")
    digest = hashlib.sha256(f"{stamp}|change|{summary}".encode()).hexdigest()
    guid = str(uuid.uuid4())
    data = {"guid": guid, "occurred_at": occurred.strftime("%Y-%m-%dT%H:%MZ"), "change_type": "Change",
            "summary": summary, "content_hash": digest, "plans": [plan.pk], "affects": []}
    return f"{guid}.json", json.dumps(data).encode()


@pytest.fixture
def history(org, owner, reviewer, member, bcp_admin, template, django_capture_on_commit_callbacks):
    """A plan approved in version 2 by Rita Reviewer, its PDF issued, acknowledged by Mo Member, a change
    linked after the approval, an exercise held with one finding."""
    for user, first, last in ((owner, "Olga", "Owner"), (reviewer, "Rita", "Reviewer"), (member, "Mo", "Member")):
        user.first_name, user.last_name = first, last
        user.save()
    plan = make_plan(org, owner, template=template, title="Head office plan")
    with django_capture_on_commit_callbacks(execute=False):
        version_create(plan=plan, actor=owner, note="Added the generator supplier")
        [review] = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        services.review_approve(review=review, actor=reviewer)
    Review.objects.filter(pk=review.pk).update(notes="Clear and complete")
    plan.refresh_from_db()
    data, digest = version_export_store(version=plan.approved_version, kind="pdf", actor=owner, data=b"%PDF approved")
    ack_record(plan=plan, user=member, version_number=plan.approved_version.version_number, via="page")
    report = changes_import(files=[_change_file(plan, "Moved the data centre", timezone.now() + dt.timedelta(
        minutes=1))], actor=bcp_admin)
    assert report.ok, report.summary()
    exercise = Exercise.objects.create(
        plan=plan, version=plan.approved_version, exercise_type=Exercise.Type.TABLETOP, title="Flood tabletop",
        scheduled_on=timezone.localdate(), held_on=timezone.localdate(), status=Exercise.Status.HELD,
        facilitator_user=reviewer, created_at_utc=timezone.now(),
    )
    Finding.objects.create(
        plan=plan, exercise=exercise, description="Call tree is out of date", severity=Finding.Severity.HIGH,
        owner_user=owner, due_on=timezone.localdate() - dt.timedelta(days=1), raised_by_user=reviewer,
        raised_at_utc=timezone.now(),
    )
    plan.refresh_from_db()
    return {"plan": plan, "digest": digest}


def _page(client, user, plan):
    client.force_login(user)
    response = client.get(reverse("evidence:plan_evidence", args=[plan.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _step(page: str, key: str) -> str:
    start = page.index(f'id="evidence-{key}"')
    return page[start:page.index("</li>", start)]


def test_the_chain_in_order_each_item_timestamped_and_attributed(client, history, member):
    plan = history["plan"]
    page = _page(client, member, plan)
    positions = [page.index(f">{title}</h2>") for title in STEPS]
    assert positions == sorted(positions)

    bia = _step(page, "bia")
    assert "Customer service" in bia and "4 h" in bia and "1 d" in bia  # RTO 4 h, MTPD 24 h from the snapshot
    assert "Version 2 approved" in bia and "Rita Reviewer" in bia
    versions = _step(page, "versions")
    assert "Added the generator supplier" in versions and "Olga Owner" in versions
    assert "Version 2 (approved version; approved" in versions and "by Rita Reviewer" in versions
    reviews = _step(page, "reviews")
    assert "Approved: version 2, round 1" in reviews and "Clear and complete" in reviews
    assert "Requested by Olga Owner" in reviews
    acks = _step(page, "acknowledgements")
    assert "acknowledged v2" in acks and "Mo Member" in acks and "Acknowledged version 2" in acks
    files = _step(page, "files")
    assert f'<code class="hash">{history["digest"]}</code>' in files and "Plan PDF of version 2" in files
    changes = _step(page, "changes")
    assert "Moved the data centre" in changes and "After the last approval." in changes
    assert "Review needed" in changes
    assert "Flood tabletop" in _step(page, "exercises") and "Rita Reviewer" in _step(page, "exercises")
    findings = _step(page, "findings")
    assert "Call tree is out of date" in findings and "(overdue)" in findings and "1 overdue" in findings
    assert page.count("<time datetime=") >= 9


def test_the_business_impact_analysis_is_the_approved_snapshot_not_the_live_rows(client, history, member):
    plan = history["plan"]
    Process.objects.filter(plan=plan).update(name="Renamed after approval", rto_minutes=5)
    page = _page(client, member, plan)
    assert "Customer service" in _step(page, "bia") and "Renamed after approval" not in _step(page, "bia")


def test_the_chain_is_data_a_pack_can_read(history):
    plan = evidence_plan_queryset().get(pk=history["plan"].pk)
    chain = evidence_chain(plan)
    assert [s.key for s in chain.sections] == ["bia", "versions", "reviews", "acknowledgements", "files", "changes",
                                               "exercises", "findings"]
    [issued] = chain.section("files").items
    assert issued.values["sha256"] == history["digest"] == IssuedFile.objects.get(plan=plan).sha256
    assert chain.section("bia").table[0]["rto_minutes"] == 240
    assert chain.approved_version.version_number == 2


def test_long_lists_are_cut_with_a_link_to_all(client, history, member, owner, reviewer):
    plan = history["plan"]
    base = PlanVersion.objects.get(plan=plan, version_number=2)
    PlanVersion.objects.filter(plan=plan, status=PlanVersion.Status.ACTIVE).exclude(pk=base.pk).update(
        status=PlanVersion.Status.SUPERSEDED)
    now = timezone.now()
    for number in range(3, 3 + EVIDENCE_LIMIT + 5):
        PlanVersion.objects.create(plan=plan, version_number=number, status=PlanVersion.Status.SUPERSEDED,
                                   template=base.template, authored_by_user=owner, authored_at_utc=now,
                                   summary_change_note=f"Note {number}", content_json={})
    page = _page(client, member, plan)
    versions = _step(page, "versions")
    total = 2 + EVIDENCE_LIMIT + 5
    assert f"The latest {EVIDENCE_LIMIT} of {total}" in versions
    assert f'href="{reverse("plans:version_list", args=[plan.pk])}"' in versions
    assert f"Note {total}" in versions and "Note 3<" not in versions


def _grow(plan, owner, reviewer, member, n: int) -> None:
    """n more of everything the chain lists."""
    base = PlanVersion.objects.get(plan=plan, version_number=2)
    now = timezone.now()
    start = plan.versions.count() + 1
    people = [make_user(plan.org, username=f"evidence-{start}-{i}") for i in range(n)]
    for i in range(n):
        version = PlanVersion.objects.create(
            plan=plan, version_number=start + i, status=PlanVersion.Status.SUPERSEDED, template=base.template,
            authored_by_user=owner, authored_at_utc=now, content_json={}, approved_at_utc=now,
            approval_round=10 + start + i)
        Review.objects.create(plan=plan, version=version, round_number=10 + start + i, requested_by_user=owner,
                              reviewer_user=reviewer, status=Review.Status.APPROVED, requested_at_utc=now,
                              decided_at_utc=now)
        IssuedFile.objects.create(kind=IssuedFile.Kind.PLAN_DOCX, org=plan.org, plan=plan, version=version,
                                  marking=IssuedFile.Marking.DRAFT, sha256=hashlib.sha256(f"{start}{i}".encode())
                                  .hexdigest(), storage_path=f"x/{start}-{i}", size_bytes=1, issued_at_utc=now)
        exercise = Exercise.objects.create(plan=plan, version=base, exercise_type=Exercise.Type.WALKTHROUGH,
                                           title=f"Walk {start}-{i}", scheduled_on=timezone.localdate(),
                                           created_at_utc=now)
        Finding.objects.create(plan=plan, exercise=exercise, description=f"Finding {start}-{i}",
                               severity=Finding.Severity.LOW, owner_user=owner, due_on=timezone.localdate(),
                               raised_at_utc=now)
    Ack.objects.bulk_create(Ack(plan=plan, user=p, ack_version_number=2, ack_at_utc=now) for p in people)
    coverage_recount(plan.org_id)  # bulk inserts send no signals


def test_the_page_costs_the_same_queries_whatever_the_history(client, history, member, owner, reviewer,
                                                             django_assert_num_queries):
    plan = history["plan"]
    client.force_login(member)
    url = reverse("evidence:plan_evidence", args=[plan.pk])
    # 1 session, 2 user, 3 the plan (with its approved version and its author), 4-5 the permissions (user's,
    # groups'); the steps: 6 the approvers of the approved version; 7 versions, 8 their approvers; 9 the
    # reviews' counts, 10 the reviews; 11 the coverage, 12 the latest acknowledgements; 13 the files' count,
    # 14 the files; 15 the changes' counts, 16 the changes; 17 the exercises' counts, 18 the exercises;
    # 19 the findings' counts, 20 the findings; then the evidence packs: 21 the versions a pack may be built
    # of, 22 the latest packs; 23 the navigation's counts.
    with django_assert_num_queries(23):
        assert client.get(url).status_code == 200
    _grow(plan, owner, reviewer, member, 2 * EVIDENCE_LIMIT)
    with django_assert_num_queries(23):
        page = client.get(url).content.decode()
    assert "Walk" in _step(page, "exercises")


def test_walls_and_permissions(client, history, outsider):
    plan = history["plan"]
    url = reverse("evidence:plan_evidence", args=[plan.pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(make_user(plan.org, username="no-role"))  # a member without a BCP group
    assert client.get(url).status_code == 403


def test_the_auditor_reads_the_evidence_and_the_plan_page_links_to_it(client, history):
    plan = history["plan"]
    auditor = make_user(plan.org, username="auditor", groups=["BCP Auditor"], is_staff=True)
    page = _page(client, auditor, plan)
    assert "Evidence for “Head office plan”" in page
    assert f'href="{reverse("evidence:plan_evidence", args=[plan.pk])}"' in client.get(
        plan.get_absolute_url()).content.decode()


def test_a_plan_never_approved_says_so(client, org, owner, template, member):
    plan = make_plan(org, owner, template=template, title="New plan")
    page = _page(client, member, plan)
    assert "No approved version yet" in _step(page, "bia")
    assert "No approved version yet" in _step(page, "acknowledgements")
    assert "Never submitted for review." in _step(page, "reviews")
