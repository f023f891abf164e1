"""The admin at scale: every changelist costs the same with 2 rows or 40, and nothing in it or in the
admin's forms grows with the number of people, plans, templates or organisations.

The tests enumerate the admin registry, so an admin registered tomorrow is covered (and needs a
row builder in `BUILDERS` to be). On MariaDB, the plan changelist's query is EXPLAINed on a few
thousand plans: its filter and its order are served by an index.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bcp_site.admin_base import ListAtScaleMixin, wide_fields
from bcp_site.testing import SMALL_SCHEMA
from plans.models import (
    Attachment,
    Audit,
    ChangeLogMap,
    ChangeRecord,
    Contact,
    Membership,
    Organisation,
    Plan,
    PlanVersion,
    Process,
    Risk,
)
from reviews.models import Ack, PlanDistribution, Review
from templates_app.models import SectionDefinition, Template

User = get_user_model()
_seq = itertools.count(1)
WIDE = {"overview": {"purpose": "wide " * 400}}  # what a deferred column must not bring into a list


@dataclass
class World:
    org: Organisation
    owner: object
    reviewers: list
    template: Template
    plan: Plan


@pytest.fixture
def world(org, owner, admin_user, bcp_admin, template, plan):
    # Reviews go to both people who open the lists: the review list opens on "my pending reviews".
    return World(org=org, owner=owner, reviewers=[admin_user, bcp_admin], template=template, plan=plan)


# --- rows of every registered model, in the world's organisation ------------------------------------


def _users(world, n):
    users = User.objects.bulk_create(
        User(username=f"scale{next(_seq)}", email=f"scale{next(_seq)}@example.org", password="!") for _ in range(n)
    )
    Membership.objects.bulk_create(Membership(user=user, organisation=world.org) for user in users)
    return users


def _plans(world, n, *, owners=None):
    now = timezone.now()
    plans = Plan.objects.bulk_create(
        Plan(org=world.org, title=f"Scale plan {next(_seq)}", template=world.template,
             owner_user=owners[i] if owners else world.owner, draft_content_json=WIDE)
        for i in range(n)
    )
    versions = PlanVersion.objects.bulk_create(
        PlanVersion(plan=plan, version_number=1, template=world.template, authored_by_user=world.owner,
                    authored_at_utc=now, content_json=WIDE, summary_change_note="note " * 100)
        for plan in plans
    )
    for plan, version in zip(plans, versions, strict=True):
        plan.current_version = version
    Plan.objects.bulk_update(plans, ["current_version"])
    return plans


def _changes(world, n):
    now = timezone.now()
    records = ChangeRecord.objects.bulk_create(
        ChangeRecord(guid=f"00000000-0000-4000-8000-{next(_seq):012d}", occurred_at_utc=now, change_type="change",
                     summary="A change", content_hash="0" * 64, affects_json=WIDE, plans_json=[world.plan.pk],
                     imported_at_utc=now)
        for _ in range(n)
    )
    ChangeLogMap.objects.bulk_create(
        ChangeLogMap(plan=world.plan, change_guid=record.guid, change=record, imported_at_utc=now) for record in records
    )


def _notifications(world, n):
    from plans.models import Notification

    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(recipient_user=world.owner, to_address="owner@example.org", kind=Notification.Kind.OTHER,
                     org=world.org, plan=world.plan, next_attempt_at_utc=now, created_at_utc=now, context_json=WIDE)
        for _ in range(n)
    )


def _access_attempts(world, n):
    from axes.models import AccessAttempt

    AccessAttempt.objects.bulk_create(
        AccessAttempt(username=f"guess{next(_seq)}", ip_address="192.0.2.1", user_agent="curl", http_accept="*/*",
                      path_info="/accounts/login/", get_data="", post_data="x" * 500, failures_since_start=1)
        for _ in range(n)
    )


def _issued_files(world, n):
    from plans.models import IssuedFile

    # A version's files name it (ck_issued_file_version); evidence packs of one version count their editions.
    IssuedFile.objects.bulk_create(
        IssuedFile(kind="evidence_pack", org=world.org, plan=world.plan, version=world.plan.current_version,
                   edition=next(_seq), marking="draft", sha256="b" * 64, storage_path=f"issued/{next(_seq)}.pdf",
                   size_bytes=1, issued_at_utc=timezone.now(), issued_by_user=world.owner)
        for _ in range(n)
    )


def _task_results(world, n):
    from django.apps import apps

    result = apps.get_model("django_tasks_database", "DBTaskResult")
    result.objects.bulk_create(
        result(args_kwargs={"args": [], "kwargs": {}}, task_path="plans.tasks.example", backend_name="default",
               run_after=timezone.now(), exception_class_path="", traceback="x" * 500)
        for _ in range(n)
    )


def _exercises(world, n):
    from plans.models import Exercise

    now = timezone.now()
    return Exercise.objects.bulk_create(
        Exercise(plan=world.plan, version=world.plan.current_version, exercise_type="tabletop",
                 title=f"Drill {next(_seq)}", scenario="wide " * 400, scheduled_on=now.date(),
                 facilitator_user=world.owner, created_at_utc=now)
        for _ in range(n)
    )


def _findings(world, n):
    from plans.models import Finding

    now = timezone.now()
    [exercise] = _exercises(world, 1)
    Finding.objects.bulk_create(
        Finding(plan=world.plan, exercise=exercise, description=f"Finding {next(_seq)}", severity="low",
                owner_user=world.owner, due_on=now.date(), raised_at_utc=now)
        for _ in range(n)
    )


def _incidents(world, n):
    from plans.models import Incident

    return Incident.objects.bulk_create(
        Incident(org=world.org, title=f"Incident {next(_seq)}", description="wide " * 400, severity="high",
                 declared_at_utc=timezone.now(), declared_by_user=world.owner, review_summary="wide " * 400)
        for _ in range(n)
    )


def _incident_events(world, n):
    from plans.models import IncidentEvent

    [incident] = _incidents(world, 1)
    now = timezone.now()
    IncidentEvent.objects.bulk_create(
        IncidentEvent(incident=incident, at_utc=now, author_user=world.owner, kind="update",
                      text=f"Entry {next(_seq)} " + "wide " * 400)
        for _ in range(n)
    )


def _vendors(world, n):
    from plans.models import Vendor

    now = timezone.now()
    Vendor.objects.bulk_create(
        Vendor(org=world.org, name=f"Vendor {k}", name_key=f"vendor {k}", contacts="wide " * 400,
               created_at_utc=now, updated_at_utc=now) for k in (next(_seq) for _ in range(n))
    )


def _resources(world, n):
    from plans.models import Resource

    Resource.objects.bulk_create(
        Resource(plan=world.plan, kind="people", name=f"Resource {next(_seq)}", notes="notes " * 100)
        for _ in range(n)
    )


def _collaborators(world, n):
    from plans.models import PlanCollaborator

    PlanCollaborator.objects.bulk_create(
        PlanCollaborator(plan=world.plan, user=user, role="co_author", added_at_utc=timezone.now())
        for user in _users(world, n)
    )


def _kpis(world, n):
    from datetime import timedelta

    from reviews.models import Kpi

    today, now = timezone.localdate(), timezone.now()
    Kpi.objects.bulk_create(
        Kpi(org=world.org, metric_key="plans_drifting", day=today - timedelta(days=next(_seq)), unit="count",
            value=i, numerator=i, computed_at_utc=now)
        for i in range(n)
    )


def _report_requests(world, n):
    from reviews.models import ReportRequest

    today, now = timezone.localdate(), timezone.now()
    ReportRequest.objects.bulk_create(
        ReportRequest(kind=ReportRequest.Kind.KPI_REPORT, org=world.org, period_from=today, period_to=today,
                      as_of_utc=now, requested_by_user=world.owner, requested_at_utc=now, error="x" * (i % 2))
        if i % 2 else
        ReportRequest(kind=ReportRequest.Kind.EVIDENCE_PACK, org=world.org, plan=world.plan,
                      version=world.plan.current_version, as_of_utc=now, requested_by_user=world.owner,
                      requested_at_utc=now)
        for i in range(n)
    )


def _reviews(world, n):
    now = timezone.now()
    Review.objects.bulk_create(
        Review(plan=plan, version=plan.current_version, requested_by_user=world.owner,
               reviewer_user=world.reviewers[i % len(world.reviewers)], requested_at_utc=now, notes="notes " * 100)
        for i, plan in enumerate(_plans(world, n))
    )


BUILDERS = {
    "auth.Group": lambda w, n: Group.objects.bulk_create(Group(name=f"Scale group {next(_seq)}") for _ in range(n)),
    "auth.User": _users,
    "axes.AccessAttempt": _access_attempts,
    "django_tasks_database.DBTaskResult": _task_results,
    "plans.Organisation": lambda w, n: Organisation.objects.bulk_create(
        Organisation(name=f"Scale org {next(_seq)}") for _ in range(n)),
    "plans.Membership": _users,
    "plans.Plan": _plans,
    "plans.PlanVersion": _plans,
    "plans.Contact": lambda w, n: Contact.objects.bulk_create(
        Contact(plan=w.plan, name=f"Contact {next(_seq)}", notes="notes " * 100) for _ in range(n)),
    "plans.Process": lambda w, n: Process.objects.bulk_create(
        Process(plan=w.plan, name=f"Process {next(_seq)}", dependencies_json=[WIDE]) for _ in range(n)),
    "plans.Risk": lambda w, n: Risk.objects.bulk_create(
        Risk(plan=w.plan, threat=f"Threat {next(_seq)}", likelihood="rare", impact="minor", rating="low",
             owner_user=w.owner) for _ in range(n)),
    "plans.Attachment": lambda w, n: Attachment.objects.bulk_create(
        Attachment(plan=w.plan, file_name="a.pdf", storage_path=f"scale/{next(_seq)}.pdf",
                   content_type="application/pdf", size_bytes=1, uploaded_by_user=w.owner,
                   uploaded_at_utc=timezone.now(), hash="a" * 64)
        for _ in range(n)),
    "plans.Audit": lambda w, n: Audit.objects.bulk_create(
        Audit(org=w.org, plan=w.plan, action="plan_updated", actor_user=w.owner, details_json=WIDE,
              at_utc=timezone.now()) for _ in range(n)),
    "plans.ChangeRecord": _changes,
    "plans.ChangeLogMap": _changes,
    "plans.Notification": _notifications,
    "plans.IssuedFile": _issued_files,
    "plans.Exercise": _exercises,
    "plans.Finding": _findings,
    "plans.Incident": _incidents,
    "plans.IncidentEvent": _incident_events,
    "plans.Vendor": _vendors,
    "plans.Resource": _resources,
    "plans.PlanCollaborator": _collaborators,
    "templates_app.Template": lambda w, n: Template.objects.bulk_create(
        Template(name=f"Scale template {next(_seq)}", schema_json=SMALL_SCHEMA) for _ in range(n)),
    "templates_app.SectionDefinition": lambda w, n: SectionDefinition.objects.bulk_create(
        SectionDefinition(template=w.template, key=f"scale{next(_seq)}", title="Section", schema_json=WIDE)
        for _ in range(n)),
    "reviews.Review": _reviews,
    "reviews.Kpi": _kpis,
    "reviews.ReportRequest": _report_requests,
    "reviews.Ack": lambda w, n: Ack.objects.bulk_create(
        Ack(plan=w.plan, user=w.owner, ack_at_utc=timezone.now(), ack_version_number=next(_seq)) for _ in range(n)),
    "reviews.PlanDistribution": lambda w, n: PlanDistribution.objects.bulk_create(
        PlanDistribution(plan=w.plan, user=user) for user in _users(w, n)),
}


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def may_view(model_admin, user) -> bool:
    request = RequestFactory().get("/admin/")
    request.user = user
    return model_admin.has_view_or_change_permission(request)


@pytest.fixture
def people(admin_user, bcp_admin):
    """The superuser (every organisation) and the organisation's BCP Admin (its rows only)."""
    clients = {}
    for label, user in (("superuser", admin_user), ("BCP Admin", bcp_admin)):
        client = Client()
        client.force_login(user)
        clients[label] = (user, client)
    return clients


def build_all(world, n: int) -> None:
    missing = [model._meta.label for model, _ in registered() if model._meta.label not in BUILDERS]
    assert not missing, f"add a row builder to BUILDERS for the new admin(s): {missing}"
    for model, _ in registered():
        BUILDERS[model._meta.label](world, n)


# --- the same number of queries with 2 rows and with 40 ---------------------------------------------


def test_every_changelist_costs_the_same_with_2_or_40_rows(world, people, monkeypatch):
    """Small and large data, one test: per admin and person, the changelist runs the same queries.

    The pages are made short (10 rows) and the count limit low (30), so the large list has pages
    and a count cut off at its limit, and the small one has neither: every path through the list.
    """
    for _model, model_admin in registered():
        monkeypatch.setattr(model_admin, "list_per_page", 10)
        monkeypatch.setattr(model_admin, "list_count_limit", 30)

    def measure() -> dict:
        counts = {}
        for label, (user, client) in people.items():
            for model, model_admin in registered():
                if not may_view(model_admin, user):
                    continue
                url = changelist_url(model)
                client.get(url)  # caches (content types, permissions) are warm for both measures
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url)
                assert response.status_code == 200, (label, url, response.status_code)
                counts[(label, model._meta.label)] = (len(queries), [q["sql"] for q in queries],
                                                      len(response.context["cl"].result_list))
        return counts

    build_all(world, 2)
    small = measure()
    build_all(world, 38)
    large = measure()

    assert {key for key, (_n, _sql, rows) in large.items() if rows >= 10} >= {
        ("superuser", label) for label in ("plans.Plan", "plans.PlanVersion", "plans.Contact", "plans.Process",
                                           "plans.Risk", "plans.Audit", "reviews.Review", "reviews.Ack",
                                           "templates_app.Template", "auth.User")
    }, "the large data did not fill a page of these lists"
    grown = []
    for key, (count, _sql, _rows) in small.items():
        if large[key][0] != count:
            extra = "\n    ".join(large[key][1][-3:])
            grown.append(f"{key}: {count} queries with 2 rows, {large[key][0]} with 40; the last ones:\n    {extra}")
    assert not grown, "\n".join(grown)


def test_changelists_leave_wide_columns_out(world, admin_client):
    """JSON the list does not show (working copies, version content, schemas, audit details) is not read
    by the list's queries, neither from the listed table nor from the tables it joins."""
    build_all(world, 3)
    quote = connection.ops.quote_name
    read = []
    for model, model_admin in registered():
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist_url(model))
        assert response.status_code == 200
        shown = set(model_admin.get_list_display(response.wsgi_request))
        related = [f.related_model for f in model._meta.concrete_fields if f.is_relation]
        columns = [(model, name) for name in wide_fields(model, shown)]
        columns += [(rel, name) for rel in related for name in wide_fields(rel)]
        for rel, name in columns:
            column = f"{quote(rel._meta.db_table)}.{quote(rel._meta.get_field(name).column)}"
            hits = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and column in q["sql"]]
            if hits:
                read.append(f"{model._meta.label} list reads {column}")
    assert not read, "\n".join(read)


# --- settings of every changelist ----------------------------------------------------------------------


def test_every_changelist_counts_little_and_has_no_date_hierarchy():
    problems = []
    for model, model_admin in registered():
        label = f"{model._meta.label} ({type(model_admin).__name__})"
        if model_admin.show_full_result_count:
            problems.append(f"{label}: show_full_result_count is on (a COUNT of the whole table on every page)")
        if model_admin.date_hierarchy:
            problems.append(f"{label}: date_hierarchy {model_admin.date_hierarchy!r} (reads every distinct date; "
                            "use bcp_site.admin_base.recent_filter)")
        if not isinstance(model_admin, ListAtScaleMixin):
            problems.append(f"{label}: not a ListAtScaleMixin (counts, facets and wide columns are unbounded)")
    assert not problems, "\n".join(problems)


def test_a_long_list_says_more_than_its_limit_and_pages_up_to_it(world, admin_client, monkeypatch):
    model_admin = admin.site._registry[Plan]
    monkeypatch.setattr(model_admin, "list_per_page", 10)
    monkeypatch.setattr(model_admin, "list_count_limit", 30)
    _plans(world, 40)
    url = changelist_url(Plan)
    page = admin_client.get(url).content.decode()
    assert re.search(r"30\+\s+plans", page)
    assert "the pages stop at 30: search or filter to reach the others" in page
    assert "Select all 30+ plans" in page
    assert admin_client.get(url, {"p": "3"}).status_code == 200  # rows 21-30: the last page offered
    response = admin_client.get(url, {"p": "5"})
    assert response.status_code == 302 and "e=1" in response["Location"]
    short = admin_client.get(url, {"q": "Head office"}).content.decode()  # a search narrows it: counted exactly
    assert re.search(r"1\s+plan\b", short) and "the pages stop" not in short


# --- nothing grows with people, plans, templates or organisations -------------------------------------


def filter_panel(html: str) -> str:
    found = re.search(r'<nav id="changelist-filter".*?</nav>', html, re.S)
    return found.group(0) if found else ""


def test_no_filter_lists_every_person_plan_template_or_organisation(world, people):
    """The filter panel of every changelist is the same before and after 200 more people, 20 more
    organisations, templates and plans (each with its own owner and template)."""

    def panels() -> dict:
        seen = {}
        for label, (user, client) in people.items():
            for model, model_admin in registered():
                if may_view(model_admin, user):
                    response = client.get(changelist_url(model))
                    assert response.status_code == 200
                    seen[(label, model._meta.label)] = filter_panel(response.content.decode())
        return seen

    build_all(world, 1)
    before = panels()
    assert sum(1 for panel in before.values() if 'name="owner_user"' in panel) >= 2  # the owner box is there
    _users(world, 200)
    BUILDERS["plans.Organisation"](world, 20)
    owners = _users(world, 20)
    templates = Template.objects.bulk_create(
        Template(name=f"Grown template {i}", schema_json=SMALL_SCHEMA) for i in range(20))
    for plan, template in zip(_plans(world, 20, owners=owners), templates, strict=True):
        Plan.objects.filter(pk=plan.pk).update(template=template)
    after = panels()
    grown = [f"{key}: the filters grew from {len(before[key])} to {len(after[key])} characters"
             for key in before if after[key] != before[key]]
    assert not grown, "\n".join(grown)


def test_admin_forms_do_not_list_every_person(world, people):
    """Add and change forms of every admin pick people by id (with a lookup), never from a select of
    everyone: a form is the same size with 200 more people in the organisation."""
    build_all(world, 1)

    def forms() -> dict:
        seen = {}
        for label, (user, client) in people.items():
            request = RequestFactory().get("/admin/")
            request.user = user
            for model, model_admin in registered():
                opts = model._meta
                urls = []
                if model_admin.has_add_permission(request):
                    urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
                row = model_admin.get_queryset(request).order_by("pk").first()
                if row is not None and model_admin.has_view_or_change_permission(request, row):
                    urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
                for url in urls:
                    response = client.get(url)
                    assert response.status_code == 200, (label, url, response.status_code)
                    seen[(label, url)] = len(response.content)
        return seen

    before = forms()
    assert len(before) > 30, "the enumeration found few forms"
    _users(world, 200)
    after = forms()
    grown = [f"{key}: {before[key]} -> {after[key]} bytes" for key in before if after[key] - before[key] > 500]
    assert not grown, "forms listing people:\n" + "\n".join(grown)


# --- the search boxes and the period filter ----------------------------------------------------------------


def test_search_boxes_filter_inside_the_organisation(world, people, outsider, other_org):
    mine = _plans(world, 2, owners=_users(world, 2))
    theirs = Plan.objects.create(org=other_org, title="Zulu plan", template=world.template, owner_user=outsider)
    url = changelist_url(Plan)

    def titles(client, **params):
        response = client.get(url, params)
        assert response.status_code == 200, params
        return {plan.title for plan in response.context["cl"].result_list}

    superuser, bcp_admin = people["superuser"][1], people["BCP Admin"][1]
    owner = mine[0].owner_user
    assert titles(bcp_admin, owner_user=owner.username) == {mine[0].title}
    assert titles(bcp_admin, owner_user=str(owner.pk)) == {mine[0].title}
    assert titles(bcp_admin, owner_user="outsider") == set()  # another organisation's person: nothing
    assert titles(superuser, owner_user="outsider") == {theirs.title}
    assert titles(superuser, org="Other Corp") == {theirs.title}
    assert titles(superuser, org=str(other_org.pk)) == {theirs.title}
    assert "Zulu plan" not in titles(bcp_admin, org="Other Corp")  # members have one organisation
    assert 'name="org"' not in filter_panel(bcp_admin.get(url).content.decode())
    assert 'name="org"' in filter_panel(superuser.get(url).content.decode())
    assert len(titles(bcp_admin, template=world.template.name)) == 3  # the fixture's plan and mine
    assert titles(bcp_admin, template="No such template") == set()
    # The box keeps the other filters and the search when it is used.
    page = bcp_admin.get(url, {"status": "draft", "q": "Scale"}).content.decode()
    assert '<input type="hidden" name="status" value="draft">' in page
    assert '<input type="hidden" name="q" value="Scale">' in page
    for garbage in ("x" * 10_000, "9" * 4400, str(2**63), "²", " ", "%00"):
        assert superuser.get(url, {"owner_user": garbage, "org": garbage, "template": garbage}).status_code == 200


def test_recent_filter_replaces_the_date_hierarchy(world, admin_client):
    now = timezone.now()
    for days, action in ((2, "recent_action"), (100, "old_action")):
        Audit.objects.create(org=world.org, action=action, at_utc=now - timedelta(days=days))
    url = changelist_url(Audit)

    def actions(**params):
        response = admin_client.get(url, params)
        assert response.status_code == 200
        return {row.action for row in response.context["cl"].result_list}

    assert {"recent_action", "old_action"} <= actions()
    assert "old_action" not in actions(at_utc_within="7") and "recent_action" in actions(at_utc_within="7")
    assert "old_action" in actions(at_utc_within="365")
    assert actions(action="old_action") == {"old_action"}
    assert {"recent_action", "old_action"} <= actions(at_utc_within="9" * 4400)  # not a period: no filter


# --- labels never query -------------------------------------------------------------------------------------


def _unsaved(model):
    """An instance with every column filled and every relation an id only (nothing loaded)."""
    from django.db import models

    obj = model()
    for field in model._meta.concrete_fields:
        if field.is_relation:
            setattr(obj, field.attname, 1)
        elif isinstance(field, models.DateTimeField):
            setattr(obj, field.attname, timezone.now())
        elif isinstance(field, models.DateField):
            setattr(obj, field.attname, timezone.now().date())
        elif isinstance(field, (models.CharField, models.TextField)) and not getattr(obj, field.attname):
            setattr(obj, field.attname, "x")
        elif isinstance(field, models.IntegerField) and getattr(obj, field.attname) is None:
            setattr(obj, field.attname, 1)
    return obj


def test_labels_never_query(db, django_assert_num_queries):
    """`__str__` of every model of ours (and of every registered one) reads stored fields only: a list,
    a message or a history page naming 100 rows never runs 100 queries."""
    from django.apps import apps

    models = {model for model, _ in registered()}
    for app in ("plans", "reviews", "templates_app"):
        models |= set(apps.get_app_config(app).get_models())
    for model in sorted(models, key=lambda m: m._meta.label):
        obj = _unsaved(model)
        with django_assert_num_queries(0):
            assert str(obj), model._meta.label


# --- MariaDB: the plan changelist's query uses an index ------------------------------------------------------


def _explain(sql: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        names = [column[0].lower() for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # ANALYZE TABLE commits
def test_plan_changelist_query_uses_an_index_on_mariadb(template):
    from bcp_site.testing import make_org, make_user

    orgs = [make_org(f"Explain admin org {n}") for n in range(3)]
    owners = [make_user(org, username=f"explain-admin-owner-{n}") for n, org in enumerate(orgs)]
    bcp_admin = make_user(orgs[1], username="explain-bcp-admin", groups=["BCP Admin"], is_staff=True)
    superuser = User.objects.create_superuser("explain-root", "root@example.org", "x")
    for org, owner in zip(orgs, owners, strict=True):
        world = World(org=org, owner=owner, reviewers=[owner], template=template, plan=None)
        for _ in range(10):
            _plans(world, 100)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bc_plan SET updated_at = TIMESTAMPADD(SECOND, -id, UTC_TIMESTAMP(6))")
        for table in ("bc_plan", "bc_plan_version", "bc_organisation", "auth_user", "bc_membership"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    table = connection.ops.quote_name("bc_plan")
    for user, index in ((superuser, "idx_bc_plan_updated"), (bcp_admin, "idx_bc_plan_org_updated")):
        client = Client()
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(changelist_url(Plan))
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == 100
        main = [q["sql"] for q in queries if q["sql"].startswith(f"SELECT {table}.") and "LIMIT" in q["sql"]]
        assert len(main) == 1, [q["sql"] for q in queries]
        rows = _explain(main[0])
        shown = f"{main[0]}\n" + "\n".join(str(row) for row in rows)
        # The plans are read in the list's order from the index (a table of one row, the person's
        # organisation, may be read before them), then the other tables are joined row by row.
        first = next(row for row in rows if row["type"] not in ("const", "system"))
        assert first["table"] == "bc_plan" and first["key"] == index, shown
        for row in rows:
            assert row["type"] != "ALL", shown
            extra = (row["extra"] or "").lower()
            assert "filesort" not in extra and "temporary" not in extra, shown
