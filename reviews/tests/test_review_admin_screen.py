"""The review change page in the admin is the reviewer's workspace: what to decide on, and the decision.

Also: approving goes through a confirmation page saying what follows, and a reviewer whose pending
review is cancelled (changes requested by another reviewer, plan withdrawn, archived or deleted)
is told by email, with the reason.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import add_children, make_plan, make_template, make_user
from plans.attachments import plan_delete, plans_delete
from plans.models import Contact, Plan
from plans.services import plan_prepare_edit, version_create
from plans.tests.test_plan_page_scale import SCHEMA as PEOPLE_SCHEMA
from reviews import services
from reviews.models import Review

from .ack_support import deliver_outbox

pytestmark = pytest.mark.django_db

SITE = "https://bcp.example.test"


@pytest.fixture(autouse=True)
def _site_and_hooks(settings, monkeypatch):
    settings.SITE_URL = SITE
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def change_url(review) -> str:
    return reverse("admin:reviews_review_change", args=[review.pk])


def approve_url(review) -> str:
    return reverse("admin:reviews_review_approve", args=[review.pk])


def changes_url(review) -> str:
    return reverse("admin:reviews_review_request_changes", args=[review.pk])


def text_of(response) -> str:
    """The page's text, whitespace collapsed and tags of inline emphasis dropped."""
    html = response.content.decode()
    for tag in ("<strong>", "</strong>"):
        html = html.replace(tag, "")
    return " ".join(html.split())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def status_of(review) -> str:
    return Review.objects.get(pk=review.pk).status


def in_review(plan, actor, *reviewers):
    return services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))


# --- the change page -------------------------------------------------------------------------


def test_change_page_shows_the_plan_the_whole_plan_and_the_round(client, plan, owner, reviewer, reviewer2):
    add_children(plan, 2)
    version_create(plan=plan, actor=owner, note="Added the payroll processes")
    mine, theirs = in_review(plan, owner, reviewer, reviewer2)
    services.review_approve(review=theirs, actor=reviewer2)
    client.force_login(reviewer)

    page = client.get(change_url(mine))
    assert page.status_code == 200
    text = text_of(page)
    assert "Head office plan, version 2" in text
    assert "Added the payroll processes" in text
    assert "The whole plan (first approval)" in text
    assert "Process 1" in text and "Contact 0" in text
    assert "Reviewer2: " in text and "Approved" in text and "(this review)" in text
    assert f'href="{approve_url(mine)}"' in text  # the decision, not a Save button
    assert f'action="{changes_url(mine)}"' in text
    assert 'name="_save"' not in text


def test_change_page_shows_what_changed_since_the_approved_version(client, plan, owner, reviewer):
    Contact.objects.create(plan=plan, name="Bob Before")
    version_create(plan=plan, actor=owner, note="with Bob")
    (first,) = in_review(plan, owner, reviewer)
    services.review_approve(review=first, actor=reviewer)
    plan_prepare_edit(plan=Plan.objects.get(pk=plan.pk), actor=owner)
    Contact.objects.create(plan=plan, name="Alice Added")
    version_create(plan=plan, actor=owner, note="with Alice")
    (second,) = in_review(Plan.objects.get(pk=plan.pk), owner, reviewer)

    client.force_login(reviewer)
    text = text_of(client.get(change_url(second)))
    assert "What changed since the approved version 2" in text
    assert "Alice Added" in text
    assert "Bob Before" not in text  # unchanged since the approval


def test_a_large_diff_is_collapsed_and_truncated_with_a_link_to_the_review_page(client, plan, owner, reviewer):
    add_children(plan, 39)  # and the ready plan's own: 40 of each
    version_create(plan=plan, actor=owner)
    (review,) = in_review(plan, owner, reviewer)
    client.force_login(reviewer)
    text = text_of(client.get(change_url(review)))
    assert '<details class="diff-entry" id="diff-processes">' in text  # closed: 40 changes
    assert text.count('<th scope="row">Process ') + text.count('<th scope="row">Customer service') == 25  # of 40
    assert "15 more not shown here" in text
    assert f'href="{review.get_absolute_url()}#diff-processes">show all on the review page' in text


def test_buttons_only_for_the_assigned_eligible_reviewer(client, org, template, plan, owner, reviewer, reviewer2,
                                                         bcp_admin):
    mine, theirs = in_review(plan, owner, reviewer, reviewer2)
    client.force_login(reviewer)
    assert 'data-testid="review-decision"' in text_of(client.get(change_url(mine)))
    other = text_of(client.get(change_url(theirs)))  # someone else's review: read only
    assert 'data-testid="review-decision"' not in other and approve_url(theirs) not in other

    services.review_approve(review=mine, actor=reviewer)  # decided: nothing left to decide
    assert 'data-testid="review-decision"' not in text_of(client.get(change_url(mine)))

    # A reviewer who contributed (here: owns the plan) is told why, instead of the buttons.
    own = Plan.objects.create(org=org, template=template, title="Admin's plan", owner_user=bcp_admin,
                              status=Plan.Status.IN_REVIEW, current_version=plan.current_version)
    contributed = Review.objects.create(plan=own, version=plan.current_version, requested_by_user=reviewer,
                                        reviewer_user=bcp_admin, requested_at_utc=timezone.now())
    client.force_login(bcp_admin)
    text = text_of(client.get(change_url(contributed)))
    assert "You own this plan, so you cannot approve it." in text
    assert 'data-testid="review-decision"' not in text


# --- approving through the confirmation page ---------------------------------------------------


def test_approve_from_the_change_page_goes_through_the_confirmation(client, plan, owner, reviewer, reviewer2):
    first, second = in_review(plan, owner, reviewer, reviewer2)
    client.force_login(reviewer)
    confirmation = client.get(approve_url(first))
    assert confirmation.status_code == 200
    assert "1 of 2 reviewers has approved; the plan stays in review." in text_of(confirmation)
    assert status_of(first) == Review.Status.PENDING

    done = client.post(approve_url(first), {"confirm": "yes"}, follow=True)
    assert done.redirect_chain[-1][0] == change_url(first)
    assert messages_of(done) == [
        f"{first}: your approval is recorded; the plan stays in review until every reviewer has approved."
    ]
    assert status_of(first) == Review.Status.APPROVED

    client.force_login(reviewer2)
    final = text_of(client.get(approve_url(second)))
    # The distribution is the whole organisation: owner, reviewer, reviewer2.
    assert "version 1 becomes the approved plan; 3 people will be asked to acknowledge it." in final
    client.post(approve_url(second), {"confirm": "yes"})
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_approve_action_on_reviews_shows_the_confirmation_first(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    client.force_login(reviewer)
    changelist = reverse("admin:reviews_review_changelist")
    data = {"action": "approve_reviews", "_selected_action": [review.pk]}
    confirmation = client.post(changelist, data)
    assert confirmation.templates[0].name == "admin/reviews/approve_confirmation.html"
    # The distribution is the whole organisation: owner and reviewer.
    assert "version 1 becomes the approved plan; 2 people will be asked to acknowledge it." in text_of(confirmation)
    assert status_of(review) == Review.Status.PENDING
    client.post(changelist, {**data, "confirm": "yes"})
    assert status_of(review) == Review.Status.APPROVED


# --- requesting changes -------------------------------------------------------------------------


def test_request_changes_needs_notes(client, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    client.force_login(reviewer)
    assert client.get(changes_url(review)).status_code == 405
    blank = client.post(changes_url(review), {"notes": "   "}, follow=True)
    assert messages_of(blank) == ["Nothing was done. Notes are required when requesting changes."]
    assert status_of(review) == Review.Status.PENDING

    done = client.post(changes_url(review), {"notes": "Add the payroll contact."}, follow=True)
    assert done.redirect_chain[-1][0] == change_url(review)
    assert status_of(review) == Review.Status.CHANGES_REQUESTED
    assert "Add the payroll contact." in text_of(done)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.DRAFT


def test_decisions_outside_the_organisation_are_404(client, plan, owner, reviewer, outsider):
    (review,) = in_review(plan, owner, reviewer)
    client.force_login(outsider)
    assert client.get(change_url(review)).status_code == 404
    assert client.get(approve_url(review)).status_code == 404
    assert client.post(approve_url(review), {"confirm": "yes"}).status_code == 404
    assert client.post(changes_url(review), {"notes": "Mine now"}).status_code == 404
    assert status_of(review) == Review.Status.PENDING


def test_the_list_opens_on_my_pending_reviews_with_an_all_choice(client, org, template, plan, owner, reviewer,
                                                                 reviewer2):
    mine, theirs = in_review(plan, owner, reviewer, reviewer2)
    client.force_login(reviewer)
    changelist = reverse("admin:reviews_review_changelist")
    assert list(client.get(changelist).context["cl"].result_list) == [mine]
    everyone = client.get(changelist + "?mine=everyone")
    assert set(everyone.context["cl"].result_list) == {mine, theirs}
    text = text_of(everyone)
    assert '<span class="review-badge review-badge-pending">Pending</span>' in text
    assert "Head office plan v1" in text


# --- the cancelled reviewer is told --------------------------------------------------------------


@pytest.fixture
def third(org):
    return make_user(org, username="reviewer3", groups=["BCP Reviewer"], is_staff=True)


def cancelled_mail(smtp_server, user):
    (message,) = smtp_server.to(user.email)
    assert message["Subject"] == "Review cancelled: Head office plan v1"
    return smtp_server.text(message), smtp_server.html(message)


def test_cancelled_when_another_reviewer_requests_changes(
    smtp_server, plan, owner, reviewer, reviewer2, third, django_capture_on_commit_callbacks
):
    first, _second, _third = in_review(plan, owner, reviewer, reviewer2, third)
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.review_request_changes(review=first, actor=reviewer, notes="Fix it")
    for person in (reviewer2, third):
        text, html = cancelled_mail(smtp_server, person)
        assert "Reviewer requested changes, so the plan is back in draft" in text
        assert f'href="{SITE}/plans/{plan.pk}/"' in html
    assert smtp_server.to(reviewer.email) == []  # the one who decided is not "cancelled"


def test_cancelled_when_the_plan_is_withdrawn(smtp_server, plan, owner, reviewer,
                                             django_capture_on_commit_callbacks):
    in_review(plan, owner, reviewer)
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_withdraw(plan=plan, actor=owner)
    text, _html = cancelled_mail(smtp_server, reviewer)
    assert "Why: Owner withdrew the plan from review." in text


def test_cancelled_when_the_plan_is_archived(smtp_server, plan, owner, reviewer, reviewer2, bcp_admin,
                                            django_capture_on_commit_callbacks):
    (review,) = in_review(plan, owner, reviewer)
    services.review_approve(review=review, actor=reviewer)
    # A pending review left on an approved plan (not reachable through the workflow today) is closed too.
    stale = Review.objects.create(plan=plan, version=review.version, round_number=2, requested_by_user=owner,
                                  reviewer_user=reviewer2, requested_at_utc=timezone.now())
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_archive(plan=plan, actor=bcp_admin)
    text, _html = cancelled_mail(smtp_server, reviewer2)
    assert "Why: Bcpadmin archived the plan." in text
    assert status_of(stale) == Review.Status.CANCELLED


def test_cancelled_when_the_plan_is_deleted(smtp_server, org, template, plan, owner, reviewer, bcp_admin,
                                           django_capture_on_commit_callbacks):
    in_review(plan, owner, reviewer)
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        plan_delete(plan=plan, actor=bcp_admin)
    text, html = cancelled_mail(smtp_server, reviewer)
    assert "Why: Bcpadmin deleted the plan." in text
    assert "/plans/" not in text and "href=" not in html  # no link to a plan that is gone

    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template, title="Head office plan")
    in_review(other, owner, reviewer)
    deliver_outbox()  # mail queued by the steps before goes out first
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        plans_delete(queryset=Plan.objects.filter(pk=other.pk), actor=bcp_admin)
    text, _html = cancelled_mail(smtp_server, reviewer)
    assert "deleted the plan" in text


def test_the_admin_review_screen_names_the_people_in_the_diff(client, org, owner, reviewer, template):
    carol = make_user(org, username="carol", first_name="Carol", last_name="Coordinator")
    plan = make_plan(org, owner, template=make_template(schema=PEOPLE_SCHEMA), title="People plan")
    plan.draft_content_json = {**plan.draft_content_json, "overview": {
        **plan.draft_content_json.get("overview", {}), "purpose": "Keep going", "coordinator": carol.pk}}
    plan.save()
    version_create(plan=plan, actor=owner, note="Carol coordinates")
    (review,) = in_review(Plan.objects.get(pk=plan.pk), owner, reviewer)
    client.force_login(reviewer)
    text = text_of(client.get(change_url(review)))
    assert "Carol Coordinator" in text and f"User #{carol.pk}" not in text
