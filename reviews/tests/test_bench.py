"""The page benchmark (`manage.py bench_pages`): its data is valid for every page, and its report
says what a reader must notice (filesorts, pages that grow with the data). wrk is never run here."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from plans.models import Contact, Membership, Organisation, Plan, PlanVersion, Process, Risk
from plans.services import working_copy_differs
from reviews.ack_links import ack_link_target, ack_token_make, ack_token_read
from reviews.ack_records import LinkState
from reviews.benchmark import report
from reviews.benchmark.data import ORG_NAMES, TINY, build_bench_data
from reviews.benchmark.explain import QueryPlan, plan_flags
from reviews.benchmark.measure import deep_list_query, parse_wrk
from templates_app.schema import validate_content


@pytest.fixture
def bench(db):
    info = build_bench_data(TINY)
    connection.check_constraints()  # every id the builder chose points at a row that exists
    return info


def _versions_of(count: int) -> int:
    return sum(2 if n % 2 else 1 for n in range(count))


def test_builder_makes_the_organisations_people_and_plans(bench):
    orgs = {key: Organisation.objects.get(name=name) for key, name in ORG_NAMES.items()}
    people = {key: Membership.objects.filter(organisation=org).count() for key, org in orgs.items()}
    assert people == {"small": TINY.small_people, "big": TINY.big_people, "crowd": TINY.crowd_people}
    plans = {key: Plan.objects.filter(org=org).count() for key, org in orgs.items()}
    assert plans == {"small": TINY.small_plans, "big": TINY.big_plans + 1, "crowd": TINY.crowd_plans}
    expected_versions = (_versions_of(TINY.small_plans) + _versions_of(TINY.big_plans)
                         + _versions_of(TINY.crowd_plans) + TINY.large_versions)
    assert PlanVersion.objects.filter(plan__org__in=orgs.values()).count() == expected_versions
    admin = get_user_model().objects.get(pk=bench["admins"]["big"])
    assert admin.is_staff and admin.groups.filter(name="BCP Admin").exists()
    assert admin.check_password("bench-password-not-secret")


def test_every_plan_is_valid_for_the_pages(bench):
    plans = Plan.objects.filter(org_id__in=bench["orgs"].values()).select_related("current_version", "template")
    for plan in plans:
        assert validate_content(plan.template, plan.draft_content_json) == [], plan.title
        assert plan.current_version.plan_id == plan.pk and plan.current_version.status == PlanVersion.Status.ACTIVE
        # The working copy and the live rows are what the active version holds: no "unsaved changes".
        assert not working_copy_differs(plan), plan.title
        if plan.approved_version_id:
            assert PlanVersion.objects.get(pk=plan.approved_version_id).plan_id == plan.pk
    statuses = set(plans.values_list("status", flat=True))
    assert statuses == {Plan.Status.APPROVED, Plan.Status.DRAFT}


def test_large_plan_has_its_rows_and_versions_that_differ(bench):
    large = Plan.objects.get(pk=bench["plans"]["large"])
    assert (large.contacts.count(), large.processes.count(), large.risks.count()) == (
        TINY.large_contacts, TINY.large_processes, TINY.large_risks)
    first, last = (PlanVersion.objects.get(plan=large, version_number=n) for n in (1, TINY.large_versions))
    assert len(first.content_json["contacts"]) < len(last.content_json["contacts"]) == TINY.large_contacts
    assert first.content_json["processes"] != last.content_json["processes"]
    assert large.approved_version_id == large.current_version_id == last.pk
    assert (Contact.objects.filter(plan=large).count(), Process.objects.filter(plan=large).count(),
            Risk.objects.filter(plan=large).count()) == (TINY.large_contacts, TINY.large_processes, TINY.large_risks)


def test_acknowledgement_link_of_the_small_plan_is_valid(bench):
    user = get_user_model().objects.get(pk=bench["ack_user"])
    plan = Plan.objects.get(pk=bench["plans"]["small"])
    token = ack_token_make(user=user, plan=plan, version_number=bench["small_approved_version"])
    assert ack_link_target(ack_token_read(token)).state == LinkState.OK


def test_measured_pages_answer_200_with_the_built_data(bench, client):
    plans = bench["plans"]
    client.force_login(get_user_model().objects.get(pk=bench["admins"]["big"]))
    for url in [
        reverse("plans:plan_list"),
        f"{reverse('plans:plan_list')}?{deep_list_query(bench['orgs']['big'])}",
        reverse("plans:plan_detail", args=[plans["large"]]),
        reverse("plans:version_compare", args=[plans["large"]]) + f"?old=1&new={TINY.large_versions}",
        reverse("admin:plans_plan_changelist"),
        reverse("changes:org_audit"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"Group-wide business continuity plan" in client.get(reverse("plans:plan_list")).content


def test_healthz_answers_ok_without_login_or_query(db, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert (response.status_code, response.content, response["Content-Type"]) == (200, b"ok", "text/plain")
    assert client.post(reverse("healthz")).status_code == 405


# --- the report ------------------------------------------------------------------------------

FILESORT_ROW = {"id": 1, "select_type": "SIMPLE", "table": "bc_plan", "type": "ref", "possible_keys":
                "idx_bc_plan_org_status", "key": "idx_bc_plan_org_status", "key_len": "9", "ref": "const",
                "rows": 100_000, "Extra": "Using where; Using filesort"}


def test_explain_flags_a_filesort_and_a_full_scan_of_many_rows_only():
    assert plan_flags([FILESORT_ROW]) == ["filesort of ~100,000 rows"]
    assert plan_flags([{**FILESORT_ROW, "rows": 25}]) == []  # sorting one page is not the problem
    assert plan_flags([{**FILESORT_ROW, "type": "ALL", "key": None, "Extra": "Using where"}]) == [
        "full scan of bc_plan (~100,000 rows)"]
    assert plan_flags([{**FILESORT_ROW, "Extra": "Using where"}]) == []  # the index serves filter and order


def test_measured_rows_overrule_the_estimate():
    """MariaDB's ANALYZE says what was read: a plan list served by its index stops after one page."""
    served = {**FILESORT_ROW, "r_rows": 26.0, "Extra": "Using where"}
    assert plan_flags([served]) == []
    assert plan_flags([{**FILESORT_ROW, "r_rows": 100_000.0}]) == ["filesort of ~100,000 rows"]
    # An index is used, but every row of a large organisation is still read (say, a count).
    assert plan_flags([{**served, "r_rows": 10_169.0}]) == ["reads ~10,169 rows"]


def test_report_marks_the_page_with_a_filesort_as_failing():
    sorted_page = report.PageResult(key="list_big", label="plan list, 100,000 plans", p50_ms=30, queries=7,
                                    plans=[QueryPlan(sql="SELECT ...", rows=[FILESORT_ROW])])
    indexed_page = report.PageResult(key="list_small", label="plan list, 1,000 plans", p50_ms=20, queries=7,
                                     plans=[QueryPlan(sql="SELECT ...", rows=[{**FILESORT_ROW, "Extra": ""}])])
    lines = report.explain_checks([indexed_page, sorted_page])
    assert lines[0].startswith("PASS EXPLAIN plan list, 1,000 plans")
    assert lines[1] == "FAIL EXPLAIN plan list, 100,000 plans: filesort of ~100,000 rows"
    assert "filesort of ~100,000 rows" in report.table([indexed_page, sorted_page])
    assert "SELECT ..." in "\n".join(report.flagged_queries([sorted_page]))
    # A page whose sort is bounded by design (search ranks a fixed number of matches) is reported, not failed.
    search_page = report.PageResult(key="search", label="search", p50_ms=30, queries=7, allowed="ranks 1,000",
                                    plans=[QueryPlan(sql="SELECT ...", rows=[FILESORT_ROW])])
    assert report.explain_checks([search_page]) == [
        "NOTE EXPLAIN search: filesort of ~100,000 rows (expected: ranks 1,000)"]


def test_flat_check_passes_within_one_and_a_half_times_with_the_same_queries():
    def results(big_ms, big_queries):
        return [report.PageResult(key="list_small", label="small", p50_ms=20, queries=7),
                report.PageResult(key="list_big", label="big", p50_ms=big_ms, queries=big_queries)]

    assert report.flat_checks(results(30, 7))[0].startswith("PASS big vs small")
    assert report.flat_checks(results(31, 7))[0].startswith("FAIL big vs small")
    assert report.flat_checks(results(20, 8))[0].startswith("FAIL big vs small")
    slow = [report.PageResult(key="list_small", label="small", p50_ms=20, queries=7),
            report.PageResult(key="list_big", label="big", single_ms=5660, queries=7)]
    assert "5,660 ms vs 20 ms" in report.flat_checks(slow)[0]


def test_wrk_output_is_read():
    output = """Running 10s test @ http://127.0.0.1:8000/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.70ms    1.02ms  14.27ms   80.00%
    Req/Sec     1.08k    80.12     1.25k    70.00%
  Latency Distribution
     50%    3.52ms
     75%    4.10ms
     90%    4.90ms
     99%    7.80ms
  21502 requests in 10.00s, 5.84MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2150.20
Transfer/sec:    597.88KB
"""
    figures = parse_wrk(output)
    assert (figures["rps"], figures["p50_ms"], figures["requests"]) == (2150.2, 3.52, 21502)
    assert figures["errors"] == "3 non-2xx answers"
    assert parse_wrk("     50%    1.20s\nRequests/sec:      0.80\n")["p50_ms"] == 1200


def test_bench_database_url_quick_data_apart_and_mysql_only(monkeypatch):
    from django.core.management.base import CommandError

    from reviews.benchmark.server import DEFAULT_URL, bench_url

    monkeypatch.delenv("BCP_BENCH_DATABASE_URL", raising=False)
    assert bench_url(None, quick=False) == DEFAULT_URL
    assert bench_url(None, quick=True) == DEFAULT_URL + "_quick"  # a smoke run never replaces the full data
    monkeypatch.setenv("BCP_BENCH_DATABASE_URL", "mysql://u:p@db:3307/perf?ssl=0")
    assert bench_url(None, quick=True) == "mysql://u:p@db:3307/perf_quick?ssl=0"
    with pytest.raises(CommandError, match="MariaDB/MySQL"):
        bench_url("sqlite:///var/bench.sqlite3", quick=False)
