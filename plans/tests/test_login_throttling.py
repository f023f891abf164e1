"""Sign-in throttling (django-axes): a username is locked from one address, audited, unlockable."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse

from bcp_site.errors import ServiceError
from bcp_site.security import client_ip
from bcp_site.testing import PASSWORD, make_user
from plans.models import Audit
from plans.people import person_unlock

pytestmark = pytest.mark.django_db

SITE_LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
PEOPLE = reverse("admin:auth_user_changelist")
IP1, IP2 = "10.0.0.1", "10.0.0.2"


def sign_in(client, username, password, *, ip=IP1, url=SITE_LOGIN):
    data = {"username": username, "password": password}
    if url == ADMIN_LOGIN:
        data["next"] = reverse("admin:index")
    return client.post(url, data, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def hammer(username, *, ip=IP1, url=SITE_LOGIN, times=25):
    client = Client()
    for _ in range(times):
        sign_in(client, username, "wrong password", ip=ip, url=url)


def locked_out(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-ins" in response.content


def age_failures(minutes):
    """Move the recorded failures into the past, as if `minutes` had gone by since the last one."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


@pytest.fixture
def superuser(db):
    return make_user(None, username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def other_admin(other_org):
    return make_user(other_org, username="otheradmin", groups=["BCP Admin"], is_staff=True)


def test_25_wrong_passwords_lock_the_site_login(owner):
    client = Client()
    responses = [sign_in(client, "owner", "wrong password") for _ in range(25)]
    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form again, with its error
    assert all(locked_out(r) for r in responses[4:])  # the limit is 5

    response = sign_in(client, "owner", PASSWORD)
    assert locked_out(response)
    assert not signed_in(client)
    text = response.content.decode()
    assert "try again in 15 minutes or ask your BCP administrator to unlock it" in text
    assert response["Retry-After"] == str(15 * 60)


def test_25_wrong_passwords_lock_the_admin_login(bcp_admin):
    hammer("bcpadmin", url=ADMIN_LOGIN)
    client = Client()
    response = sign_in(client, "bcpadmin", PASSWORD, url=ADMIN_LOGIN)
    assert locked_out(response)
    assert not signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302  # still to the login page


def test_failures_count_across_the_site_and_the_admin_login(bcp_admin):
    hammer("bcpadmin", url=ADMIN_LOGIN, times=5)
    assert locked_out(sign_in(Client(), "bcpadmin", PASSWORD, url=SITE_LOGIN))


def test_username_case_does_not_give_more_attempts(owner):
    for username in ["Owner", "OWNER", "owner", "oWner", "owNer"]:
        sign_in(Client(), username, "wrong password")
    assert locked_out(sign_in(Client(), "owner", PASSWORD))


def test_fewer_failures_than_the_limit_then_success_start_counting_again(owner):
    hammer("owner", times=4)
    client = Client()
    assert sign_in(client, "owner", PASSWORD).status_code == 302
    hammer("owner", times=4)
    assert sign_in(Client(), "owner", PASSWORD).status_code == 302


def test_the_right_password_works_again_after_the_cool_off(owner):
    hammer("owner")
    age_failures(14)
    assert locked_out(sign_in(Client(), "owner", PASSWORD))  # this attempt starts the wait again
    age_failures(16)
    client = Client()
    response = sign_in(client, "owner", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home:home")
    assert signed_in(client)


def test_cool_off_and_limit_come_from_settings(owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    hammer("owner", times=2)
    response = sign_in(Client(), "owner", PASSWORD)
    assert locked_out(response)
    assert "try again in 3 minutes" in response.content.decode()


def test_a_lockout_is_for_one_username_from_one_address(owner, member):
    hammer("owner", ip=IP1)
    assert locked_out(sign_in(Client(), "owner", PASSWORD, ip=IP1))

    elsewhere = Client()
    assert sign_in(elsewhere, "owner", PASSWORD, ip=IP2).status_code == 302  # X from another address
    assert signed_in(elsewhere)
    colleague = Client()
    assert sign_in(colleague, "member", PASSWORD, ip=IP1).status_code == 302  # Y from the same address
    assert signed_in(colleague)


def test_force_login_still_works(owner):
    hammer("owner")
    client = Client()
    client.force_login(owner)
    assert client.get(reverse("plans:plan_list")).status_code == 200


def test_the_lockout_is_audited_once_in_the_organisation(owner, org, other_org, bcp_admin):
    hammer("owner")
    rows = list(Audit.objects.filter(action="login_locked_out"))
    assert len(rows) == 1  # axes signals on every refused attempt; one row per lockout
    row = rows[0]
    assert (row.org_id, row.plan_id, row.actor_user_id) == (org.pk, None, None)
    assert row.details_json == {"username": "owner", "ip": IP1}
    assert not Audit.objects.filter(org=other_org).exists()

    admin = Client()
    admin.force_login(bcp_admin)
    page = admin.get(reverse("changes:org_audit"))
    assert page.status_code == 200
    assert "login_locked_out" in page.content.decode()


def test_a_lockout_from_another_address_is_audited_too(owner):
    hammer("owner", ip=IP1)
    hammer("owner", ip=IP2)
    assert sorted(a.details_json["ip"] for a in Audit.objects.filter(action="login_locked_out")) == [IP1, IP2]


def test_a_lockout_that_lasts_past_the_cool_off_is_audited_again(owner):
    hammer("owner", times=5)
    Audit.objects.update(at_utc=F("at_utc") - timedelta(minutes=16))
    hammer("owner", times=1)  # still locked (the attempts are recent); the last row is old
    assert Audit.objects.filter(action="login_locked_out").count() == 2


def test_unknown_usernames_are_locked_but_belong_to_no_organisation(db, caplog):
    with caplog.at_level("WARNING", logger="plans.people"):
        hammer("nobody-here")
    assert locked_out(sign_in(Client(), "nobody-here", "anything"))
    assert not Audit.objects.filter(action="login_locked_out").exists()
    assert "Sign-in locked out: username 'nobody-here' from 10.0.0.1" in caplog.text


def test_a_bcp_admin_unlocks_a_person_of_their_organisation(owner, bcp_admin, org):
    hammer("owner", ip=IP1)
    hammer("owner", ip=IP2)
    admin = Client()
    admin.force_login(bcp_admin)
    response = admin.post(PEOPLE, {"action": "unlock_sign_in", "_selected_action": [owner.pk]}, follow=True)
    assert "1 person unlocked." in [str(m) for m in response.context["messages"]]

    client = Client()
    assert sign_in(client, "owner", PASSWORD, ip=IP1).status_code == 302
    assert signed_in(client)
    row = Audit.objects.get(action="login_unlocked")
    assert (row.org_id, row.actor_user_id) == (org.pk, bcp_admin.pk)
    assert row.details_json == {"person_id": owner.pk, "username": "owner", "cleared": 2}


def test_unlocking_someone_not_locked_changes_nothing(owner, bcp_admin):
    admin = Client()
    admin.force_login(bcp_admin)
    response = admin.post(PEOPLE, {"action": "unlock_sign_in", "_selected_action": [owner.pk]}, follow=True)
    assert "0 people unlocked. 1 had no failed sign-ins." in [str(m) for m in response.context["messages"]]
    assert not Audit.objects.filter(action="login_unlocked").exists()


def test_a_bcp_admin_of_another_organisation_cannot_unlock(owner, other_admin):
    hammer("owner")
    admin = Client()
    admin.force_login(other_admin)
    response = admin.post(PEOPLE, {"action": "unlock_sign_in", "_selected_action": [owner.pk]}, follow=True)
    assert any("belong to another organisation" in str(m) for m in response.context["messages"])
    assert admin.get(reverse("admin:auth_user_change", args=[owner.pk])).status_code == 404
    with pytest.raises(ServiceError) as refused:
        person_unlock(person=owner, actor=other_admin)
    assert refused.value.code == "other_organisation"

    assert locked_out(sign_in(Client(), "owner", PASSWORD))
    assert not Audit.objects.filter(action="login_unlocked").exists()


def test_people_without_the_change_permission_cannot_unlock(owner, reviewer):
    hammer("owner")
    with pytest.raises(ServiceError):
        person_unlock(person=owner, actor=reviewer)
    assert locked_out(sign_in(Client(), "owner", PASSWORD))


def test_axes_admin_is_for_superusers_only(owner, bcp_admin, superuser):
    hammer("owner")
    url = reverse("admin:axes_accessattempt_changelist")
    admin = Client()
    admin.force_login(bcp_admin)
    assert admin.get(url).status_code == 403
    assert url not in admin.get(reverse("admin:index")).content.decode()
    assert admin.get(reverse("admin:app_list", args=["axes"])).status_code == 404

    root = Client()
    root.force_login(superuser)
    page = root.get(url)
    assert page.status_code == 200
    assert "owner" in page.content.decode()


def test_client_address_comes_from_the_proxy_header_only_when_configured(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7")
    settings.BCP_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "192.0.2.10"  # the header is the client's to write: ignored
    settings.BCP_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.7"  # what our proxy appended; the rest is spoofable
    settings.BCP_TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.9"
    settings.BCP_TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "192.0.2.10"  # fewer hops than proxies: not through the proxies
    garbage = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="not-an-address")
    settings.BCP_TRUSTED_PROXY_COUNT = 1
    assert client_ip(garbage) == "192.0.2.10"


def test_behind_a_proxy_each_client_is_locked_separately(owner, settings):
    settings.BCP_TRUSTED_PROXY_COUNT = 1
    client = Client()
    for _ in range(5):
        client.post(SITE_LOGIN, {"username": "owner", "password": "wrong"}, REMOTE_ADDR="10.9.9.9",
                    HTTP_X_FORWARDED_FOR="203.0.113.9")
    locked = client.post(SITE_LOGIN, {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9",
                         HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert locked_out(locked)
    other = Client().post(SITE_LOGIN, {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9",
                          HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert other.status_code == 302
