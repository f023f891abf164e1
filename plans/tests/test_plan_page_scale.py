"""The plan page, a version and a comparison cost the same in a small and a large organisation,
for a small and a large plan: same queries, a page that does not grow with the people, people
named only when the plan refers to them, and written versions rendered once (cached).
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import add_children, make_plan, make_template, make_user
from plans.models import Contact, Membership, Plan, PlanVersion
from plans.services import version_create

pytestmark = pytest.mark.django_db

SCHEMA = {"sections": [{
    "key": "overview", "title": "Plan overview", "order": 1,
    "fields": [
        {"key": "purpose", "label": "Purpose", "type": "textarea"},
        {"key": "coordinator", "label": "Coordinator", "type": "user"},
        {"key": "team", "label": "Team", "type": "table", "columns": [
            {"key": "who", "label": "Who", "type": "user"}, {"key": "duty", "label": "Duty", "type": "text"},
        ]},
    ],
}]}


def add_people(org, n, *, start=0, group="BCP Viewer"):
    """n more members of `org` ("Person 0007"), in one BCP group, inserted in bulk."""
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"person{i:04d}", first_name="Person", last_name=f"{i:04d}", email=f"p{i}@example.org")
        for i in range(start, start + n)
    )
    Membership.objects.bulk_create(Membership(user=u, organisation=org) for u in users)
    group = Group.objects.get(name=group)
    User.groups.through.objects.bulk_create(User.groups.through(user_id=u.pk, group_id=group.pk) for u in users)
    from reviews.coverage_counts import coverage_recount  # bulk inserts send no signals: count them

    coverage_recount(org.pk)


def make_large(plan, owner):
    """The benchmark's large plan: 100 contacts, 200 processes, 200 risks, saved as a version."""
    add_children(plan, 200)
    Contact.objects.filter(plan=plan, name__in=[f"Contact {i}" for i in range(100, 200)]).delete()
    version_create(plan=plan, actor=owner, note="Large")


@pytest.fixture
def people_plan(org, owner, reviewer):
    """A plan whose overview names two colleagues (a user field and a user column of a table),
    saved as version 2 and approved (so the acknowledgement panel counts), then saved again as
    version 3, the draft a reviewer may be asked to review (so the submit form shows)."""
    coordinator = make_user(org, username="carol", first_name="Carol", last_name="Coordinator")
    deputy = make_user(org, username="dan", first_name="Dan", last_name="Deputy")
    plan = make_plan(org, owner, template=make_template(schema=SCHEMA), title="People plan")
    plan.draft_content_json = {"overview": {
        "purpose": "Keep going", "coordinator": coordinator.pk, "team": [{"who": deputy.pk, "duty": "Backup"}],
    }}
    plan.save()
    version = version_create(plan=plan, actor=owner, note="Named people")
    Plan.objects.filter(pk=plan.pk).update(approved_version=version, approved_at_utc=timezone.now())
    PlanVersion.objects.filter(pk=version.pk).update(approved_at_utc=timezone.now())
    plan.refresh_from_db()
    version_create(plan=plan, actor=owner, note="Next revision")
    plan.refresh_from_db()
    return plan


def cost(client, url) -> tuple[int, int, str]:
    """(queries with a cold cache, queries with the fragments cached, the page)."""
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        response = client.get(url)
    return len(cold), len(warm), response.content.decode()


def test_plan_page_costs_the_same_for_2_or_300_members_and_a_small_or_large_plan(client, org, owner, people_plan):
    client.force_login(owner)
    url = people_plan.get_absolute_url()
    small_cold, small_warm, small = cost(client, url)
    assert "Carol Coordinator" in small and "Dan Deputy" in small  # the people the plan names

    add_people(org, 300)
    make_large(people_plan, owner)
    large_cold, large_warm, large = cost(client, url)
    assert (large_cold, large_warm) == (small_cold, small_warm)
    assert large_warm < large_cold  # the saved version's body came from the cache
    assert "Contact 99" in large and "Process 199" in large and "Threat 199" in large
    assert "Carol Coordinator" in large and "Person 0150" not in large
    assert "0 of 304 (0%) acknowledged version 2" in large  # owner, reviewer, carol, dan and the 300
    assert "Who may review this revision: Reviewer (reviewer)." in large

    # Unsaved changes: the working copy is rendered afresh (never cached), for the same cost either way.
    Contact.objects.create(plan=people_plan, name="Zed Unsaved")
    unsaved_cold, unsaved_warm, page = cost(client, url)
    assert unsaved_cold == unsaved_warm and "Zed Unsaved" in page and "Unsaved changes since version" in page


def test_plan_page_size_does_not_grow_with_the_organisation(client, org, owner, people_plan):
    client.force_login(owner)
    url = people_plan.get_absolute_url()
    add_people(org, 20, group="BCP Reviewer")  # more reviewers than the submit form suggests
    add_people(org, 280, start=20)
    _cold, _warm, at_300 = cost(client, url)
    add_people(org, 300, start=300)
    _cold, _warm, at_600 = cost(client, url)
    assert abs(len(at_600) - len(at_300)) <= 10  # only the coverage numbers differ
    assert "Person 0299" not in at_600 and "Person 0599" not in at_600
    assert "and others (type a name to search)" in at_600  # the reviewer picker searches


def test_people_are_named_only_for_what_the_plan_shows(client, org, owner, people_plan, outsider):
    """One query for exactly the people referred to; an id of another organisation stays unnamed."""
    add_people(org, 50)
    people_plan.draft_content_json["overview"]["coordinator"] = outsider.pk
    people_plan.save()
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(people_plan.get_absolute_url()).content.decode()
    assert f"User #{outsider.pk}" in page and outsider.get_full_name() not in page
    assert "Dan Deputy" in page
    # The names: one query for exactly the ids the plan refers to.
    deputy = get_user_model().objects.get(username="dan")
    sqls = [q["sql"].replace('"', "").replace("`", "") for q in queries]  # SQLite or MariaDB quoting
    named = [re.search(r"auth_user\.id IN \(([\d, ]+)\)", sql) for sql in sqls
             if sql.startswith("SELECT auth_user.id, auth_user.username, auth_user.first_name")]
    assert [{int(i) for i in m[1].split(", ")} for m in named if m and "NOT" not in m.string] == [
        {outsider.pk, deputy.pk}
    ]


def test_version_page_costs_the_same_for_a_small_or_large_plan_and_is_cached(client, org, owner, people_plan):
    client.force_login(owner)
    url = reverse("plans:version_detail", args=[people_plan.pk, 3])
    small_cold, small_warm, small = cost(client, url)
    assert "Carol Coordinator" in small and "Keep going" in small

    add_people(org, 300)
    make_large(people_plan, owner)
    url_large = reverse("plans:version_detail", args=[people_plan.pk, 4])
    large_cold, large_warm, large = cost(client, url_large)
    assert (large_cold, large_warm) == (small_cold, small_warm) and large_warm < large_cold
    assert "Contact 99" in large and "Threat 199" in large and "Person 0150" not in large
    # A version shows what it saved, whatever happens to the working copy since.
    Contact.objects.create(plan=people_plan, name="Later contact")
    assert "Later contact" not in client.get(url_large).content.decode()
    assert "Later contact" in client.get(people_plan.get_absolute_url()).content.decode()


def test_version_compare_costs_the_same_for_a_small_or_large_plan(client, org, owner, people_plan):
    client.force_login(owner)
    compare = reverse("plans:version_compare", args=[people_plan.pk])
    small_cold, small_warm, small = cost(client, f"{compare}?old=1&new=2")
    assert "Carol Coordinator" in small  # the user field as a name, not an id

    add_people(org, 300)
    make_large(people_plan, owner)
    large_cold, large_warm, large = cost(client, f"{compare}?old=3&new=4")
    assert (large_cold, large_warm) == (small_cold, small_warm) and large_warm < large_cold
    assert "Process 199" in large and "Threat 199" in large

    # The working copy is compared afresh every time (never cached).
    Contact.objects.create(plan=people_plan, name="Fresh contact")
    cold, warm, page = cost(client, f"{compare}?old=4&new=working")
    assert cold == warm and "Fresh contact" in page
