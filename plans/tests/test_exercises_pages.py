"""The exercise and finding pages: who may open them (302 to sign in, 403, 404 outside the organisation),
the whole flow through the pages, and their query counts with small and large data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.models import Audit, Exercise, ExerciseObjective, ExerciseParticipant, Finding, Plan

from .exercise_support import approve, held_exercise, raise_finding

pytestmark = pytest.mark.django_db

READ = "read"  # any member of the organisation
EDIT = "edit"  # BCP Editors (and Admins)
ADMIN = "admin"  # BCP Admins only

# (URL name, which rows it names, who may use it, methods)
PAGES = [
    ("exercises:exercise_list", "plan", READ, ("GET",)),
    ("exercises:exercise_create", "plan", EDIT, ("GET", "POST")),
    ("exercises:exercise_detail", "exercise", READ, ("GET",)),
    ("exercises:exercise_edit", "exercise", EDIT, ("GET", "POST")),
    ("exercises:exercise_hold", "exercise", EDIT, ("GET", "POST")),
    ("exercises:exercise_results", "exercise", EDIT, ("GET", "POST")),
    ("exercises:exercise_report_issue", "exercise", EDIT, ("POST",)),
    ("exercises:exercise_report", "exercise", READ, ("GET",)),
    ("exercises:exercise_close", "exercise", EDIT, ("POST",)),
    ("exercises:finding_create", "exercise", EDIT, ("GET", "POST")),
    ("exercises:finding_list", "plan", READ, ("GET",)),
    ("exercises:finding_detail", "finding", READ, ("GET",)),
    ("exercises:finding_detail", "finding", EDIT, ("POST",)),
    ("exercises:finding_accept_risk", "finding", ADMIN, ("GET", "POST")),
]


@pytest.fixture
def rows(plan, owner, reviewer):
    approve(plan, submitter=owner, approver=reviewer)
    exercise = held_exercise(plan, actor=owner)
    return {"plan": plan, "exercise": exercise, "finding": raise_finding(exercise, actor=owner)}


def _url(name: str, names: str, rows: dict) -> str:
    plan = rows["plan"]
    if names == "plan":
        return reverse(name, args=[plan.pk])
    return reverse(name, args=[plan.pk, rows[names].pk])


@pytest.mark.parametrize("name, names, who, methods", PAGES)
def test_who_may_open_each_page(client, rows, member, owner, bcp_admin, outsider, name, names, who, methods):
    url = _url(name, names, rows)
    allowed = {READ: [member, owner, bcp_admin], EDIT: [owner, bcp_admin], ADMIN: [bcp_admin]}[who]
    refused = [person for person in (member, owner) if person not in allowed]
    for method in methods:
        send = client.get if method == "GET" else client.post
        client.logout()
        response = send(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), method
        client.force_login(outsider)  # another organisation: as if the plan did not exist
        assert send(url).status_code == 404, method
        for person in refused:
            client.force_login(person)
            assert send(url).status_code == 403, (method, person)
        if method == "GET":
            client.force_login(allowed[0])
            assert send(url).status_code in (200, 302), method  # the report of an unreported exercise redirects


def test_another_plans_exercise_is_not_found_through_this_plan(client, rows, org, owner, template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template, title="Depot plan")
    client.force_login(owner)
    url = reverse("exercises:exercise_detail", args=[other.pk, rows["exercise"].pk])
    assert client.get(url).status_code == 404


def test_the_whole_flow_through_the_pages(client, plan, org, owner, bcp_admin, reviewer, member,
                                          django_capture_on_commit_callbacks):
    approve(plan, submitter=owner, approver=reviewer)
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "Plan an exercise" in page and "No exercise recorded yet." in page
    create = client.get(reverse("exercises:exercise_create", args=[plan.pk])).content.decode()
    token = create.split('name="submission_token" value="')[1].split('"')[0]
    today = timezone.localdate()
    response = client.post(reverse("exercises:exercise_create", args=[plan.pk]), {
        "title": "Power cut drill", "exercise_type": "simulation", "scheduled_on": today.isoformat(),
        "scenario": "The grid fails at 09:00.", "objectives": "Generator starts\nStaff reach the depot\n",
        "facilitator": owner.username, "participants": f"{member.username}\n{reviewer.username}",
        "external_participants": "Fire brigade liaison", "submission_token": token,
    })
    assert response.status_code == 302
    exercise = Exercise.objects.get(title="Power cut drill")
    assert response["Location"] == exercise.get_absolute_url()
    assert sorted(ExerciseParticipant.objects.filter(exercise=exercise).values_list("user__username", flat=True)) \
        == sorted([member.username, reviewer.username])
    assert exercise.version_id == plan.approved_version_id

    response = client.post(reverse("exercises:exercise_hold", args=[plan.pk, exercise.pk]),
                           {"held_on": (today + dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 400 and "a day still to come" in response.content.decode()
    response = client.post(reverse("exercises:exercise_hold", args=[plan.pk, exercise.pk]),
                           {"held_on": today.isoformat()})
    assert response["Location"] == reverse("exercises:exercise_results", args=[plan.pk, exercise.pk])
    plan.refresh_from_db()
    assert plan.last_exercised_on == today

    objectives = list(exercise.objectives.order_by("position"))
    response = client.post(reverse("exercises:exercise_results", args=[plan.pk, exercise.pk]), {
        f"objective_{objectives[0].pk}": "met", f"objective_{objectives[1].pk}": "",
        "summary": "Generator started after 4 minutes.",
    })
    assert response.status_code == 302
    response = client.post(reverse("exercises:exercise_report_issue", args=[plan.pk, exercise.pk]), follow=True)
    assert "Record a result for every objective before issuing the report" in response.content.decode()
    client.post(reverse("exercises:exercise_results", args=[plan.pk, exercise.pk]), {
        f"objective_{objectives[0].pk}": "met", f"objective_{objectives[1].pk}": "not_met",
        f"objective_{objectives[1].pk}_notes": "Two people had no key",
    })
    create = client.get(reverse("exercises:finding_create", args=[plan.pk, exercise.pk])).content.decode()
    token = create.split('name="submission_token" value="')[1].split('"')[0]
    response = client.post(reverse("exercises:finding_create", args=[plan.pk, exercise.pk]), {
        "description": "Cut more depot keys", "severity": "medium", "owner": owner.username,
        "due_on": (today + dt.timedelta(days=14)).isoformat(), "submission_token": token,
    })
    assert response.status_code == 302
    finding = Finding.objects.get(description="Cut more depot keys")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exercises:exercise_report_issue", args=[plan.pk, exercise.pk]))
    assert response.status_code == 302
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.REPORTED
    assert client.get(reverse("exercises:finding_create", args=[plan.pk, exercise.pk])).status_code == 200
    refused = client.post(reverse("exercises:finding_create", args=[plan.pk, exercise.pk]), {
        "description": "Too late", "severity": "low", "owner": owner.username, "due_on": today.isoformat()})
    assert "until its report is issued" in refused.content.decode()

    response = client.post(reverse("exercises:exercise_close", args=[plan.pk, exercise.pk]), follow=True)
    assert "1 finding of this exercise is still open" in response.content.decode()
    client.force_login(bcp_admin)
    client.post(reverse("exercises:finding_accept_risk", args=[plan.pk, finding.pk]), {"reason": "Keys cost too much"})
    client.force_login(owner)
    response = client.post(reverse("exercises:exercise_close", args=[plan.pk, exercise.pk]), follow=True)
    assert "Exercise “Power cut drill” closed." in response.content.decode()
    actions = list(Audit.objects.filter(plan=plan).order_by("id").values_list("action", flat=True))
    for action in ("exercise_planned", "exercise_held", "exercise_results_recorded", "finding_raised",
                   "exercise_reported", "finding_risk_accepted", "exercise_closed"):
        assert action in actions
    page = client.get(reverse("changes:plan_audit", args=[plan.pk])).content.decode()
    assert "Exercise held" in page and "Finding raised" in page


def test_editing_keeps_the_result_of_an_unchanged_objective(client, rows, owner):
    exercise = rows["exercise"]
    client.force_login(owner)
    objective = exercise.objectives.get()
    assert objective.result == "met"
    url = reverse("exercises:exercise_edit", args=[exercise.plan_id, exercise.pk])
    form = client.get(url).content.decode()
    assert objective.text in form
    response = client.post(url, {
        "title": "Renamed drill", "exercise_type": "tabletop", "scheduled_on": exercise.scheduled_on.isoformat(),
        "objectives": f"A new first objective\n{objective.text}", "facilitator": "", "participants": "",
    })
    assert response.status_code == 302
    texts = list(exercise.objectives.order_by("position").values_list("text", "result"))
    assert texts == [("A new first objective", ""), (objective.text, "met")]
    assert Audit.objects.filter(action="exercise_changed").get().details_json["changes"]["title"][1] == "Renamed drill"


def _make_exercises(plan, owner, n):
    now = timezone.now()
    people = [make_user(plan.org, username=f"p{plan.pk}-{n}-{i}") for i in range(min(n, 20))]
    exercises = Exercise.objects.bulk_create(
        Exercise(plan=plan, version=plan.current_version, exercise_type="tabletop", title=f"Drill {i}",
                 scheduled_on=timezone.localdate(), held_on=timezone.localdate(), status="held",
                 facilitator_user=people[i % len(people)], created_at_utc=now)
        for i in range(n)
    )
    last = exercises[-1]
    ExerciseObjective.objects.bulk_create(
        ExerciseObjective(exercise=last, position=i, text=f"Objective {i}", result="met") for i in range(1, n + 1))
    ExerciseParticipant.objects.bulk_create(ExerciseParticipant(exercise=last, user=p) for p in people)
    Finding.objects.bulk_create(
        Finding(plan=plan, exercise=last, description=f"Finding {i}", severity="low",
                owner_user=people[i % len(people)], due_on=timezone.localdate(), raised_at_utc=now)
        for i in range(n))
    return last


EXERCISE_LIST_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the plan within the user's organisation
    + 1  # one page of exercises + 1 row (+ facilitator); no count
    + 2  # permissions of the user ("Plan an exercise", the navigation; cached for the request)
    + 1  # the navigation's counts
)
EXERCISE_DETAIL_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the plan within the user's organisation
    + 1  # the exercise (+ version exercised with its snapshot, facilitator, planner)
    + 1  # findings (+ owner)
    + 1  # objectives
    + 1  # recovery times recorded
    + 1  # participants (+ person)
    + 2  # permissions of the user (cached for the request)
    + 1  # the navigation's counts
)
FINDING_LIST_QUERIES = EXERCISE_LIST_QUERIES  # one page of findings (+ owner, exercise) instead of exercises
FINDING_DETAIL_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the plan within the user's organisation
    + 1  # the finding (+ exercise, owner, version that closed it, people)
    + 2  # permissions of the user (cached for the request)
    + 1  # the versions that ticked it
    + 1  # the navigation's counts
)


@pytest.mark.parametrize("n", [3, 60])
def test_list_and_detail_pages_run_a_fixed_number_of_queries(client, plan, owner, n, django_assert_num_queries):
    last = _make_exercises(plan, owner, n)
    finding = last.findings.order_by("id").first()
    client.force_login(owner)
    with django_assert_num_queries(EXERCISE_LIST_QUERIES):
        response = client.get(reverse("exercises:exercise_list", args=[plan.pk]))
    assert response.status_code == 200 and f"Drill {n - 1}" in response.content.decode()
    with django_assert_num_queries(EXERCISE_DETAIL_QUERIES):
        response = client.get(last.get_absolute_url())
    assert response.status_code == 200 and f"Objective {n}" in response.content.decode()
    with django_assert_num_queries(FINDING_LIST_QUERIES):
        response = client.get(reverse("exercises:finding_list", args=[plan.pk]))
    assert response.status_code == 200 and f"Finding {n - 1}" in response.content.decode()
    with django_assert_num_queries(FINDING_DETAIL_QUERIES):
        response = client.get(finding.get_absolute_url())
    assert response.status_code == 200 and "Finding 0" in response.content.decode()


def test_an_archived_plan_shows_its_exercises_read_only(client, rows, owner, bcp_admin):
    from reviews.services import plan_archive

    plan = rows["plan"]
    plan_archive(plan=plan, actor=bcp_admin)
    client.force_login(owner)
    page = client.get(rows["exercise"].get_absolute_url()).content.decode()
    assert "Raise a finding" not in page and "Issue the after-action report" not in page
    response = client.post(reverse("exercises:exercise_report_issue", args=[plan.pk, rows["exercise"].pk]),
                           follow=True)
    assert "This plan is archived" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).exercises.get().status == Exercise.Status.HELD
