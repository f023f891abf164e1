"""People in the admin: a BCP Admin manages their own organisation's people, and nobody else's."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcp_site.errors import ServiceError
from bcp_site.testing import make_plan, make_user
from plans.models import Audit, Membership
from plans.people import person_create, person_move, person_update

pytestmark = pytest.mark.django_db

User = get_user_model()
PEOPLE = reverse("admin:auth_user_changelist")
ADD = reverse("admin:auth_user_add")
AUTOCOMPLETE = "/admin/autocomplete/?app_label=plans&model_name=membership&field_name=user&term="


def change_url(person):
    return reverse("admin:auth_user_change", args=[person.pk])


def password_url(person):
    return reverse("admin:auth_user_password_change", args=[person.pk])


def history_url(person):
    return reverse("admin:auth_user_history", args=[person.pk])


def group(name):
    return Group.objects.get(name=name)


def listed(response) -> set[str]:
    return {p.username for p in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def change_data(person, **overrides):
    """The change form as a BCP Admin posts it, from the person's current values."""
    data = {
        "first_name": person.first_name, "last_name": person.last_name, "email": person.email,
        "is_active": "on" if person.is_active else "", "is_staff": "on" if person.is_staff else "",
        "groups": [g.pk for g in person.groups.all()], "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def audit_of(action):
    return list(Audit.objects.filter(action=action).order_by("id"))


@pytest.fixture
def superuser(db):
    return make_user(None, username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def foreign_group(db):
    """A group that is not one of the product's: a BCP Admin may not hand it out."""
    extra = Group.objects.create(name="Site operators")
    extra.permissions.add(Permission.objects.get(codename="delete_user"))
    return extra


# --- the permission groups -------------------------------------------------------------------


def test_only_bcp_admins_get_user_permissions():
    codes = {
        name: set(group(name).permissions.filter(content_type__app_label="auth").values_list("codename", flat=True))
        for name in ("BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin")
    }
    assert codes == {
        "BCP Viewer": set(), "BCP Editor": set(), "BCP Reviewer": set(),
        "BCP Admin": {"view_user", "add_user", "change_user"},
    }


# --- a BCP Admin and their own organisation -----------------------------------------------------


def test_bcp_admin_lists_and_searches_only_their_organisation(client, bcp_admin, member, outsider):
    client.force_login(bcp_admin)
    response = client.get(PEOPLE)
    assert response.status_code == 200
    assert listed(response) == {"bcpadmin", "member"}
    assert listed(client.get(PEOPLE, {"q": "outsider"})) == set()
    assert listed(client.get(PEOPLE, {"q": "example.org"})) == {"bcpadmin", "member"}
    row = response.content.decode()
    assert "Acme Ltd" in row and "BCP Viewer" in row
    assert "Other Corp" not in row


def test_people_list_runs_the_same_queries_for_more_people(client, org, bcp_admin):
    client.force_login(bcp_admin)
    client.get(PEOPLE)  # warm the session and content type caches
    with CaptureQueriesContext(connection) as few:
        client.get(PEOPLE)
    for _ in range(6):
        make_user(org, groups=["BCP Viewer", "BCP Editor"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(PEOPLE)
    assert len(listed(response)) == 7
    assert len(many) == len(few)


def test_bcp_admin_creates_a_person_in_their_organisation(client, org, bcp_admin):
    client.force_login(bcp_admin)
    form = client.get(ADD)
    assert form.status_code == 200
    assert "The new person joins <strong>Acme Ltd</strong>." in form.content.decode()
    response = client.post(ADD, {
        "username": "newbie", "first_name": "New", "last_name": "Person", "email": "newbie@example.org",
        "groups": [group("BCP Editor").pk], "usable_password": "false", "_save": "Save",
    })
    person = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert response["Location"] == change_url(person)
    assert person.membership.organisation == org
    assert [g.name for g in person.groups.all()] == ["BCP Editor"]
    assert not person.has_usable_password()
    assert not person.is_staff and not person.is_superuser
    [row] = audit_of("person_created")
    assert (row.org, row.plan, row.actor_user) == (org, None, bcp_admin)
    assert row.details_json["username"] == "newbie"
    assert row.details_json["groups"] == ["BCP Editor"]
    assert row.details_json["password"] == "none"


def test_bcp_admin_creates_a_person_with_a_password(client, bcp_admin):
    client.force_login(bcp_admin)
    client.post(ADD, {
        "username": "withpass", "email": "w@example.org", "usable_password": "true",
        "password1": "a-long-and-unusual-passphrase", "password2": "a-long-and-unusual-passphrase",
        "is_staff": "on", "groups": [group("BCP Reviewer").pk], "_save": "Save",
    })
    person = User.objects.get(username="withpass")
    assert person.check_password("a-long-and-unusual-passphrase")
    assert person.is_staff


def test_bcp_admin_cannot_create_a_superuser_or_give_a_foreign_group(client, bcp_admin, foreign_group):
    client.force_login(bcp_admin)
    response = client.post(ADD, {
        "username": "sneaky", "usable_password": "false", "is_superuser": "on",
        "user_permissions": [Permission.objects.get(codename="delete_user").pk],
        "groups": [foreign_group.pk], "_save": "Save",
    })
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="sneaky").exists()
    offered = response.context["adminform"].form.fields["groups"].queryset
    assert sorted(offered.values_list("name", flat=True)) == ["BCP Admin", "BCP Auditor", "BCP Editor", "BCP Reviewer",
                                                                  "BCP Viewer"]

    client.post(ADD, {"username": "sneaky", "usable_password": "false", "is_superuser": "on",
                      "user_permissions": [Permission.objects.get(codename="delete_user").pk], "_save": "Save"})
    person = User.objects.get(username="sneaky")
    assert not person.is_superuser
    assert not person.user_permissions.exists()


def test_bcp_admin_changes_a_person_and_the_change_is_audited(client, org, bcp_admin, member):
    client.force_login(bcp_admin)
    assert client.get(change_url(member)).status_code == 200
    assert client.get(history_url(member)).status_code == 200
    response = client.post(change_url(member), change_data(
        member, email="new@example.org", groups=[group("BCP Editor").pk], is_staff="on",
    ))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == "new@example.org" and member.is_staff
    assert [g.name for g in member.groups.all()] == ["BCP Editor"]
    [row] = audit_of("person_changed")
    assert (row.org, row.plan, row.actor_user) == (org, None, bcp_admin)
    assert row.details_json["changes"] == {
        "email": {"from": "member@example.org", "to": "new@example.org"},
        "is_staff": {"from": False, "to": True},
        "groups": {"from": ["BCP Viewer"], "to": ["BCP Editor"]},
    }


def test_posting_superuser_or_permissions_on_the_change_form_changes_nothing(client, bcp_admin, member):
    client.force_login(bcp_admin)
    client.post(change_url(member), change_data(
        member, is_superuser="on", user_permissions=[Permission.objects.get(codename="delete_user").pk],
        username="renamed",
    ))
    member.refresh_from_db()
    assert member.username == "member"
    assert not member.is_superuser
    assert not member.user_permissions.exists()
    assert audit_of("person_changed") == []  # nothing changed, nothing to record


def test_bcp_admin_cannot_give_a_foreign_group_and_keeps_one_a_superuser_gave(client, bcp_admin, member,
                                                                            foreign_group):
    client.force_login(bcp_admin)
    response = client.post(change_url(member), change_data(member, groups=[foreign_group.pk]))
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert not member.groups.filter(pk=foreign_group.pk).exists()

    member.groups.add(foreign_group)  # given by a superuser
    client.post(change_url(member), change_data(member, groups=[group("BCP Editor").pk]))
    assert sorted(member.groups.values_list("name", flat=True)) == ["BCP Editor", "Site operators"]


def test_bcp_admin_deactivates_people_with_the_action(client, org, bcp_admin, member, owner):
    client.force_login(bcp_admin)
    owner.is_active = False
    owner.save()
    response = client.post(
        PEOPLE, {"action": "deactivate_people", "_selected_action": [member.pk, owner.pk]}, follow=True,
    )
    assert messages_of(response) == ["1 person deactivated. 1 was already inactive."]
    member.refresh_from_db()
    assert not member.is_active
    assert User.objects.filter(pk=member.pk).exists()  # the record stays
    [row] = audit_of("person_deactivated")
    assert (row.org, row.actor_user, row.details_json["username"]) == (org, bcp_admin, "member")


def test_bcp_admin_cannot_deactivate_themselves(client, bcp_admin, member):
    client.force_login(bcp_admin)
    response = client.post(
        PEOPLE, {"action": "deactivate_people", "_selected_action": [member.pk, bcp_admin.pk]}, follow=True,
    )
    assert messages_of(response) == ["Nothing was done. You cannot deactivate yourself: ask another admin."]
    member.refresh_from_db()
    assert member.is_active  # all or nothing
    response = client.post(change_url(bcp_admin), change_data(bcp_admin, is_active=""))
    assert response.status_code == 200
    assert "You cannot deactivate yourself" in str(response.context["adminform"].form.non_field_errors())
    bcp_admin.refresh_from_db()
    assert bcp_admin.is_active


def test_bcp_admin_sets_a_password_of_their_organisation(client, org, bcp_admin, member):
    client.force_login(bcp_admin)
    assert client.get(password_url(member)).status_code == 200
    response = client.post(password_url(member), {
        "usable_password": "true", "password1": "another-long-passphrase", "password2": "another-long-passphrase",
    })
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("another-long-passphrase")
    [row] = audit_of("person_password_set")
    assert (row.org, row.actor_user, row.details_json) == (
        org, bcp_admin, {"person_id": member.pk, "username": "member", "password": "set"},
    )


def test_nobody_deletes_people_in_the_admin(client, bcp_admin, superuser, member):
    delete = reverse("admin:auth_user_delete", args=[member.pk])
    for user in (bcp_admin, superuser):
        client.force_login(user)
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert "delete_selected" not in client.get(PEOPLE).content.decode()
    assert User.objects.filter(pk=member.pk).exists()


# --- the wall: other organisations and superusers -------------------------------------------------


def test_another_organisations_people_are_404_everywhere(client, bcp_admin, outsider):
    client.force_login(bcp_admin)
    for url in (change_url(outsider), password_url(outsider), history_url(outsider)):
        assert client.get(url).status_code == 404, url
    assert client.post(change_url(outsider), change_data(outsider, email="x@example.org")).status_code == 404
    response = client.post(password_url(outsider), {
        "usable_password": "true", "password1": "hijacked-passphrase-1", "password2": "hijacked-passphrase-1",
    })
    assert response.status_code == 404
    response = client.post(PEOPLE, {"action": "deactivate_people", "_selected_action": [outsider.pk]}, follow=True)
    assert messages_of(response) == [
        "Nothing was done: some of the selected items do not exist or belong to another organisation."
    ]
    outsider.refresh_from_db()
    assert outsider.email == "outsider@example.org"
    assert outsider.is_active
    assert not outsider.check_password("hijacked-passphrase-1")


def test_user_autocomplete_offers_only_their_organisation(client, bcp_admin, member, outsider):
    client.force_login(bcp_admin)
    response = client.get(AUTOCOMPLETE)
    assert response.status_code == 200
    assert {r["text"] for r in response.json()["results"]} == {"bcpadmin", "member"}
    response = client.get(AUTOCOMPLETE + "outsider")
    assert response.json()["results"] == []


def test_a_superuser_member_is_shown_but_not_changed(client, org, bcp_admin):
    boss = make_user(org, username="boss", is_staff=True, is_superuser=True)
    client.force_login(bcp_admin)
    assert "boss" in listed(client.get(PEOPLE))
    assert client.post(change_url(boss), change_data(boss, email="x@example.org")).status_code == 403
    assert client.get(password_url(boss)).status_code == 403
    response = client.post(PEOPLE, {"action": "deactivate_people", "_selected_action": [boss.pk]}, follow=True)
    assert messages_of(response) == ["Nothing was done. boss is a superuser: only a superuser changes them."]
    boss.refresh_from_db()
    assert boss.is_active and boss.email == "boss@example.org"


def test_a_staff_reviewer_cannot_see_add_or_change_people(client, reviewer, member):
    client.force_login(reviewer)
    assert client.get(PEOPLE).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"username": "x", "usable_password": "false"}).status_code == 403
    assert client.post(change_url(member), change_data(member, email="x@example.org")).status_code == 403
    assert client.get(password_url(member)).status_code == 403
    assert client.get(AUTOCOMPLETE).status_code == 403
    assert not User.objects.filter(username="x").exists()


# --- superusers ------------------------------------------------------------------------------


def test_superuser_sees_everyone_and_the_superuser_fields(client, superuser, bcp_admin, outsider):
    client.force_login(superuser)
    assert {"root", "bcpadmin", "outsider"} <= listed(client.get(PEOPLE))
    form = client.get(change_url(outsider)).context["adminform"].form
    assert {"is_superuser", "user_permissions", "organisation"} <= set(form.fields)


def test_superuser_creates_a_person_in_the_organisation_they_choose(client, superuser, other_org):
    client.force_login(superuser)
    client.post(ADD, {
        "username": "hired", "organisation": other_org.pk, "usable_password": "false", "_save": "Save",
    })
    person = User.objects.get(username="hired")
    assert person.membership.organisation == other_org
    [row] = audit_of("person_created")
    assert (row.org, row.actor_user) == (other_org, superuser)


def test_superuser_moves_a_person_with_audit_in_both_organisations(client, org, other_org, superuser, member):
    client.force_login(superuser)
    response = client.post(change_url(member), change_data(member, organisation=other_org.pk))
    assert response.status_code == 302
    assert Membership.objects.get(user=member).organisation == other_org
    rows = audit_of("person_moved")
    assert {row.org for row in rows} == {org, other_org}
    assert all(row.details_json["from"] == "Acme Ltd" and row.details_json["to"] == "Other Corp" for row in rows)


def test_moving_a_plan_owner_is_refused_until_their_plans_have_another_owner(client, superuser, other_org,
                                                                            plan, owner):
    client.force_login(superuser)
    response = client.post(change_url(owner), change_data(owner, organisation=other_org.pk, email="o@example.org"))
    assert response.status_code == 200
    assert "give them another owner" in str(response.context["adminform"].form.non_field_errors())
    owner.refresh_from_db()
    assert owner.membership.organisation == plan.org
    assert owner.email == "owner@example.org"  # the whole save was refused


# --- the services' own rules ---------------------------------------------------------------------


def test_services_refuse_other_organisations_and_non_superusers(org, other_org, bcp_admin, outsider, template):
    with pytest.raises(ServiceError, match="own organisation"):
        person_create(organisation=other_org, actor=bcp_admin, username="x", email="", first_name="",
                      last_name="", groups=[])
    with pytest.raises(ServiceError, match="own organisation"):
        person_update(person=outsider, actor=bcp_admin, email="x@example.org", first_name="", last_name="",
                      groups=[], is_staff=False, is_active=True)
    with pytest.raises(ServiceError, match="Only a superuser"):
        person_move(person=bcp_admin, organisation=other_org, actor=bcp_admin)
    member = make_user(org, groups=["BCP Viewer"])
    with pytest.raises(ServiceError, match="Only a superuser makes"):
        person_update(person=member, actor=bcp_admin, email=member.email, first_name="", last_name="",
                      groups=[], is_staff=False, is_active=True, is_superuser=True)
    editor = make_user(org, groups=["BCP Editor"])
    make_plan(org, editor, template=template)
    with pytest.raises(ServiceError, match="Your role"):
        person_create(organisation=org, actor=editor, username="y", email="", first_name="", last_name="",
                      groups=[])
    assert not User.objects.filter(username__in=["x", "y"]).exists()
    assert Audit.objects.filter(action__startswith="person_").count() == 0
