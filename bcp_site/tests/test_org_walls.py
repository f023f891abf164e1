"""Organisations are walls (invariant 6) and history is for reading (invariant 7), everywhere.

The matrix enumerates every URL pattern (site pages and the admin, through the resolver),
every registered admin (changelist, add, change, delete, history, simple-history's revert
view, custom views), every admin action and the autocomplete endpoint for every relation,
so a page added tomorrow is covered the day it is added (see wall_support.py). A URL
parameter the matrix cannot fill fails the test, naming the pattern.

Matrix 1: Alpha's people (and a staff user of no organisation, and an anonymous visitor)
request every URL filled with Zulu's rows, GET and POST: the answer is 403 or 404, never
Zulu's data, and the database is unchanged (every table compared). Also accepted: 405 (a
method the page never takes, refused before anything is looked up), a redirect to sign in
for anonymous visitors and, on admin pages, for people who are not staff, 400 from the email
link pages (their answer to a link that is not valid for its holder); an admin action on
Zulu's id must answer exactly as the same action on an id that does not exist.
Matrix 2: inside Alpha, a viewer and an auditor change nothing, a reviewer changes nothing but
their own decisions, nobody reverts workflow state or evidence from history, and history stays
readable. The auditor reads every page and download a viewer reads, the KPI pages, and every
admin page of what they may view (read-only).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from . import wall_support as ws

pytestmark = pytest.mark.django_db

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REDIRECTS = (301, 302, 303, 307, 308)
CROSS_ROLES = ["viewer", "editor", "reviewer", "bcp_admin", "auditor", "orgless_staff", "anonymous"]
# Workflow state and evidence: never reverted from history (invariant 7), by anyone.
NO_REVERT_MODELS = [
    "plans.Plan", "plans.PlanVersion", "reviews.Review", "reviews.Ack", "plans.Attachment", "plans.Audit",
    "templates_app.Template", "templates_app.SectionDefinition", "plans.Exercise", "plans.Finding",
    "plans.Incident",
]
REVERT_ROLES = ["viewer", "editor", "reviewer", "bcp_admin", "auditor", "orgless_staff", "superuser"]


def _storage_settings(location) -> dict:
    return {
        "PASSWORD_HASHERS": FAST_HASHER,
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": str(location)}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        "MEDIA_ROOT": location,
    }


@pytest.fixture(scope="module")
def _wall_files(tmp_path_factory):
    return tmp_path_factory.mktemp("wall-files")


@pytest.fixture(autouse=True)
def _media_root(settings, _wall_files):
    """Replaces the plugin's per-test folder: the module's attachments and exports are stored once."""
    for name, value in _storage_settings(_wall_files).items():
        setattr(settings, name, value)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, _wall_files):
    """Both organisations, built once for the module in a transaction rolled back at its end.

    Each test runs in a savepoint inside it (pytest-django's `db`), so what a test changes
    is undone before the next one.
    """
    from plans import exports

    with django_db_blocker.unblock(), override_settings(**_storage_settings(_wall_files)), \
            pytest.MonkeyPatch.context() as patch:
        # Approval hooks run after commit, which never comes here; renderers are replaced so
        # that a request that does render (and records an export) is quick and still seen.
        patch.setattr("plans.exports.version_exports_enqueue", lambda **kwargs: None)
        patch.setattr("reviews.ack_mail.ack_links_queue", lambda **kwargs: 0)
        for kind in exports.KINDS:
            patch.setitem(exports.RENDERERS, kind, lambda version, kind=kind, **kw: f"rendered {kind}".encode())
        with transaction.atomic():
            built = ws.build_world()
            yield built
            transaction.set_rollback(True)


def user_for(world, role):
    return world.roles()[role]


def _allowed_login_redirect(call, response, user) -> bool:
    location = response["Location"]
    if not location.startswith(ws.login_urls()):
        return False
    if user is None:
        return True
    return call.endpoint.is_admin and not user.is_staff


def _may_view(user, model) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


def _check_readable_changelist(call, response, user, sweep, describe):
    """A changelist the person may view answers 200: otherwise "no other organisation's rows" proves nothing."""
    ma = call.endpoint.model_admin
    if (call.method == "GET" and ma is not None and call.endpoint.suffix == "changelist" and call.what == "changelist"
            and ws.is_member_staff(user) and _may_view(user, ma.model) and response.status_code != 200):
        sweep.problems.append(f"{describe}: answers {response.status_code}; a changelist this person may view "
                              "must be readable")


def _judge_action(call, response, user, sweep, describe):
    """An action posted with another organisation's id: refused exactly as for an id that does not exist.

    A changelist answers an action with the changelist (200) or a redirect back to it with a
    message, not with a 404; what must not differ is the answer itself (no confirmation page
    listing the row, no "done" message), so it is compared with the same action on a missing id.
    """
    status = response.status_code
    if status in REDIRECTS:
        back = urlsplit(response["Location"]).path == urlsplit(call.url).path
        if not back and not _allowed_login_redirect(call, response, user):
            sweep.problems.append(f"{describe}: answers {status} redirecting to {response['Location']}")
    elif status not in (200, 403, 404):
        sweep.problems.append(f"{describe}: answers {status}")
    seen = ws.signature(response)
    if call.probe_signature is not None and seen != call.probe_signature:
        sweep.problems.append(f"{describe}: answers {seen} but for an id that does not exist "
                              f"{call.probe_signature}: the other organisation's row is not treated as missing")


def cross_judge(user):
    def judge(call, response, text, sweep, describe, previous):
        status = response.status_code
        if status >= 500:
            sweep.problems.append(f"{describe}: answers {status} (a server error)")
        hit = ws.marker_context(text)
        if hit:
            html = "html" in response.get("Content-Type", "")
            note = f" (or a message queued by the previous request {previous})" if html and not call.names_row else ""
            sweep.problems.append(f"{describe}: answers {status} showing the other organisation's data{note}: "
                                  f"…{hit}…")
        if call.is_action:
            _judge_action(call, response, user, sweep, describe)
        elif call.names_row:
            allowed = {403, 404, 405} | ({400} if call.target is not None and call.target.is_token else set())
            if status in REDIRECTS:
                if not _allowed_login_redirect(call, response, user):
                    sweep.problems.append(f"{describe}: answers {status} redirecting to {response['Location']} "
                                          "(expected 403 or 404)")
            elif status not in allowed:
                sweep.problems.append(f"{describe}: answers {status} (expected 403 or 404)")
        _check_readable_changelist(call, response, user, sweep, describe)

    return judge


def own_judge(user):
    """Inside the person's own organisation: no server error, no other organisation's data."""

    def judge(call, response, text, sweep, describe, previous):
        if response.status_code >= 500:
            sweep.problems.append(f"{describe}: answers {response.status_code} (a server error)")
        hit = ws.marker_context(text)
        if hit:
            sweep.problems.append(f"{describe}: answers {response.status_code} showing the other organisation's "
                                  f"data: …{hit}…")
        _check_readable_changelist(call, response, user, sweep, describe)

    return judge


# --- the matrix covers everything ---------------------------------------------------------------


def test_every_url_and_admin_is_covered_by_the_matrix(world):
    """Every pattern can be filled with both organisations' rows; every admin's model has an organisation
    or is shared."""
    problems = []
    for side in (world.alpha, world.zulu):
        for endpoint in ws.endpoints():
            if endpoint.name in ws.SKIPPED_URLS:
                continue
            ma = endpoint.model_admin
            if ma is not None and not ws.is_shared(ma.model) and ws.org_path(ma.model) is None:
                problems.append(f"{endpoint.label}: {ma.model._meta.label} has no path to an organisation")
                continue
            try:
                ws.targets_for(endpoint, side, world.alpha.viewer, cross=False)
            except ws.Unfillable as exc:
                problems.append(str(exc))
    for model in admin.site._registry:
        if not ws.is_shared(model):
            for side in (world.alpha, world.zulu):
                try:
                    row = side.pick(model)
                except ws.Unfillable as exc:
                    problems.append(str(exc))
                    continue
                assert side.objects_of(model).filter(pk=row.pk).exists(), (
                    f"{model._meta.label} {row.pk} is not {side.label}'s (through {ws.org_path(model)})"
                )
    assert not problems, "The wall matrix cannot cover:\n" + "\n".join(sorted(set(problems)))


# --- matrix 1: across organisations --------------------------------------------------------------


@pytest.mark.parametrize("role", CROSS_ROLES)
def test_other_organisation_is_a_wall(world, role):
    """Every URL filled with Zulu's rows, GET and POST, as one of Alpha's people: 403 or 404, nothing of
    Zulu's shown, nothing changed."""
    user = user_for(world, role)
    sweep = ws.sweep_requests(world, world.zulu, role, user, cross=True, judge=cross_judge(user))
    assert sweep.count > 100, f"only {sweep.count} requests were made: the enumeration is broken"
    assert not sweep.problems, ws.report(sweep)


@pytest.mark.parametrize("role", ["editor", "bcp_admin", "orgless_staff"])
def test_own_pages_never_list_the_other_organisation(world, role):
    """Alpha's own lists, filters, pickers and forms (site and admin, GET) never offer Zulu's rows.

    (The viewer and the reviewer see the same pages in the matrix-2 sweeps, which check this too.)
    """
    user = user_for(world, role)
    # Pages naming none of Alpha's rows (lists, add forms, pickers) are in the matrix-1 sweep already.
    sweep = ws.sweep_requests(world, world.alpha, role, user, cross=False, judge=own_judge(user),
                              keep=lambda call: call.method == "GET" and call.names_row)
    assert not sweep.problems, ws.report(sweep)


# --- matrix 2: inside the organisation ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "reviewer", "auditor"])
def test_viewer_and_reviewer_change_nothing_in_their_organisation(world, role):
    """Every URL filled with Alpha's own rows, GET and POST: nothing changes.

    The reviewer has no pending review of their own here (Alpha's pending review is
    reviewer2's), and both have acknowledged the approved version already, so none of
    their requests is a change they may make. The auditor (staff, every view permission)
    may make none at all: not even an acknowledgement.
    """
    user = user_for(world, role)
    # Pages naming no row (lists, add forms, pickers) were requested by the same person in the
    # matrix-1 sweep, which checks that nothing changed too; here: every POST, and every GET of a row.
    sweep = ws.sweep_requests(world, world.alpha, role, user, cross=False, judge=own_judge(user),
                              keep=lambda call: call.method == "POST" or call.names_row)
    assert sweep.count > 100, f"only {sweep.count} requests were made: the enumeration is broken"
    assert not sweep.problems, ws.report(sweep)


def _submit_to_both_reviewers(world, title):
    from bcp_site.testing import make_plan
    from reviews.services import plan_submit_for_review

    alpha = world.alpha
    plan = make_plan(alpha.org, alpha.owner, template=alpha.template, title=title)
    reviews = plan_submit_for_review(plan=plan, actor=alpha.owner, reviewers=[alpha.reviewer, alpha.reviewer2])
    return next(r for r in reviews if r.reviewer_user_id == alpha.reviewer.pk)


@pytest.mark.parametrize("via", ["page", "admin action"])
def test_reviewer_decision_changes_only_their_own_review(world, via):
    from reviews.models import Review

    own = _submit_to_both_reviewers(world, f"Alpha decision plan ({via})")
    client = Client(raise_request_exception=False)
    client.force_login(world.alpha.reviewer)
    before = ws.snapshot()
    if via == "page":
        response = client.post(reverse("reviews:approve", args=[own.pk]), {"notes": ""})
    else:
        response = client.post(reverse("admin:reviews_review_changelist"),
                               {"action": "approve_reviews", "_selected_action": [own.pk], "index": "0",
                                "confirm": "yes"})  # the confirmation page's "Yes, approve"
    assert response.status_code in REDIRECTS, f"{via}: answers {response.status_code}"
    changes = ws.diff(before, ws.snapshot())
    assert Review.objects.get(pk=own.pk).status == Review.Status.APPROVED, f"{via}: the decision was not recorded"
    review_table, history_table = Review._meta.db_table, Review.history.model._meta.db_table
    allowed = {review_table, history_table, apps.get_model("plans", "Audit")._meta.db_table,
               apps.get_model("plans", "Notification")._meta.db_table}  # the decision's mail, queued
    unexpected = {t: w for t, w in changes.items() if t not in allowed}
    assert not unexpected, f"{via}: a reviewer's decision also changed: {unexpected}"
    changed_reviews = changes.get(review_table, "")
    assert changed_reviews.startswith(f"changed {own.pk}:") and ";" not in changed_reviews, (
        f"{via}: reviews other than the reviewer's own changed: {changed_reviews}"
    )


def _revert_form(world, model, obj, history_url):
    """What a person would post on the revert page: the object's form as a superuser's change page shows it."""
    side = world.alpha
    data = ws.form_data(world, side, history_url, admin_page=True)
    if not data:
        opts = model._meta
        data = ws.form_data(world, side, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
                            admin_page=True)
    return data


def _revert_target(world, model):
    if model._meta.label == "templates_app.SectionDefinition":
        return world.alpha.section
    return world.alpha.pick(model)


@pytest.mark.parametrize("label", NO_REVERT_MODELS)
def test_nobody_reverts_workflow_or_evidence_from_history(world, label):
    model = apps.get_model(label)
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_simple_history"
    obj = _revert_target(world, model)
    record = ws.first_history(obj)
    if record is None:
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[obj.pk, 1])  # no history kept: there must be no revert page either
        return
    url = reverse(name, args=[obj.pk, record.history_id])
    data = _revert_form(world, model, obj, url)
    problems = []
    for role in REVERT_ROLES:
        user = user_for(world, role)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        before = ws.snapshot()
        with transaction.atomic():  # each person meets the same rows: what one changed is undone
            response = client.post(url, data)
            changes = ws.diff(before, ws.snapshot())
            transaction.set_rollback(True)
        status = response.status_code
        if role == "orgless_staff":
            expected_ok = status in (403, 404)
        elif not user.is_staff:
            expected_ok = status == 403 or (status in REDIRECTS and response["Location"].startswith(ws.login_urls()))
        else:
            expected_ok = status == 403
        if not expected_ok:
            where = f" to {response['Location']}" if status in REDIRECTS else ""
            problems.append(f"{role}: POST {url} answers {status}{where} (expected 403)")
        for table, what in changes.items():
            problems.append(f"{role}: POST {url} changed table {table}: {what}")
    assert not problems, f"Reverting a {label} from history:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ["reviewer", "bcp_admin", "auditor"])
def test_history_of_own_rows_stays_readable(world, role):
    user = user_for(world, role)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    problems, checked = [], 0
    for model in admin.site._registry:
        if not user.is_staff or not _may_view(user, model):
            continue
        opts = model._meta
        obj = _revert_target(world, model)
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
        response = client.get(url)
        checked += 1
        if response.status_code != 200:
            problems.append(f"GET {url} answers {response.status_code} (expected 200)")
        elif ws.marker_context(response.content.decode(errors="replace")):
            problems.append(f"GET {url} shows the other organisation's data")
    if user.is_staff:
        assert checked, f"{role} may view no model: nothing was checked"
    assert not problems, f"History pages for {role}:\n" + "\n".join(problems)


# --- the auditor reads everything ---------------------------------------------------------------


def _statuses(world, role) -> dict[str, int]:
    """url -> status of every site GET of the matrix against Alpha's rows, made by `role`."""
    seen: dict[str, int] = {}

    def judge(call, response, text, sweep, describe, previous):
        own_judge(user_for(world, role))(call, response, text, sweep, describe, previous)
        # An email link's URL names the person it was made for: compare those by page.
        seen[call.endpoint.label if call.target.is_token else call.url] = response.status_code

    sweep = ws.sweep_requests(world, world.alpha, role, user_for(world, role), cross=False, judge=judge,
                              keep=lambda call: call.method == "GET" and not call.endpoint.is_admin)
    assert not sweep.problems, ws.report(sweep)
    return seen


def test_auditor_reads_every_page_and_download_of_their_organisation(world):
    """Every site page and download a viewer reads (plans, versions, exports, attachments, audit trails,
    coverage and its CSV, changes, exercises...) answers the auditor too, and so do the KPI pages; every
    admin list, change page and history of a model they may view answers 200, read-only."""
    viewer, auditor = _statuses(world, "viewer"), _statuses(world, "auditor")
    problems = [f"GET {url}: {auditor.get(url)} for the auditor, {status} for a viewer"
                for url, status in sorted(viewer.items()) if status == 200 and auditor.get(url) != 200]
    for name in ("kpi:dashboard", "kpi:snapshots_csv", "kpi:ack_coverage"):
        if auditor.get(reverse(name)) != 200:
            problems.append(f"GET {reverse(name)}: {auditor.get(reverse(name))} for the auditor")
    assert sum(status == 200 for status in viewer.values()) > 30, "the viewer read little: the enumeration is broken"

    user = world.alpha.auditor
    client = Client(raise_request_exception=False)
    client.force_login(user)
    read = 0
    for model in admin.site._registry:
        if not _may_view(user, model):
            continue
        opts = model._meta
        pages = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        if not ws.is_shared(model):
            obj = _revert_target(world, model)
            pages += [reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
                      reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])]
        for url in pages:
            response = client.get(url)
            read += 1
            text = response.content.decode(errors="replace")
            if response.status_code != 200:
                problems.append(f"GET {url}: {response.status_code} for the auditor (expected 200)")
            elif 'name="_save"' in text:
                problems.append(f"GET {url}: offers the auditor a Save button")
    assert read > 30, f"the auditor may view only {read} admin pages"
    assert not problems, "The auditor cannot read:\n" + "\n".join(problems)

