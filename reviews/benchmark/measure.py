"""The pages of the benchmark's table, and how each is measured.

In-process (Django's test client on the bench database): the status, the body size, the
number of queries and their SQL (for EXPLAIN). Over HTTP against gunicorn: a few single
requests (one at a time: the page's own latency), then `wrk -t2 -c8 --latency` for req/s and
the median. A page slower than a fifth of the run's duration is not given to wrk (its few
requests would say little and leave the server busy for the next page): its single-request
time is reported instead.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans.models import Plan
from plans.search import CANDIDATES as SEARCH_CANDIDATES
from reviews.ack_links import ack_token_make

from .explain import explain
from .report import PageResult
from .server import get

PER_PAGE = 25  # the plan list's page size (plans.views.PLANS_PER_PAGE)


@dataclass
class Page:
    key: str
    label: str
    path: str
    who: str | None  # "small", "big", "crowd": that organisation's BCP Admin; None: anonymous
    allowed: str = ""  # why this page's EXPLAIN flags are expected (reported, not failed)


def deep_list_query(org_id: int) -> str:
    """The plan list's query string for its last (oldest) page.

    Keyset pages (`bcp_site.paging`): the "older" cursor of the plan just before the oldest 25.
    Page numbers (before keyset paging): the last page's number.
    """
    plans = Plan.objects.filter(org_id=org_id)
    try:
        from bcp_site.paging import CURSOR_PARAM, OLDER, KeysetPaginator
    except ImportError:
        return f"page={max(1, -(-plans.count() // PER_PAGE))}"
    row = plans.order_by("updated_at", "id")[PER_PAGE:PER_PAGE + 1].first()
    if row is None:
        return ""
    return f"{CURSOR_PARAM}={KeysetPaginator(plans, keys=('updated_at', 'id')).cursor_for(row, OLDER)}"


def pages(info: dict, *, big_plans: int, crowd_people: int, small_plans: int) -> list[Page]:
    """The pages measured, in the table's order (`info` is what the data builder returned)."""
    plans, orgs = info["plans"], info["orgs"]
    plan_list = reverse("plans:plan_list")
    admin_list = reverse("admin:plans_plan_changelist")
    audit = reverse("changes:org_audit")
    home, search = reverse("home:home"), reverse("plans:search")
    User = get_user_model()
    ack_user = User.objects.get(pk=info["ack_user"])
    small_plan = Plan.objects.get(pk=plans["small"])
    token = ack_token_make(user=ack_user, plan=small_plan, version_number=info["small_approved_version"])
    deep = deep_list_query(orgs["big"])
    return [
        Page("bare", "bare Django view (/healthz)", reverse("healthz"), None),
        Page("admin_login", "admin login page", reverse("admin:login"), None),
        Page("list_small", f"plan list, {small_plans:,} plans", plan_list, "small"),
        Page("list_big", f"plan list, {big_plans:,} plans", plan_list, "big"),
        Page("list_deep", f"plan list, last page at {big_plans:,}", f"{plan_list}?{deep}", "big"),
        Page("detail_large", "plan detail, large plan", reverse("plans:plan_detail", args=[plans["large"]]), "big"),
        Page("compare_large", f"version compare, large plan v1 vs v{info['large_versions']}",
             reverse("plans:version_compare", args=[plans["large"]]) + f"?old=1&new={info['large_versions']}",
             "big"),
        Page("detail_small", "plan detail, small plan", reverse("plans:plan_detail", args=[plans["small"]]),
             "small"),
        Page("detail_crowd", f"plan detail, organisation of {crowd_people:,} people",
             reverse("plans:plan_detail", args=[plans["crowd"]]), "crowd"),
        Page("list_crowd", f"plan list, organisation of {crowd_people:,} people", plan_list, "crowd"),
        Page("admin_small", f"admin plan changelist, {small_plans:,} plans", admin_list, "small"),
        Page("admin_big", f"admin plan changelist, {big_plans:,} plans", admin_list, "big"),
        Page("ack_link", "acknowledgement link page", reverse("acks:link", args=[token]), None),
        Page("audit_small", f"organisation audit, {small_plans:,} plans", audit, "small"),
        Page("audit_big", f"organisation audit, {big_plans:,} plans", audit, "big"),
        Page("home_small", f"home (needs me), {small_plans:,} plans", home, "small"),
        Page("home_big", f"home (needs me), {big_plans:,} plans", home, "big"),
        # A word found in the same few items of each organisation (plan 42's contact, processes and risks;
        # a two-letter word matches whole words only). A word in most plans costs more where there are more.
        Page("search_small", f"search, {small_plans:,} plans", f"{search}?q=42", "small"),
        Page("search_big", f"search, {big_plans:,} plans", f"{search}?q=42", "big"),
        Page("search_common_big", f"search for a word in every plan, {big_plans:,} plans", f"{search}?q=threat",
             "big", allowed=f"ranks at most the first {SEARCH_CANDIDATES:,} matches (plans.search), whatever the data"),
    ]


def sessions(info: dict) -> dict[str, Client]:
    """A signed-in test client per organisation (its BCP Admin); their session cookies serve wrk too."""
    clients = {}
    for who, user_id in info["admins"].items():
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(pk=user_id))
        clients[who] = client
    clients[None] = Client(raise_request_exception=False)
    return clients


def cookie(client: Client) -> str:
    morsel = client.cookies.get("sessionid")
    return f"sessionid={morsel.value}" if morsel else ""


def in_process(page: Page, client: Client, result: PageResult) -> None:
    """Status, size, queries and their EXPLAIN of one request; the page is requested twice when the
    first request is quick, so per-process caches (templates, content types) are warm."""
    for attempt in range(2):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
        seconds = time.perf_counter() - started
        if attempt == 0 and seconds > 2:
            break
    result.inproc_ms = seconds * 1000
    result.sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    result.status = response.status_code
    result.size = len(response.content) if not response.streaming else None
    result.queries = len(captured.captured_queries)
    if response.status_code != 200:
        result.errors = f"answered {response.status_code}"
    result.plans = explain([q["sql"] for q in captured.captured_queries])


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict:
    """Requests/sec, the median latency (ms), the request count and errors from wrk's output."""
    found: dict = {}
    if match := re.search(r"Requests/sec:\s*([\d.]+)", output):
        found["rps"] = float(match.group(1))
    if match := re.search(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE):
        found["p50_ms"] = float(match.group(1)) * _UNITS[match.group(2)]
    if match := re.search(r"(\d+) requests in", output):
        found["requests"] = int(match.group(1))
    problems = []
    if match := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output):
        problems.append(f"{match.group(1)} non-2xx answers")
    if match := re.search(r"Socket errors: (.*)", output):
        problems.append(f"socket errors: {match.group(1).strip()}")
    found["errors"] = "; ".join(problems)
    return found


def over_http(page: Page, result: PageResult, *, base: str, cookie_header: str, wrk: str, duration: int,
              server) -> None:
    """Single requests, then wrk (unless the page is too slow for it)."""
    url = base + page.path
    times = []
    for _ in range(3):
        status, size, seconds = get(url, cookie=cookie_header)
        times.append(seconds * 1000)
        if status != 200:
            result.errors = result.errors or f"answered {status} over HTTP"
            return
        if sum(times) > duration * 1000 / 2:
            break
    result.single_ms = statistics.median(times)
    if result.single_ms > duration * 1000 / 5:
        return
    command = [wrk, "-t2", "-c8", f"-d{duration}s", "--latency", "--timeout", "60s", url]
    if cookie_header:
        command[1:1] = ["-H", f"Cookie: {cookie_header}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    figures = parse_wrk(done.stdout)
    result.rps, result.p50_ms = figures.get("rps"), figures.get("p50_ms")
    if figures.get("errors"):
        result.errors = figures["errors"]
    server.wait_idle()
