"""A plan's collaborators: the pages, section owners emailed (through the outbox, delivered to a real SMTP
server) when their sections change and when the review date approaches, default reviewers preselected on
submit only when the four-eyes rule lets them review."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.collaborators import collaborator_save
from plans.models import Audit, Notification, Plan
from plans.outbox import outbox_deliver
from plans.services import ServiceError, contact_save, revision_save
from plans.vendor_models import PlanCollaborator

from .exercise_support import approve, change_purpose

pytestmark = pytest.mark.django_db

Role = PlanCollaborator.Role


def set_scope(plan, actor, text):
    from plans.services import plan_section_update

    plan.refresh_from_db()
    values = dict(plan.draft_content_json["overview"])
    values["scope"] = text
    plan_section_update(plan=plan, section_key="overview", values=values, actor=actor, expected_revision=None)


# --- the pages -----------------------------------------------------------------------------------------------


def test_adding_changing_and_removing_collaborators_on_the_pages(client, plan, owner, editor, reviewer):
    client.force_login(owner)
    add_url = reverse("collaborators:collaborator_add", args=[plan.pk])
    response = client.post(add_url, {"person": "editor2", "role": Role.SECTION_OWNER})
    assert response.status_code == 400 and "Choose the sections this person owns." in response.content.decode()
    response = client.post(add_url, {"person": "editor2", "role": Role.SECTION_OWNER,
                                     "sections": ["overview", "maintenance"]})
    assert response["Location"].endswith("#collaborators")
    row = PlanCollaborator.objects.get()
    assert (row.user, row.role, row.section_keys) == (editor, Role.SECTION_OWNER, ["overview", "maintenance"])
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "Section owner" in page and "Plan overview, Maintenance and review" in page
    entry = Audit.objects.get(plan=plan, action="collaborator_added")
    assert entry.details_json == {"person": "editor2", "role": "Section owner", "sections": ["overview", "maintenance"]}

    response = client.post(add_url, {"person": "editor2", "role": Role.SECTION_OWNER, "sections": ["overview"]})
    assert "is a section owner of this plan already" in response.content.decode()
    edit_url = reverse("collaborators:collaborator_edit", args=[plan.pk, row.pk])
    assert client.post(edit_url, {"person": "editor2", "role": Role.SECTION_OWNER,
                                  "sections": ["overview"]}).status_code == 302
    row.refresh_from_db()
    assert row.section_keys == ["overview"]
    assert Audit.objects.get(plan=plan, action="collaborator_changed").details_json["changes"] == {
        "sections": [["overview", "maintenance"], ["overview"]]}
    assert client.post(add_url, {"person": "reviewer", "role": Role.DEFAULT_REVIEWER}).status_code == 302
    remove_url = reverse("collaborators:collaborator_remove", args=[plan.pk, row.pk])
    assert "Remove Editor2 as section owner?" in client.get(remove_url).content.decode()
    assert client.post(remove_url).status_code == 302
    assert list(plan.collaborators.values_list("role", flat=True)) == [Role.DEFAULT_REVIEWER]
    assert Audit.objects.filter(plan=plan, action="collaborator_removed").exists()


def test_collaborator_pages_for_each_role(client, plan, owner, member, outsider):
    row = collaborator_save(plan=plan, actor=owner, user=owner, role=Role.CO_AUTHOR)
    urls = [reverse("collaborators:collaborator_add", args=[plan.pk]),
            reverse("collaborators:collaborator_edit", args=[plan.pk, row.pk]),
            reverse("collaborators:collaborator_remove", args=[plan.pk, row.pk])]
    for url in urls:
        assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(member)
    assert all(client.get(url).status_code == 403 for url in urls)
    assert "Add collaborator" not in client.get(plan.get_absolute_url()).content.decode()
    client.force_login(outsider)
    assert all(client.get(url).status_code == 404 for url in urls)


def test_only_active_members_of_the_organisation_collaborate(plan, owner, outsider):
    leaver = make_user(plan.org, username="leaver", is_active=False)
    for person in (outsider, leaver):
        with pytest.raises(ServiceError) as refusal:
            collaborator_save(plan=plan, actor=owner, user=person, role=Role.CO_AUTHOR)
        assert refusal.value.code == "other_organisation"
    with pytest.raises(ServiceError) as refusal:
        collaborator_save(plan=plan, actor=owner, user=owner, role=Role.SECTION_OWNER, section_keys=["annex"])
    assert "no section “annex”" in refusal.value.message


def test_a_role_is_not_a_right(client, plan, owner, member):
    """A viewer named co-author still cannot edit: rights stay with the permission groups."""
    collaborator_save(plan=plan, actor=owner, user=member, role=Role.CO_AUTHOR)
    client.force_login(member)
    assert client.get(reverse("plans:section_edit", args=[plan.pk, "overview"])).status_code == 403


# --- section owners: their sections changed in a revision ----------------------------------------------------


def mails(smtp_server, user, *, about: str = ""):
    """What `user` received (`about`: only the mails whose subject says it; approvals also send links)."""
    return [m for m in smtp_server.to(user.email) if about in m["Subject"]]


def test_section_owners_are_emailed_when_their_sections_change_in_a_revision(
        plan, owner, editor, member, bcp_admin, smtp_server, settings):
    collaborator_save(plan=plan, actor=owner, user=editor, role=Role.SECTION_OWNER, section_keys=["overview"])
    collaborator_save(plan=plan, actor=owner, user=member, role=Role.SECTION_OWNER, section_keys=["maintenance"])
    collaborator_save(plan=plan, actor=owner, user=owner, role=Role.SECTION_OWNER, section_keys=["overview"])
    collaborator_save(plan=plan, actor=owner, user=bcp_admin, role=Role.CO_AUTHOR)
    set_scope(plan, owner, "Head office and the depot")
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Night porter"})
    version = revision_save(plan=plan, actor=owner, note="Depot in scope")
    outbox_deliver()

    [mail] = mails(smtp_server, editor)
    assert mail["Subject"] == 'Head office plan: your section "Plan overview" changed in version 2'
    text, html = smtp_server.text(mail), smtp_server.html(mail)
    assert "Owner saved version 2" in text and "- Plan overview" in text
    compare = f"{settings.SITE_URL}{reverse('plans:version_compare', args=[plan.pk])}?old=1&new=2"
    assert compare in text and compare.replace("&", "&amp;") in html
    assert mails(smtp_server, member) == []  # their section did not change
    assert mails(smtp_server, owner) == []  # they saved it themselves
    assert mails(smtp_server, bcp_admin) == []  # a co-author is not told
    notification = Notification.objects.get(kind=Notification.Kind.SECTION_CHANGED)
    assert (notification.status, notification.version_number) == ("sent", version.version_number)


def test_a_new_section_owner_of_an_unchanged_section_hears_nothing(plan, owner, editor, smtp_server):
    collaborator_save(plan=plan, actor=owner, user=editor, role=Role.SECTION_OWNER, section_keys=["maintenance"])
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Night porter"})
    revision_save(plan=plan, actor=owner, note="A contact")
    outbox_deliver()
    assert mails(smtp_server, editor) == []


# --- section owners: the review date approaches --------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("send_review_date_notices", *args, stdout=out)
    outbox_deliver()  # as a worker would
    return out.getvalue().strip()


@pytest.fixture
def due_plan(plan, owner, editor, reviewer):
    """Approved, its review due in 30 days; the editor owns the overview."""
    approve(plan, submitter=owner, approver=reviewer)
    Plan.objects.filter(pk=plan.pk).update(next_review_due=timezone.localdate() + dt.timedelta(days=30))
    collaborator_save(plan=plan, actor=owner, user=editor, role=Role.SECTION_OWNER, section_keys=["overview"])
    plan.refresh_from_db()
    return plan


def on(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_section_owners_hear_of_the_review_date_once_a_day_at_most(due_plan, editor, org, smtp_server, settings):
    assert run("--date", on(-1)) == ("Review date notices: 0 plans with section owners due within 30 days, "
                                     "0 emails queued, 0 skipped (already told)")
    assert run() == ("Review date notices: 1 plan with section owners due within 30 days, 1 email queued, "
                     "0 skipped (already told)")
    [mail] = mails(smtp_server, editor, about="review due")
    assert mail["Subject"].startswith("Head office plan: review due in 30 days")
    text = smtp_server.text(mail)
    assert "- Plan overview" in text and f"{settings.SITE_URL}{due_plan.get_absolute_url()}" in text
    assert Audit.objects.get(org=org, plan=None, action="review_date_notices_sent").details_json["count"] == 1

    # The same day again, and the next days: nothing new until the last week.
    assert run().endswith("0 emails queued, 1 skipped (already told)")
    assert run("--date", on(1)).endswith("0 emails queued, 1 skipped (already told)")
    assert len(mails(smtp_server, editor, about="review due")) == 1
    assert run("--date", on(23)).endswith("1 email queued, 0 skipped (already told)")  # 7 days left
    assert run("--date", on(23)).endswith("0 emails queued, 1 skipped (already told)")
    assert mails(smtp_server, editor, about="review due")[-1]["Subject"].startswith(
        "Head office plan: review due in 7 days")
    assert run("--date", on(31)).startswith("Review date notices: 0 plans")  # the date has passed


def test_archived_plans_and_plans_further_away_are_left_out(due_plan, editor, bcp_admin, smtp_server):
    from reviews.services import plan_archive

    Plan.objects.filter(pk=due_plan.pk).update(next_review_due=timezone.localdate() + dt.timedelta(days=31))
    assert run().startswith("Review date notices: 0 plans")
    Plan.objects.filter(pk=due_plan.pk).update(next_review_due=timezone.localdate() + dt.timedelta(days=3))
    plan_archive(plan=Plan.objects.get(pk=due_plan.pk), actor=bcp_admin)
    assert run().startswith("Review date notices: 0 plans")
    assert mails(smtp_server, editor, about="review due") == []


def test_the_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="--date must be a day written YYYY-MM-DD"):
        call_command("send_review_date_notices", "--date", "tomorrow")


# --- default reviewers ----------------------------------------------------------------------------------


def reviewers_field(client, plan) -> str:
    from html import unescape

    page = unescape(client.get(reverse("reviews:submit", args=[plan.pk])).content.decode())
    start = page.index('name="reviewers"')
    return page[start:page.index("</textarea>", start)], page


def test_default_reviewers_are_preselected_only_when_they_may_review(client, plan, owner, reviewer, reviewer2,
                                                                     member):
    for person in (reviewer, reviewer2, member):
        collaborator_save(plan=plan, actor=owner, user=person, role=Role.DEFAULT_REVIEWER)
    contact_save(plan=plan, actor=reviewer2, expected_revision=None, values={"name": "Night porter"})
    revision_save(plan=plan, actor=owner, note="Night porter")
    client.force_login(owner)
    field, page = reviewers_field(client, plan)
    assert "Reviewer (reviewer)" in field
    assert "reviewer2" not in field and "member" not in field
    assert ("Default reviewer not preselected: Reviewer2 changed the contacts since the plan was created, so they "
            "cannot review this revision.") in page
    assert "Default reviewer not preselected: Member's role does not allow approving plans." in page
    # The preselection is only a suggestion: submitting it goes through the same rules.
    response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": "reviewer"})
    assert response.status_code == 302
    assert list(plan.reviews.values_list("reviewer_user__username", flat=True)) == ["reviewer"]


def test_without_default_reviewers_nothing_is_preselected(client, plan, owner, reviewer):
    client.force_login(owner)
    field, page = reviewers_field(client, plan)
    assert "Reviewer (reviewer)" not in field and 'data-testid="default-reviewers"' not in page


def test_a_co_author_who_changed_nothing_may_still_review(plan, owner, bcp_admin, reviewer):
    """Four eyes follows what people changed, not the roles here."""
    from reviews.services import eligible_reviewers

    collaborator_save(plan=plan, actor=owner, user=bcp_admin, role=Role.CO_AUTHOR)
    change_purpose(plan, actor=owner, text="Keep serving customers")
    revision_save(plan=plan, actor=owner, note="Purpose")
    assert bcp_admin in eligible_reviewers(plan, actor=owner)
