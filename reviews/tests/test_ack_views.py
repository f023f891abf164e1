"""Acknowledgement pages: the email link (no login), the plan-page button, distribution, coverage, admin."""

import csv
import io
import time

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcp_site.testing import make_user
from plans.models import Audit, Notification
from reviews import ack_links, ack_records, ack_views, distribution
from reviews.ack_coverage import ack_coverage
from reviews.models import Ack, PlanDistribution
from reviews.panels import plan_ack_panel
from reviews.services import plan_archive

from .ack_support import approve, deliver_outbox, links_in, new_revision, path_of, skip_exports

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)
    cache.clear()  # cached page fragments; the per-IP counter is a database row (rolled back per test)
    yield
    cache.clear()


@pytest.fixture
def approved(plan, owner, reviewer, member, django_capture_on_commit_callbacks):
    return approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def nobody(org):
    """A member of the organisation without any BCP group (no plans.view_plan)."""
    return make_user(org, username="nobody")


def link_for(user, plan, version=1):
    return reverse("acks:link", args=[ack_links.ack_token_make(user=user, plan=plan, version_number=version)])


def row_counts():
    return (Ack.objects.count(), Audit.objects.count(), Notification.objects.count())


# --- the email link ----------------------------------------------------------------------


def test_get_shows_the_version_and_records_nothing(client, approved, member):
    url = link_for(member, approved)
    before = row_counts()
    for _ in range(3):  # a mail scanner may open the link several times
        response = client.get(url)
        assert response.status_code == 200
    assert row_counts() == before
    page = response.content.decode()
    assert "Head office plan" in page and "Version" in page
    assert "I have read and understood this plan" in page
    assert '<meta name="referrer" content="same-origin">' in page
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert approved.get_absolute_url() in page  # the full plan (asks for a login)


def test_page_summarises_the_approved_version(client, approved, owner, reviewer, member,
                                              django_capture_on_commit_callbacks):
    from django.db import transaction

    from plans.models import Contact, Plan, Process
    from plans.services import plan_prepare_edit, version_create

    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=approved.pk)
        plan_prepare_edit(plan=locked, actor=owner)
        locked.draft_content_json = {**locked.draft_content_json,
                                     "overview": {"purpose": "Keep the lights on", "scope": "HQ"}}
        locked.save()
    Contact.objects.create(plan=approved, name="Carol Crisis", role="Incident lead", phone="0123")
    Process.objects.create(plan=approved, name="Payroll", rto_minutes=270, mtpd_minutes=2880)
    version_create(plan=approved, actor=owner, note="Purpose, contacts and processes")
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    page = client.get(link_for(member, approved, 2)).content.decode()
    assert "Keep the lights on" in page
    assert "Carol Crisis" in page and "Incident lead" in page
    assert "Payroll" in page and "4 h 30 min" in page and "2 days" in page


def test_post_records_once_then_says_already_acknowledged(client, approved, member):
    url = link_for(member, approved)
    client.get(url)  # sets the CSRF cookie, as a browser would
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "your acknowledgement of version 1 is recorded" in response.content.decode()
    ack = Ack.objects.get(plan=approved, user=member)
    assert ack.ack_version_number == 1
    assert Audit.objects.get(plan=approved, action="ack_recorded").details_json["via"] == "link"
    again = client.post(url, follow=True).content.decode()
    assert "already acknowledged on" in again
    assert Ack.objects.filter(plan=approved, user=member).count() == 1
    assert "You acknowledged version 1 on" in client.get(url).content.decode()


def test_link_needs_no_login_and_ignores_whoever_is_logged_in(client, approved, member, reviewer):
    client.force_login(reviewer)
    client.post(link_for(member, approved))
    assert list(Ack.objects.values_list("user__username", flat=True)) == ["member"]


def test_post_needs_csrf(approved, member):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(link_for(member, approved))
    assert response.status_code == 403
    assert not Ack.objects.exists()


def test_tampered_link_is_a_400_page(client, approved, member):
    url = link_for(member, approved)
    bad = url[:-3] + ("x" if url[-3] != "x" else "y") + url[-2:]
    for method in (client.get, client.post):
        response = method(bad)
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert client.post(bad + "new-link/").status_code == 400
    assert not Ack.objects.exists()


def test_expired_link_offers_a_new_one_without_revealing_who_is_listed(
    client, approved, member, monkeypatch, smtp_server
):
    url = link_for(member, approved)
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 40 * 86400)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This link has expired" in page and 'name="email"' in page
    confirm = client.post(url)  # confirming with an expired link records nothing
    assert "This link has expired" in confirm.content.decode() and not Ack.objects.exists()
    answers = []
    for address in ("nobody-here@example.org", "MEMBER@example.org"):
        answers.append(client.post(url + "new-link/", {"email": address}, follow=True).content.decode())
    assert all("If the address is on the distribution list, a new link is on its way" in a for a in answers)
    deliver_outbox()
    assert len(smtp_server.messages) == 1
    invalid = client.post(url + "new-link/", {"email": "not an address"})
    assert invalid.status_code == 400 and "Enter a valid email address" in invalid.content.decode()
    [message] = smtp_server.to("member@example.org")
    monkeypatch.setattr(time, "time", lambda: real)  # the new link is fresh: check it works today
    [fresh] = links_in(smtp_server.text(message))
    assert "I have read and understood this plan" in client.get(path_of(fresh)).content.decode()
    assert Notification.objects.get(kind=Notification.Kind.ACK_LINK_RESEND).recipient_user == member


def test_expired_link_mails_only_people_on_the_distribution(client, approved, member, reviewer, monkeypatch,
                                                            smtp_server):
    PlanDistribution.objects.create(plan=approved, user=reviewer)
    url = link_for(member, approved)
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 40 * 86400)
    client.post(url + "new-link/", {"email": "member@example.org"})  # no longer on the list
    deliver_outbox()
    assert smtp_server.messages == []
    client.post(url + "new-link/", {"email": "reviewer@example.org"})  # listed: gets their own link
    deliver_outbox()
    assert [m.envelope_rcpt_tos for m in smtp_server.messages] == [["reviewer@example.org"]]


def test_superseded_link_offers_the_new_version(client, approved, owner, reviewer, member, smtp_server,
                                                django_capture_on_commit_callbacks):
    url = link_for(member, approved)
    new_revision(approved, actor=owner)
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    smtp_server.messages.clear()
    page = client.get(url).content.decode()
    assert "A newer version exists" in page and "Email me a link to version 2" in page
    assert "I have read and understood this plan" not in page
    response = client.post(url, follow=True)  # confirming the old version records nothing
    assert not Ack.objects.exists() and response.status_code == 200
    client.post(url + "new-link/")
    deliver_outbox()
    [message] = smtp_server.messages
    assert message.envelope_rcpt_tos == ["member@example.org"]
    [fresh] = links_in(smtp_server.text(message))
    client.post(path_of(fresh))
    assert Ack.objects.get(user=member).ack_version_number == 2


def test_archived_plan_and_deactivated_user_say_so(client, approved, member, bcp_admin):
    url = link_for(member, approved)
    plan_archive(plan=approved, actor=bcp_admin)
    assert "This plan is archived" in client.get(url).content.decode()
    client.post(url)
    member.is_active = False
    member.save()
    assert "This account is deactivated" in client.get(url).content.decode()
    client.post(url)
    assert not Ack.objects.exists()


def test_new_link_limits_per_person_in_the_database(client, approved, owner, reviewer, member, smtp_server,
                                                    django_capture_on_commit_callbacks):
    url = link_for(member, approved)
    new_revision(approved, actor=owner)
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    smtp_server.messages.clear()
    for _ in range(3):
        assert client.post(url + "new-link/").status_code == 302
    response = client.post(url + "new-link/")
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    deliver_outbox()
    assert len(smtp_server.to("member@example.org")) == 3
    assert Notification.objects.filter(kind=Notification.Kind.ACK_LINK_RESEND, recipient_user=member).count() == 3


def test_expired_form_per_person_limit_is_silent(client, approved, member, monkeypatch, smtp_server):
    url = link_for(member, approved)
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 40 * 86400)
    answers = {client.post(url + "new-link/", {"email": "member@example.org"}).status_code for _ in range(5)}
    assert answers == {302}  # the same answer as for an address that is not on the list
    deliver_outbox()
    assert len(smtp_server.to("member@example.org")) == 3


def test_new_link_limits_per_ip(client, approved, member, monkeypatch, smtp_server):
    url = link_for(member, approved)
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 40 * 86400)
    codes = [client.post(url + "new-link/", {"email": f"x{i}@example.org"}).status_code for i in range(11)]
    assert codes == [302] * 10 + [429]
    other_ip = client.post(url + "new-link/", {"email": "y@example.org"}, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 302


# --- the plan page button ----------------------------------------------------------------


def test_plan_ack_records_from_the_plan_page(client, approved, member):
    client.force_login(member)
    response = client.post(reverse("acks:plan_ack", args=[approved.pk]), {"version_number": 1}, follow=True)
    assert response.redirect_chain[-1][0] == approved.get_absolute_url()
    assert "your acknowledgement of version 1 is recorded" in response.content.decode()
    assert Audit.objects.get(action="ack_recorded").details_json["via"] == "page"
    again = client.post(reverse("acks:plan_ack", args=[approved.pk]), {"version_number": 1}, follow=True)
    assert "already acknowledged on" in again.content.decode()
    assert Ack.objects.count() == 1


def test_plan_ack_refuses_a_version_that_is_no_longer_approved(client, approved, owner, reviewer, member,
                                                                django_capture_on_commit_callbacks):
    new_revision(approved, actor=owner)
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    client.force_login(member)
    response = client.post(reverse("acks:plan_ack", args=[approved.pk]), {"version_number": 1}, follow=True)
    assert "Version 2 of this plan has been approved since" in response.content.decode()
    assert not Ack.objects.exists()


def test_plan_ack_access(client, approved, nobody, outsider):
    url = reverse("acks:plan_ack", args=[approved.pk])
    response = client.post(url, {"version_number": 1})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    assert client.post(url, {"version_number": 1}).status_code == 403
    client.force_login(outsider)
    assert client.post(url, {"version_number": 1}).status_code == 404
    assert client.get(url).status_code in (404, 405)
    assert not Ack.objects.exists()


def test_panel_shows_button_then_acknowledgement(client, approved, member):
    client.force_login(member)
    page = client.get(approved.get_absolute_url()).content.decode()
    assert "I have read and understood version 1" in page
    assert "0 of 3 (0%) acknowledged version 1" in page  # owner, reviewer, member
    client.post(reverse("acks:plan_ack", args=[approved.pk]), {"version_number": 1})
    page = client.get(approved.get_absolute_url()).content.decode()
    assert "You acknowledged v1 on" in page
    assert "1 of 3 (33%) acknowledged version 1" in page
    assert "Everyone in the organisation." in page


def _panel_queries(plan, user):
    """Queries of the panel as the plan page builds it (reviews.panels.plan_ack_panel), and its HTML."""
    request = RequestFactory().get("/")
    request.user = user
    with CaptureQueriesContext(connection) as ctx:
        panel = plan_ack_panel(plan, user)
        computed = len(ctx)
        html = Template("{% load ack_tags %}{% plan_ack_panel plan panel %}").render(
            Context({"plan": plan, "request": request, "panel": panel})
        )
        assert len(ctx) == computed, "the template tag ran a query"
    return len(ctx), html


def test_panel_runs_a_fixed_number_of_queries(approved, org, member):
    from django.contrib.auth import get_user_model

    everyone = _panel_queries(approved, get_user_model().objects.get(pk=member.pk))[0]
    PlanDistribution.objects.create(plan=approved, group=Group.objects.get(name="BCP Viewer"))
    PlanDistribution.objects.create(plan=approved, user=member)
    small, _ = _panel_queries(approved, get_user_model().objects.get(pk=member.pk))
    assert small == everyone + 1  # a distribution list is read person by person
    for i in range(15):
        person = make_user(org, username=f"staff{i}", groups=["BCP Viewer"])
        if i % 2:
            ack_records.ack_record(plan=approved, user=person, version_number=1, via="page")
    large, html = _panel_queries(approved, get_user_model().objects.get(pk=member.pk))
    assert large == small
    assert "7 of 16 (43%) acknowledged version 1" in html
    assert "Groups: BCP Viewer." in html


# --- distribution ------------------------------------------------------------------------


def test_distribution_edit(client, approved, owner, member, reviewer, smtp_server):
    url = reverse("acks:distribution_edit", args=[approved.pk])
    client.force_login(owner)
    page = client.get(url).content.decode()
    # Everyone, and a search field to name people: the page does not list the organisation.
    assert "Everyone in the organisation" in page and "data-person-search" in page
    assert "Member (member)" not in page
    response = client.post(url, {"audience": "chosen", "users": "member",
                                 "groups": [Group.objects.get(name="BCP Reviewer").pk]})
    assert response.status_code == 302
    assert set(distribution.distribution_users(approved)) == {member, reviewer}
    audit = Audit.objects.filter(plan=approved, action="distribution_changed").get()
    assert audit.details_json == {"everyone": False, "added_users": ["member"], "added_groups": ["BCP Reviewer"]}
    assert "People: Member." in client.get(approved.get_absolute_url()).content.decode()
    page = client.get(url).content.decode()
    assert "Member" in page and "BCP Reviewer" in page and page.count('name="remove"') == 2
    # Adding people adds to the list (someone already listed stays listed once).
    assert client.post(url, {"audience": "chosen", "users": "member\nOwner"}).status_code == 302
    assert set(distribution.distribution_users(approved)) == {owner, member, reviewer}
    assert PlanDistribution.objects.filter(plan=approved).count() == 3
    # Remove buttons take one row off the list.
    row = PlanDistribution.objects.get(plan=approved, user=owner)
    response = client.post(url, {"remove": row.pk}, follow=True)
    assert "Owner is no longer on the distribution list." in response.content.decode()
    assert set(distribution.distribution_users(approved)) == {member, reviewer}
    # Everyone clears the list, whatever is typed in the people field.
    client.post(url, {"audience": "everyone", "users": "nobody-of-that-name"})
    assert not PlanDistribution.objects.filter(plan=approved).exists()
    assert set(distribution.distribution_users(approved)) == {owner, member, reviewer}
    # "Chosen" with nobody chosen is refused with a message; nothing changes.
    response = client.post(url, {"audience": "chosen"})
    assert response.status_code == 400
    assert "Choose at least one person or group" in response.content.decode()
    assert not PlanDistribution.objects.filter(plan=approved).exists()
    # Someone typed who matches nobody is a form error next to the field.
    response = client.post(url, {"audience": "chosen", "users": "zzz-nobody"})
    assert response.status_code == 400 and "Nobody in your organisation matches" in response.content.decode()


def test_distribution_remove_refuses_rows_of_other_plans_and_bad_ids(client, approved, owner, member, org,
                                                                     template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template, title="Other plan")
    row = PlanDistribution.objects.create(plan=other, user=member)
    client.force_login(owner)
    url = reverse("acks:distribution_edit", args=[approved.pk])
    assert client.post(url, {"remove": row.pk}).status_code == 404
    assert client.post(url, {"remove": "x"}).status_code == 400
    assert PlanDistribution.objects.filter(pk=row.pk).exists()


def test_distribution_refuses_people_of_another_organisation(client, approved, owner, outsider):
    client.force_login(owner)
    response = client.post(reverse("acks:distribution_edit", args=[approved.pk]),
                           {"audience": "chosen", "users": f"{outsider.username}\n#{outsider.pk}"})
    assert response.status_code == 400
    assert f"Nobody in your organisation matches “{outsider.username}”" in response.content.decode()
    assert not PlanDistribution.objects.exists()


def test_distribution_edit_access(client, approved, member, outsider):
    url = reverse("acks:distribution_edit", args=[approved.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(member)
    assert client.get(url).status_code == 403
    assert client.post(url, {"audience": "everyone"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_distribution_users_rules(approved, org, owner, member, reviewer):
    """Group entries mean active members of the plan's org in that group; inactive people never count."""
    from bcp_site.testing import make_org

    stranger = make_user(make_org("Elsewhere"), username="stranger", groups=["BCP Viewer"])
    PlanDistribution.objects.create(plan=approved, group=Group.objects.get(name="BCP Viewer"))
    assert list(distribution.distribution_users(approved)) == [member]
    member.is_active = False
    member.save()
    assert list(distribution.distribution_users(approved)) == []
    assert stranger not in distribution.distribution_users(approved)


# --- coverage ----------------------------------------------------------------------------


def test_coverage_numbers(approved, owner, member, reviewer):
    ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    coverage = ack_coverage(approved)
    assert (coverage.version_number, coverage.total, coverage.acknowledged_count, coverage.outstanding_count,
            coverage.percent) == (1, 3, 1, 2, 33)
    assert [r.user for r in coverage.acknowledged] == [member]
    assert {r.user for r in coverage.outstanding} == {owner, reviewer}
    assert coverage.summary() == "1 of 3 (33%) acknowledged v1"


def test_coverage_page(client, approved, member, reviewer, monkeypatch):
    monkeypatch.setattr(ack_views, "COVERAGE_PAGE_SIZE", 2)
    ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    client.force_login(member)
    url = reverse("acks:coverage", args=[approved.pk])
    response = client.get(url)
    page = response.content.decode()
    assert "1 of 3 (33%) acknowledged version 1" in page and "Next ›" in page
    assert "member@example.org" in page and "owner@example.org" in page  # by username: member, owner
    assert "Acknowledged" in page and "Outstanding" in page
    page2 = client.get(url, {"after": response.context["page"].next_after}).content.decode()
    assert "reviewer@example.org" in page2 and "member@example.org" not in page2 and "Next ›" not in page2
    assert "‹ Previous" in page2
    only_done = client.get(url, {"show": "acknowledged"}).content.decode()
    assert "member@example.org" in only_done and "reviewer@example.org" not in only_done
    outstanding = client.get(url, {"show": "outstanding"}).content.decode()
    assert "2 outstanding" in outstanding and "member@example.org" not in outstanding


def test_coverage_page_access(client, approved, nobody, outsider):
    url = reverse("acks:coverage", args=[approved.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_coverage_csv(client, approved, member, org):
    tricky = make_user(org, username="tricky", first_name="=HYPERLINK(1)")
    ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    client.force_login(member)
    response = client.get(reverse("acks:coverage_csv", args=[approved.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"plan-{approved.pk}-v1-acknowledgements.csv" in response["Content-Disposition"]
    assert response.streaming  # written as the rows come from the database, not built first
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_user = {r["username"]: r for r in rows}
    assert set(by_user) == {"owner", "member", "reviewer", "tricky"}
    assert by_user["member"]["status"] == "acknowledged" and by_user["member"]["acknowledged_at_utc"].endswith("Z")
    assert by_user["owner"]["status"] == "outstanding" and by_user["owner"]["acknowledged_at_utc"] == ""
    assert {r["version"] for r in rows} == {"1"}
    assert by_user["tricky"]["name"].startswith("'=")  # no spreadsheet formulas
    assert tricky.pk


def test_coverage_csv_access(client, approved, nobody, outsider):
    url = reverse("acks:coverage_csv", args=[approved.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_coverage_before_any_approval(client, plan, member):
    assert ack_coverage(plan).summary() == "No approved version yet"
    client.force_login(member)
    assert "no approved version yet" in client.get(reverse("acks:coverage", args=[plan.pk])).content.decode()


# --- admin -------------------------------------------------------------------------------


def test_admin_coverage_view_and_plan_admin_link(client, approved, member, bcp_admin, outsider):
    ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    client.force_login(bcp_admin)
    url = reverse("admin:reviews_ack_coverage", args=[approved.pk])
    assert url == f"/admin/reviews/ack/coverage/{approved.pk}/"
    page = client.get(url).content.decode()
    assert "1 of 4 (25%) acknowledged v1" in page  # owner, member, reviewer, bcp_admin
    assert "Outstanding (3)" in page and "Acknowledged (1)" in page
    change = client.get(reverse("admin:plans_plan_change", args=[approved.pk])).content.decode()
    assert f'<a href="{url}">1 of 4 (25%) acknowledged v1</a>' in change
    client.force_login(outsider)  # staff of another organisation
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_coverage_shows_whether_each_persons_link_went_out(client, approved, owner, member, smtp_server):
    refused = Notification.objects.get(plan=approved, recipient_user=owner, kind="ack_link")
    deliver_outbox()
    Notification.objects.filter(pk=refused.pk).update(status="failed", last_error="mailbox unavailable")
    client.force_login(member)
    page = client.get(reverse("acks:coverage", args=[approved.pk])).content.decode()
    rows = {line.split("</td>")[1].rsplit(">", 1)[-1]: line for line in page.split("<tr><td>")[1:]}
    assert "link sent" in rows["member"]
    assert "failed: mailbox unavailable" in rows["owner"]
    body = b"".join(client.get(reverse("acks:coverage_csv", args=[approved.pk])).streaming_content).decode()
    links = {row["username"]: row["link"] for row in csv.DictReader(io.StringIO(body))}
    assert links["member"] == "link sent" and links["owner"] == "failed: mailbox unavailable"


def test_owner_reminds_everyone_outstanding_from_the_coverage_page_once_a_day(client, approved, owner, member):
    deliver_outbox()
    client.force_login(owner)
    page = client.get(reverse("acks:coverage", args=[approved.pk])).content.decode()
    assert "Remind everyone outstanding" in page
    remind = reverse("acks:coverage_remind", args=[approved.pk])
    response = client.post(remind, follow=True)
    assert "Reminder queued for" in response.content.decode()
    reminders = Notification.objects.filter(plan=approved, kind="ack_reminder")
    assert member.pk in set(reminders.values_list("recipient_user_id", flat=True))
    count = reminders.count()
    again = client.post(remind, {"user": member.pk}, follow=True).content.decode()
    assert "already reminded today" in again and reminders.count() == count  # one a day, even for one person
    assert Audit.objects.filter(plan=approved, action="ack_reminders_sent", actor_user=owner).count() == 1


def test_a_viewer_cannot_send_reminders_and_another_organisations_person_is_not_found(
        client, approved, member, outsider):
    client.force_login(member)
    remind = reverse("acks:coverage_remind", args=[approved.pk])
    assert "Remind everyone" not in client.get(reverse("acks:coverage", args=[approved.pk])).content.decode()
    response = client.post(remind, follow=True)
    assert "owner, reviewers and BCP Admins can send reminders" in response.content.decode()
    assert not Notification.objects.filter(plan=approved, kind="ack_reminder").exists()
    client.force_login(approved.owner_user)
    assert client.post(remind, {"user": outsider.pk}).status_code == 404
