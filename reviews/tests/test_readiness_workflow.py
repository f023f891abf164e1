"""Readiness before review: an unready version is refused on submission and approval, with the list of
what to fix, on the pages, in the admin and through the services; warnings never block."""

import copy

import pytest
from django.urls import reverse

from bcp_site.testing import SMALL_SCHEMA, make_plan, make_template
from plans.models import Audit, Notification, Plan, PlanVersion, Risk
from plans.readiness import NotReadyError
from reviews import services
from reviews.models import Review

pytestmark = pytest.mark.django_db

BLOCKERS = [
    "“Purpose” in Plan overview is required and empty",
    "There is no contact: add the people to call in an incident",
    "There is no critical process: add one with its recovery time objective (RTO) and maximum tolerable "
    "period of disruption (MTPD)",
    "The risk register is empty: add the risks this plan answers",
]
PLANS = reverse("admin:plans_plan_changelist")
REVIEWS = reverse("admin:reviews_review_changelist")


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


@pytest.fixture
def empty_plan(org, owner, template):
    """What a new user makes: a plan straight from the template, nothing filled in."""
    return make_plan(org, owner, template=template, title="Empty plan", ready=False)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def unready_in_review(plan, owner, *reviewers):
    """A version in review that lacks contacts (as one submitted before readiness was checked would)."""
    reviews = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=list(reviewers))
    version = plan.current_version
    content = copy.deepcopy(version.content_json)
    content["contacts"] = []
    PlanVersion.objects.filter(pk=version.pk).update(content_json=content)
    return reviews


def still_in_review(plan, review):
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.IN_REVIEW
    assert Review.objects.get(pk=review.pk).status == Review.Status.PENDING
    assert not Audit.objects.filter(plan=plan, action="plan_approved").exists()


# --- submission --------------------------------------------------------------------------


def test_the_service_refuses_to_submit_an_unready_version_with_the_list(empty_plan, owner, reviewer):
    with pytest.raises(NotReadyError) as refused:
        services.plan_submit_for_review(plan=empty_plan, actor=owner, reviewers=[reviewer])
    error = refused.value
    assert error.code == "not_ready" and error.problems == BLOCKERS
    assert error.message == ("Version 1 cannot be submitted for review until these are fixed: "
                             + "; ".join(BLOCKERS) + ".")
    assert Plan.objects.get(pk=empty_plan.pk).status == Plan.Status.DRAFT
    assert not Review.objects.filter(plan=empty_plan).exists()
    assert not Notification.objects.filter(plan=empty_plan).exists()  # nobody was asked to review it


def test_the_submit_page_shows_what_to_fix_and_refuses_with_the_list(client, empty_plan, owner, reviewer):
    client.force_login(owner)
    page = client.get(reverse("reviews:submit", args=[empty_plan.pk]))
    html = page.content.decode()
    assert html.count('data-testid="readiness-blocker"') == 4
    for name, args in (("section_edit", [empty_plan.pk, "overview"]), ("contact_add", [empty_plan.pk]),
                       ("process_add", [empty_plan.pk]), ("risk_add", [empty_plan.pk])):
        assert f'href="{reverse(f"plans:{name}", args=args)}"' in html
    assert 'data-testid="not-ready"' in html and "Submit for review</button>" not in html

    response = client.post(reverse("reviews:submit", args=[empty_plan.pk]), {"reviewers": "reviewer"})
    assert response.status_code == 200
    text = text_of(response)
    assert "Version 1 cannot be submitted for review until these are fixed:" in text
    for blocker in BLOCKERS:
        assert blocker in text
    assert Plan.objects.get(pk=empty_plan.pk).status == Plan.Status.DRAFT
    assert not Review.objects.filter(plan=empty_plan).exists()


def test_a_ready_version_is_submitted_and_approved(client, plan, owner, reviewer):
    client.force_login(owner)
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert 'data-testid="readiness"' not in page  # nothing to fix, nothing recommended: no checklist
    response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": "reviewer"}, follow=True)
    assert messages_of(response) == ["Submitted version 1 for review by Reviewer."]
    review = Review.objects.get(plan=plan)
    services.review_approve(review=review, actor=reviewer)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_warnings_are_shown_but_do_not_block(client, org, owner, reviewer):
    schema = copy.deepcopy(SMALL_SCHEMA)
    schema["readiness"] = {"min_contacts": 3, "required_for_approval": ["overview.scope"],
                           "warn_only": ["min_contacts", "overview.scope"]}
    plan = make_plan(org, owner, template=make_template(schema=schema))
    version = plan.current_version
    content = copy.deepcopy(version.content_json)
    content["overview"]["scope"] = ""
    PlanVersion.objects.filter(pk=version.pk).update(content_json=content)
    plan.draft_content_json = {key: value for key, value in content.items()
                               if key not in {"contacts", "processes", "risks"}}
    plan.save(update_fields=["draft_content_json"])

    client.force_login(owner)
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert page.count('data-testid="readiness-warning"') == 2 and 'data-testid="readiness-blocker"' not in page
    assert "The template asks for at least 3 contacts; the plan has 1" in page
    assert "Submit for review</button>" in page
    response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": "reviewer"}, follow=True)
    assert messages_of(response) == ["Submitted version 1 for review by Reviewer."]
    services.review_approve(review=Review.objects.get(plan=plan), actor=reviewer)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_reconfirmation_of_an_unready_approved_version_is_refused(plan, owner, reviewer, reviewer2, monkeypatch):
    review = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])[0]
    services.review_approve(review=review, actor=reviewer)
    version = plan.current_version
    content = copy.deepcopy(version.content_json)
    content["risks"] = []
    PlanVersion.objects.filter(pk=version.pk).update(content_json=content)
    Risk.objects.filter(plan=plan).delete()  # approved before readiness was checked, and unchanged since
    monkeypatch.setattr(services, "reconfirmation_due_on", lambda plan, version: version.authored_at_utc.date())
    with pytest.raises(NotReadyError) as refused:
        services.plan_reconfirm(plan=Plan.objects.get(pk=plan.pk), actor=owner, reviewers=[reviewer2])
    assert refused.value.message == ("Version 1 cannot be re-confirmed until these are fixed: "
                                     "The risk register is empty: add the risks this plan answers.")
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


# --- approval ----------------------------------------------------------------------------

NOT_APPROVED = ("Version 1 cannot be approved until these are fixed: "
                "There is no contact: add the people to call in an incident.")


def test_the_service_refuses_to_approve_an_unready_version(plan, owner, reviewer):
    review = unready_in_review(plan, owner, reviewer)[0]
    with pytest.raises(NotReadyError) as refused:
        services.review_approve(review=review, actor=reviewer)
    assert refused.value.message == NOT_APPROVED
    assert refused.value.problems == ["There is no contact: add the people to call in an incident"]
    still_in_review(plan, review)


def test_the_review_page_refuses_to_approve_with_the_list(client, plan, owner, reviewer):
    review = unready_in_review(plan, owner, reviewer)[0]
    client.force_login(reviewer)
    response = client.post(reverse("reviews:approve", args=[review.pk]), follow=True)
    html = response.content.decode()
    assert ('Version 1 cannot be approved until these are fixed:<ul class="problem-list">'
            "<li>There is no contact: add the people to call in an incident</li></ul>") in html
    still_in_review(plan, review)


@pytest.mark.parametrize(("changelist", "action"), [(REVIEWS, "approve_reviews"), (PLANS, "approve_plans")])
def test_the_admin_approve_actions_refuse_with_the_list(client, plan, owner, reviewer, changelist, action):
    review = unready_in_review(plan, owner, reviewer)[0]
    client.force_login(reviewer)
    selected = review if action == "approve_reviews" else plan
    response = client.post(changelist, {"action": action, "_selected_action": [selected.pk], "confirm": "yes"},
                           follow=True)
    assert messages_of(response) == [f"{selected}: not done. {NOT_APPROVED}"]
    still_in_review(plan, review)


def test_the_admin_review_screen_refuses_to_approve_with_the_list(client, plan, owner, reviewer):
    review = unready_in_review(plan, owner, reviewer)[0]
    client.force_login(reviewer)
    response = client.post(reverse("admin:reviews_review_approve", args=[review.pk]), {"confirm": "yes"},
                           follow=True)
    assert messages_of(response) == [f"{review}: not done. {NOT_APPROVED}"]
    still_in_review(plan, review)
