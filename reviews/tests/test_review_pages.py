"""Workflow pages: submit, withdraw, my reviews, review and decide, archive, restore, and the plan-page panel."""

import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from bcp_site.testing import NAVIGATION_COUNTS, make_plan, make_user
from plans.models import Contact, Plan
from plans.services import plan_prepare_edit, version_create
from reviews import services
from reviews.models import Review
from reviews.panels import plan_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def url(name, *args):
    return reverse(f"reviews:{name}", args=args)


def login(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def in_review(plan, actor, *reviewers):
    return services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))


def status_of(plan) -> str:
    return Plan.objects.get(pk=plan.pk).status


# --- submit ------------------------------------------------------------------------------


def offered(html: str) -> list[str]:
    """The reviewers the submit form suggests beside its search field."""
    found = re.search(r'data-testid="reviewer-suggestions">Who may review this revision: (.*?)\.</p>', html)
    return found[1].split(", ") if found else []


def test_submit_page_offers_eligible_reviewers_in_a_search_field(client, plan, owner, reviewer, reviewer2, member):
    response = login(client, owner).get(url("submit", plan.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('name="reviewers"') == 1 and "data-person-search" in html  # one search field
    assert offered(html) == ["Reviewer (reviewer)", "Reviewer2 (reviewer2)"]  # not the owner, not a viewer
    # Someone who may not review is not found when typed: a form error, nothing submitted.
    response = client.post(url("submit", plan.pk), {"reviewers": "member"})
    assert "Nobody in your organisation matches “member”" in response.content.decode()
    assert status_of(plan) == Plan.Status.DRAFT


def test_submit_suggestions_stay_short_in_a_large_organisation(client, org, plan, owner):
    for n in range(15):
        make_user(org, username=f"rev{n:02d}", groups=["BCP Reviewer"])
    html = login(client, owner).get(url("submit", plan.pk)).content.decode()
    assert len(offered(html)) == 10 and "and others (type a name to search)" in html
    client.post(url("submit", plan.pk), {"reviewers": "rev14"})
    assert status_of(plan) == Plan.Status.IN_REVIEW
    assert Review.objects.get(plan=plan).reviewer_user.username == "rev14"


def test_submit_success_redirects_to_the_plan(client, plan, owner, reviewer, reviewer2):
    response = login(client, owner).post(url("submit", plan.pk), {"reviewers": "reviewer\nReviewer2 (reviewer2)"},
                                         follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert "Submitted version 1 for review by Reviewer, Reviewer2." in messages_of(response)
    assert status_of(plan) == Plan.Status.IN_REVIEW
    assert Review.objects.filter(plan=plan, round_number=1).count() == 2


def test_submit_without_reviewers_is_a_form_error(client, plan, owner, reviewer):
    response = login(client, owner).post(url("submit", plan.pk), {})
    assert response.status_code == 200
    assert "Choose at least one reviewer." in response.content.decode()
    assert status_of(plan) == Plan.Status.DRAFT


def test_submit_with_unsaved_changes_says_save_a_revision_first(client, plan, owner, reviewer):
    Contact.objects.create(plan=plan, name="Unsaved contact")
    response = login(client, owner).post(url("submit", plan.pk), {"reviewers": "reviewer"})
    assert response.status_code == 200
    assert "Save a revision first" in response.content.decode()
    assert status_of(plan) == Plan.Status.DRAFT


def test_submit_page_access(client, plan, member, outsider, reviewer):
    target = url("submit", plan.pk)
    response = client.post(target, {"reviewers": [reviewer.pk]})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert login(client, member).post(target, {"reviewers": [reviewer.pk]}).status_code == 403
    assert login(client, outsider).post(target, {"reviewers": [reviewer.pk]}).status_code == 404
    assert status_of(plan) == Plan.Status.DRAFT


# --- withdraw, archive, restore ------------------------------------------------------------


def test_withdraw(client, plan, owner, reviewer, member, outsider):
    in_review(plan, owner, reviewer)
    target = url("withdraw", plan.pk)
    assert client.post(target).status_code == 302 and status_of(plan) == Plan.Status.IN_REVIEW
    assert login(client, member).post(target).status_code == 403
    assert login(client, outsider).post(target).status_code == 404
    assert login(client, owner).get(target).status_code == 405
    assert status_of(plan) == Plan.Status.IN_REVIEW

    response = login(client, owner).post(target, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert status_of(plan) == Plan.Status.DRAFT
    assert Review.objects.get().status == Review.Status.CANCELLED

    response = client.post(target, follow=True)  # refused: nothing to withdraw
    assert "This plan is not in review, so there is nothing to withdraw." in messages_of(response)


def approve_now(plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    services.review_approve(review=review, actor=reviewer)


def test_archive_and_restore(client, plan, owner, reviewer, bcp_admin, outsider):
    archive, restore = url("archive", plan.pk), url("restore", plan.pk)
    response = login(client, bcp_admin).post(archive, follow=True)
    assert "Only an approved plan can be archived; this plan is a draft." in messages_of(response)

    approve_now(plan, owner, reviewer)
    assert client.post(restore, follow=True).status_code == 200 and status_of(plan) == Plan.Status.APPROVED
    response = client.post(archive, follow=True)
    assert response.redirect_chain == [(plan.get_absolute_url(), 302)]
    assert status_of(plan) == Plan.Status.ARCHIVED

    response = client.post(restore, follow=True)
    assert "Restored: the plan is a draft again." in messages_of(response)
    assert status_of(plan) == Plan.Status.DRAFT


def test_archive_and_restore_access(client, plan, owner, reviewer, outsider):
    approve_now(plan, owner, reviewer)
    for name in ("archive", "restore"):
        target = url(name, plan.pk)
        client.logout()
        assert client.post(target).status_code == 302
        assert login(client, owner).post(target).status_code == 403  # editors may not
        assert login(client, outsider).post(target).status_code == 404
    assert status_of(plan) == Plan.Status.APPROVED


# --- queue -------------------------------------------------------------------------------


def test_queue_lists_my_pending_reviews_first(client, org, owner, reviewer, reviewer2, template):
    decided_plan = make_plan(org, owner, template=template, title="Decided plan")
    (done,) = in_review(decided_plan, owner, reviewer)
    services.review_approve(review=done, actor=reviewer)
    pending_plan = make_plan(org, owner, template=template, title="Pending plan")
    in_review(pending_plan, owner, reviewer)
    other_plan = make_plan(org, owner, template=template, title="Someone else's plan")
    in_review(other_plan, owner, reviewer2)

    response = login(client, reviewer).get(url("queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Pending plan") < html.index("Decided plan")
    assert "Someone else&#x27;s plan" not in html and "Someone else's plan" not in html


def test_queue_paginates_in_a_fixed_number_of_queries(client, org, owner, reviewer, template,
                                                      django_assert_num_queries):
    from django.utils import timezone

    plan = make_plan(org, owner, template=template, title="Busy plan")
    for n in range(1, 31):
        Review.objects.create(plan=plan, version=plan.current_version, round_number=n, requested_by_user=owner,
                              reviewer_user=reviewer, requested_at_utc=timezone.now(),
                              status=Review.Status.APPROVED)
    login(client, reviewer)
    # session, user, permissions (user, group), count, page of reviews with plan/version/requester
    with django_assert_num_queries(6 + NAVIGATION_COUNTS):
        first = client.get(url("queue"))
    with django_assert_num_queries(6 + NAVIGATION_COUNTS):
        second = client.get(url("queue") + "?page=2")
    assert first.content.decode().count("Busy plan") == 25
    assert second.content.decode().count("Busy plan") == 5
    assert "Page 2 of 2" in second.content.decode()


def test_queue_access(client, member):
    assert client.get(url("queue")).status_code == 302
    assert login(client, member).get(url("queue")).status_code == 403


# --- review page and decisions -------------------------------------------------------------


def test_review_page_shows_the_whole_plan_for_a_first_approval_and_the_forms(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, reviewer).get(url("review_detail", review.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The whole plan (first approval)" in html
    assert "Maintenance and review" in html  # a section of the template, shown as added
    assert url("approve", review.pk) in html and url("request_changes", review.pk) in html


def test_review_page_diffs_against_the_last_approved_version(client, plan, owner, reviewer):
    approve_now(plan, owner, reviewer)
    plan.refresh_from_db()
    plan_prepare_edit(plan=plan, actor=owner)
    plan.draft_content_json = {**plan.draft_content_json,
                               "overview": {"purpose": "Keep payroll running", "scope": "All sites"}}
    plan.save()
    version_create(plan=plan, actor=owner, note="purpose written")
    (review,) = in_review(plan, owner, reviewer)

    html = login(client, reviewer).get(url("review_detail", review.pk)).content.decode()
    assert "What changed since the approved version 1" in html
    assert "Keep payroll running" in html
    assert "Maintenance and review" not in html  # unchanged section is not listed


def test_review_page_for_others_has_no_decision_forms(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, owner).get(url("review_detail", review.pk))
    assert response.status_code == 200
    assert url("approve", review.pk) not in response.content.decode()


def test_review_page_access(client, org, plan, owner, reviewer, outsider):
    (review,) = in_review(plan, owner, reviewer)
    target = url("review_detail", review.pk)
    assert client.get(target).status_code == 302
    nobody = make_user(org, username="nobody")  # in the organisation, no role
    assert login(client, nobody).get(target).status_code == 403
    assert login(client, outsider).get(target).status_code == 404
    assert client.get(url("review_detail", 999999)).status_code == 404


def test_approve_from_the_review_page(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, reviewer).post(url("approve", review.pk), follow=True)
    assert response.redirect_chain == [(url("review_detail", review.pk), 302)]
    assert any("version 1 is now the approved plan" in m for m in messages_of(response))
    assert status_of(plan) == Plan.Status.APPROVED


def test_approve_access(client, plan, owner, reviewer, member, outsider):
    (review,) = in_review(plan, owner, reviewer)
    target = url("approve", review.pk)
    assert client.post(target).status_code == 302
    assert login(client, member).post(target).status_code == 403
    assert login(client, outsider).post(target).status_code == 404
    assert login(client, reviewer).get(target).status_code == 405
    assert Review.objects.get().status == Review.Status.PENDING


def test_self_approval_refused_on_the_page(client, org, template, reviewer, bcp_admin):
    from django.utils import timezone

    plan = make_plan(org, bcp_admin, template=template)
    plan.status = Plan.Status.IN_REVIEW
    plan.save()
    review = Review.objects.create(plan=plan, version=plan.current_version, requested_by_user=reviewer,
                                   reviewer_user=bcp_admin, requested_at_utc=timezone.now())
    response = login(client, bcp_admin).post(url("approve", review.pk), follow=True)
    assert "You own this plan, so you cannot approve it." in messages_of(response)
    assert Review.objects.get().status == Review.Status.PENDING and status_of(plan) == Plan.Status.IN_REVIEW


def test_another_reviewer_cannot_decide_my_review(client, plan, owner, reviewer, reviewer2):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, reviewer2).post(url("approve", review.pk), follow=True)
    assert "Only the assigned reviewer can decide this review." in messages_of(response)
    assert status_of(plan) == Plan.Status.IN_REVIEW


def test_request_changes_needs_notes_on_the_page(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, reviewer).post(url("request_changes", review.pk), {"notes": "   "})
    assert response.status_code == 200
    assert "Notes are required when requesting changes." in response.content.decode()
    assert status_of(plan) == Plan.Status.IN_REVIEW


def test_request_changes_from_the_page_and_notes_on_the_plan_page(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    response = login(client, reviewer).post(url("request_changes", review.pk),
                                            {"notes": "Add the payroll contact."}, follow=True)
    assert response.redirect_chain == [(url("review_detail", review.pk), 302)]
    assert status_of(plan) == Plan.Status.DRAFT

    html = login(client, owner).get(plan.get_absolute_url()).content.decode()
    assert 'data-testid="changes-requested"' in html
    assert "Add the payroll contact." in html


def test_request_changes_access(client, plan, owner, reviewer, member, outsider):
    (review,) = in_review(plan, owner, reviewer)
    target = url("request_changes", review.pk)
    assert client.post(target, {"notes": "x"}).status_code == 302
    assert login(client, member).post(target, {"notes": "x"}).status_code == 403
    assert login(client, outsider).post(target, {"notes": "x"}).status_code == 404
    assert Review.objects.get().status == Review.Status.PENDING


# --- the workflow panel ----------------------------------------------------------------------


def render_panel(plan, user):
    request = RequestFactory().get("/")
    request.user = user
    fresh = Plan.objects.get(pk=plan.pk)
    template = Template("{% load workflow_tags %}{% plan_workflow_panel plan workflow %}")
    return template.render(Context({"plan": fresh, "request": request, "workflow": plan_workflow(fresh, user)}))


def test_panel_shows_approved_and_drafted_versions(plan, owner, reviewer):
    approve_now(plan, owner, reviewer)
    plan.refresh_from_db()
    html = render_panel(plan, owner)
    assert "v1 on" in html and reverse("plans:version_detail", args=[plan.pk, 1]) in html
    assert "Being drafted" not in html

    plan_prepare_edit(plan=plan, actor=owner)  # a new revision starts
    html = render_panel(plan, owner)
    assert "Being drafted" in html and "v2 (working copy" in html
    assert "already approved" in html  # nothing to submit yet

    version_create(plan=plan, actor=owner, note="second")
    html = render_panel(plan, owner)
    assert 'data-testid="drafting-version">v2<' in html and 'data-testid="approved-version">v1 on' in html
    assert url("submit", plan.pk) in html


def test_panel_buttons_follow_status_and_role(plan, owner, reviewer, reviewer2, member, bcp_admin):
    assert url("submit", plan.pk) in render_panel(plan, owner)
    assert url("submit", plan.pk) not in render_panel(plan, member)
    in_review(plan, owner, reviewer, reviewer2)
    html = render_panel(plan, owner)
    assert url("withdraw", plan.pk) in html and "2 of 2 still to decide" in html
    assert "Review this plan" in render_panel(plan, reviewer)
    assert url("withdraw", plan.pk) not in render_panel(plan, reviewer)
    for review in Review.objects.all():
        services.review_approve(review=review, actor=review.reviewer_user)
    assert url("archive", plan.pk) in render_panel(plan, bcp_admin)
    assert url("archive", plan.pk) not in render_panel(plan, owner)
    services.plan_archive(plan=plan, actor=bcp_admin)
    assert url("restore", plan.pk) in render_panel(plan, bcp_admin)


def test_panel_runs_a_fixed_number_of_queries(org, plan, owner, reviewer, django_assert_num_queries):
    for n in range(5):
        make_user(org, username=f"extra{n}", groups=["BCP Reviewer"])
    version_create(plan=plan, actor=owner, note="another")
    in_review(plan, owner, reviewer, *[u for u in services.eligible_reviewers(plan) if u != reviewer][:4])
    owner = type(owner).objects.get(pk=owner.pk)
    owner.has_perm("plans.submit_plan")  # permission cache, loaded once per request anyway
    fresh = Plan.objects.get(pk=plan.pk)
    request = RequestFactory().get("/")
    request.user = owner
    template = Template("{% load workflow_tags %}{% plan_workflow_panel plan workflow %}")
    # versions, latest round of reviews (with people and version); the tag itself runs none
    with django_assert_num_queries(2):
        template.render(Context({"plan": fresh, "request": request, "workflow": plan_workflow(fresh, owner)}))
    services.plan_withdraw(plan=plan, actor=owner)
    fresh = Plan.objects.get(pk=plan.pk)
    # versions, latest round, eligible reviewers for the submit form
    with django_assert_num_queries(3):
        html = template.render(Context({"plan": fresh, "request": request, "workflow": plan_workflow(fresh, owner)}))
    assert html.count('name="reviewers"') == 1 and len(offered(html)) == 6


def test_refused_transitions_on_the_pages_say_why(client, plan, owner, reviewer, reviewer2):
    first, second = in_review(plan, owner, reviewer, reviewer2)
    response = login(client, owner).post(url("submit", plan.pk), {"reviewers": "reviewer"})
    assert response.status_code == 200
    assert "This plan is already in review." in response.content.decode()

    services.review_request_changes(review=first, actor=reviewer, notes="Redo it")
    response = login(client, reviewer2).post(url("approve", second.pk), follow=True)
    assert any(m.startswith("This review was cancelled") for m in messages_of(response))
    response = login(client, reviewer).post(url("request_changes", first.pk), {"notes": "Again"}, follow=True)
    assert "You already decided this review (changes requested)." in messages_of(response)
    assert status_of(plan) == Plan.Status.DRAFT
