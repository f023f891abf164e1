"""Four eyes that hold: nobody reviews a revision they contributed to; an unchanged revision is refused;
an unchanged approved plan is re-confirmed by a new review round when its review is due."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.attachments import attachment_upload
from plans.models import Audit, Plan, PlanVersion, Risk
from plans.services import (
    ServiceError,
    contact_delete,
    contact_save,
    plan_details_update,
    plan_prepare_edit,
    plan_section_update,
    process_save,
    revision_save,
    risk_save,
    version_create,
)
from reviews import contributors, permissions, services
from reviews.models import Review

from .ack_support import links_call

pytestmark = pytest.mark.django_db

PLANS = reverse("admin:plans_plan_changelist")
REVIEWS = reverse("admin:reviews_review_changelist")


@pytest.fixture
def hooks(monkeypatch):
    """Record the after-approval hooks (exports, acknowledgement links) instead of running them."""
    calls = []
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: calls.append(("exports", kw)))
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: calls.append(("acks", links_call(kw))))
    return calls


def refresh(plan):
    plan.refresh_from_db()
    return plan


def submit(plan, actor, *reviewers):
    return services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))


def approve(plan, submitter, reviewer):
    (review,) = submit(plan, submitter, reviewer)
    services.review_approve(review=review, actor=reviewer)
    return refresh(plan)


def offered(page: str) -> list[str]:
    """The reviewers a submit form suggests (it is a search field: only eligible people are found)."""
    found = re.search(r'data-testid="reviewer-suggestions">Who may review this revision: (.*?)\.</p>', page)
    return found[1].split(", ") if found else []


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def time_passes(plan, days: int) -> None:
    """Move everything recorded about the plan `days` into the past, as if that time had gone by."""
    delta = timedelta(days=days)
    Plan.objects.filter(pk=plan.pk, approved_at_utc__isnull=False).update(approved_at_utc=F("approved_at_utc") - delta)
    PlanVersion.objects.filter(plan=plan).update(authored_at_utc=F("authored_at_utc") - delta)
    PlanVersion.objects.filter(plan=plan, approved_at_utc__isnull=False).update(
        approved_at_utc=F("approved_at_utc") - delta
    )
    Audit.objects.filter(plan=plan).update(at_utc=F("at_utc") - delta)
    Review.objects.filter(plan=plan).update(requested_at_utc=F("requested_at_utc") - delta)
    Review.objects.filter(plan=plan, decided_at_utc__isnull=False).update(decided_at_utc=F("decided_at_utc") - delta)
    refresh(plan)


# --- each kind of contribution -------------------------------------------------------------
#
# The plan's version 1 is approved (owner submitted, reviewer approved); a new revision starts.
# Then the contributor (the BCP admin, who may approve plans) does one thing, and the editor
# saves the revision that goes to review: the admin may not review it.


def _owner(plan, *, owner, contributor):
    plan_details_update(plan=plan, actor=owner, expected_revision=None, title=plan.title, owner=contributor)


def _author(plan, *, owner, contributor):
    version_create(plan=plan, actor=contributor, note="The admin's revision")


def _section(plan, *, owner, contributor):
    plan_section_update(plan=plan, section_key="overview", values={"purpose": "Written by the admin", "scope": ""},
                        actor=contributor, expected_revision=None)


def _contact(plan, *, owner, contributor):
    contact_save(plan=plan, actor=contributor, expected_revision=None, values={"name": "Alice Adams"})


def _process(plan, *, owner, contributor):
    process_save(plan=plan, actor=contributor, expected_revision=None,
                 values={"name": "Payroll", "rto_minutes": 60, "mtpd_minutes": 240})


def _risk(plan, *, owner, contributor):
    risk_save(plan=plan, actor=contributor, expected_revision=None,
              values={"threat": "Flood", "likelihood": Risk.Likelihood.LIKELY, "impact": Risk.Impact.MAJOR})


def _attachment(plan, *, owner, contributor):
    attachment_upload(plan=plan, actor=contributor, uploaded_file=SimpleUploadedFile("call-tree.txt", b"Call tree\n"))


def _details(plan, *, owner, contributor):
    plan_details_update(plan=plan, actor=contributor, expected_revision=None, title="Head office plan (2025)",
                        owner=owner)


SINCE = "since version 1 was approved"
# kind -> (what the contributor does, how a refusal says it: "You ..." / "Bcpadmin ...")
CONTRIBUTIONS = {
    "owner": (_owner, "own this plan", "owns this plan"),
    "revision author": (_author, "wrote version 2 of this plan", "wrote version 2 of this plan"),
    "section editor": (_section, *[f"changed the Plan overview section {SINCE}"] * 2),
    "contact editor": (_contact, *[f"changed the contacts {SINCE}"] * 2),
    "process editor": (_process, *[f"changed the critical processes {SINCE}"] * 2),
    "risk editor": (_risk, *[f"changed the risks {SINCE}"] * 2),
    "attachment uploader": (_attachment, *[f"changed the attachments {SINCE}"] * 2),
    "plan-details changer": (_details, *[f"changed the plan details {SINCE}"] * 2),
}


def _approved_then_new_revision(plan, owner, reviewer):
    approve(plan, owner, reviewer)
    plan_prepare_edit(plan=plan, actor=owner)  # a new revision starts
    return refresh(plan)


def contributed(kind, plan, *, owner, editor, reviewer, contributor):
    """The plan in draft with the editor's revision holding the contributor's part."""
    plan = _approved_then_new_revision(plan, owner, reviewer)
    CONTRIBUTIONS[kind][0](plan, owner=owner, contributor=contributor)
    version_create(plan=plan, actor=editor, note="The editor's revision")
    return refresh(plan)


def assigned(plan, *, reviewer, submitter) -> Review:
    """A review of the active version that the submit rules would refuse (to prove the decision rules hold alone)."""
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.IN_REVIEW)
    refresh(plan)
    return Review.objects.create(
        plan=plan, version=plan.current_version, round_number=services.current_round(plan) + 1,
        requested_by_user=submitter, reviewer_user=reviewer, requested_at_utc=timezone.now(),
    )


def contributor_assigned(kind, plan, *, owner, editor, reviewer, contributor) -> tuple[Review, str]:
    """(the contributor's review of the revision, the refusal they get)."""
    if kind == "submitter":
        plan = _approved_then_new_revision(plan, owner, reviewer)
        version_create(plan=plan, actor=editor, note="The editor's revision")
        return (assigned(refresh(plan), reviewer=contributor, submitter=contributor),
                "You submitted this plan for review, so you cannot approve it.")
    plan = contributed(kind, plan, owner=owner, editor=editor, reviewer=reviewer, contributor=contributor)
    return (assigned(plan, reviewer=contributor, submitter=editor),
            f"You {CONTRIBUTIONS[kind][1]}, so you cannot approve it.")


ALL_KINDS = ["submitter", *CONTRIBUTIONS]


def _still_undecided(review):
    review.refresh_from_db()
    assert review.status == Review.Status.PENDING and review.decided_at_utc is None
    plan = refresh(review.plan)
    assert plan.status == Plan.Status.IN_REVIEW
    assert plan.approved_version.version_number == 1  # the last approval stands
    assert Audit.objects.filter(plan=plan, action="plan_approved").count() == 1


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_contributor_cannot_approve_through_the_service(kind, plan, owner, editor, reviewer, bcp_admin, hooks):
    review, refusal = contributor_assigned(kind, plan, owner=owner, editor=editor, reviewer=reviewer,
                                           contributor=bcp_admin)
    with pytest.raises(ServiceError) as exc:
        services.review_approve(review=review, actor=bcp_admin)
    assert (exc.value.message, exc.value.code) == (refusal, "self_approval")
    _still_undecided(review)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_contributor_cannot_approve_on_the_review_page(kind, client, plan, owner, editor, reviewer, bcp_admin,
                                                         hooks):
    review, refusal = contributor_assigned(kind, plan, owner=owner, editor=editor, reviewer=reviewer,
                                           contributor=bcp_admin)
    client.force_login(bcp_admin)
    page = client.get(reverse("reviews:review_detail", args=[review.pk])).content.decode()
    assert refusal in page  # said before they try
    assert reverse("reviews:approve", args=[review.pk]) not in page
    response = client.post(reverse("reviews:approve", args=[review.pk]), follow=True)
    assert messages_of(response) == [refusal]
    _still_undecided(review)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_contributor_cannot_approve_with_the_review_admin_action(kind, client, plan, owner, editor, reviewer,
                                                                  bcp_admin, hooks):
    review, refusal = contributor_assigned(kind, plan, owner=owner, editor=editor, reviewer=reviewer,
                                           contributor=bcp_admin)
    client.force_login(bcp_admin)
    response = client.post(REVIEWS, {"action": "approve_reviews", "_selected_action": [review.pk],
                                     "confirm": "yes"}, follow=True)
    assert messages_of(response) == [f"{review}: not done. {refusal}"]
    _still_undecided(review)


REFUSED = re.compile(r'data-testid="decision-refused">(.*?)</p>', re.S)


@pytest.mark.parametrize("kind", ["submitter", "owner", "contact editor"])
def test_the_review_page_and_the_review_admin_refuse_a_contributor_alike(kind, client, plan, owner, editor, reviewer,
                                                                        bcp_admin, hooks):
    """One rule (`permissions.review_decision_for`) answers both screens: no decision, the same reason."""
    review, refusal = contributor_assigned(kind, plan, owner=owner, editor=editor, reviewer=reviewer,
                                           contributor=bcp_admin)
    client.force_login(bcp_admin)
    page = client.get(reverse("reviews:review_detail", args=[review.pk])).content.decode()
    screen = client.get(reverse("admin:reviews_review_change", args=[review.pk])).content.decode()
    assert REFUSED.findall(page) == REFUSED.findall(screen) == [
        f"{refusal} Ask the person who submitted it to choose another reviewer."
    ]
    for url in ("reviews:approve", "reviews:request_changes", "admin:reviews_review_approve",
                "admin:reviews_review_request_changes"):
        assert reverse(url, args=[review.pk]) not in page + screen
    assert 'data-testid="review-decision"' not in screen
    assert permissions.review_decision_for(review, bcp_admin) == permissions.ReviewDecision(refused=refusal)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_contributor_cannot_approve_with_the_plan_admin_action(kind, client, plan, owner, editor, reviewer,
                                                                bcp_admin, hooks):
    review, refusal = contributor_assigned(kind, plan, owner=owner, editor=editor, reviewer=reviewer,
                                           contributor=bcp_admin)
    client.force_login(bcp_admin)
    response = client.post(PLANS, {"action": "approve_plans", "_selected_action": [plan.pk], "confirm": "yes"},
                           follow=True)
    assert messages_of(response) == [f"{refresh(plan)}: not done. {refusal}"]
    _still_undecided(review)


def test_a_contributor_cannot_request_changes_either(plan, owner, editor, reviewer, bcp_admin, hooks):
    review, _refusal = contributor_assigned("contact editor", plan, owner=owner, editor=editor, reviewer=reviewer,
                                            contributor=bcp_admin)
    with pytest.raises(ServiceError, match=f"You changed the contacts {SINCE}, so you cannot review it."):
        services.review_request_changes(review=review, actor=bcp_admin, notes="Looks fine to me")
    _still_undecided(review)


def test_nobody_adds_files_to_a_plan_in_review(plan, owner, reviewer, bcp_admin, hooks):
    """A plan in review is locked, files included: a reviewer cannot become a contributor meanwhile."""
    (review,) = submit(plan, owner, bcp_admin)
    with pytest.raises(ServiceError, match="in review, so files cannot be added"):
        _attachment(plan, owner=owner, contributor=bcp_admin)
    services.review_approve(review=review, actor=bcp_admin)


@pytest.mark.parametrize("kind", list(CONTRIBUTIONS))
def test_a_contributor_is_never_offered_as_reviewer(kind, client, plan, owner, editor, reviewer, bcp_admin, hooks):
    plan = contributed(kind, plan, owner=owner, editor=editor, reviewer=reviewer, contributor=bcp_admin)
    assert set(services.eligible_reviewers(plan, actor=editor)) == {reviewer}

    client.force_login(editor)
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert offered(page) == ["Reviewer (reviewer)"]
    panel = client.get(plan.get_absolute_url()).content.decode()
    assert offered(panel) == ["Reviewer (reviewer)"]
    # Typed by hand, the contributor is nobody the field can find: the form refuses, nothing is submitted.
    response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": "bcpadmin"})
    assert "Nobody in your organisation matches “bcpadmin”" in response.content.decode()
    assert not Review.objects.filter(plan=plan, reviewer_user=bcp_admin).exists()

    with pytest.raises(ServiceError) as exc:
        submit(plan, editor, reviewer, bcp_admin)
    assert exc.value.message == f"Bcpadmin {CONTRIBUTIONS[kind][2]}, so they cannot review this revision."
    response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": f"#{bcp_admin.pk}"})
    assert response.status_code == 200 and refresh(plan).status == Plan.Status.DRAFT
    assert not Review.objects.filter(reviewer_user=bcp_admin).exists()


def test_the_submitter_is_never_offered_as_reviewer(plan, owner, editor, reviewer, bcp_admin, hooks):
    plan = _approved_then_new_revision(plan, owner, reviewer)
    version_create(plan=plan, actor=editor, note="The editor's revision")
    assert bcp_admin in services.eligible_reviewers(plan, actor=editor)
    assert bcp_admin not in services.eligible_reviewers(plan, actor=bcp_admin)
    with pytest.raises(ServiceError, match="Bcpadmin cannot review this plan: you cannot review a plan you submit."):
        submit(plan, bcp_admin, reviewer, bcp_admin)


def test_the_refusal_names_the_person_and_the_approved_version(org, plan, owner, editor, reviewer, reviewer2, hooks):
    maria = make_user(org, username="mlopez", first_name="Maria", last_name="Lopez", groups=["BCP Reviewer"])
    version_create(plan=plan, actor=editor, note="v2")
    version_create(plan=plan, actor=editor, note="v3")
    approve(plan, editor, reviewer)
    contact_save(plan=plan, actor=maria, expected_revision=None, values={"name": "Payroll desk"})
    version_create(plan=plan, actor=editor, note="v4")
    with pytest.raises(ServiceError) as exc:
        submit(refresh(plan), editor, maria)
    assert exc.value.message == (
        "Maria Lopez changed the contacts since version 3 was approved, so they cannot review this revision."
    )
    assert [r.reviewer_user for r in submit(plan, editor, reviewer2)] == [reviewer2]


def test_changes_before_the_last_approval_do_not_count(plan, owner, editor, reviewer, bcp_admin, hooks):
    contact_save(plan=plan, actor=bcp_admin, expected_revision=None, values={"name": "Alice Adams"})
    version_create(plan=plan, actor=editor, note="With Alice")
    assert bcp_admin not in services.eligible_reviewers(plan, actor=editor)  # contributed to version 2
    approve(plan, editor, reviewer)
    plan_prepare_edit(plan=plan, actor=editor)
    contact_save(plan=plan, actor=editor, expected_revision=None, values={"name": "Bob Brown"})
    version_create(plan=plan, actor=editor, note="With Bob")
    assert bcp_admin in services.eligible_reviewers(refresh(plan), actor=editor)  # not to version 3


def test_every_revision_author_since_the_last_approval_counts(plan, owner, editor, reviewer, reviewer2, bcp_admin):
    version_create(plan=plan, actor=reviewer2, note="v2 by reviewer2")
    version_create(plan=plan, actor=editor, note="v3 by the editor")
    found = contributors.revision_contributors(plan, version=plan.current_version, submitter_id=editor.pk)
    assert {owner.pk, editor.pk, reviewer2.pk} <= set(found.people)
    assert reviewer.pk not in found and bcp_admin.pk not in found
    assert set(services.eligible_reviewers(plan, actor=editor)) == {reviewer, bcp_admin}


def test_the_reported_case_an_admin_cannot_approve_what_they_wrote(client, plan, owner, editor, reviewer, bcp_admin,
                                                                  hooks):
    """The administrator edits the plan, a colleague saves the revision and submits it to the administrator."""
    plan = _approved_then_new_revision(plan, owner, reviewer)
    plan_section_update(plan=plan, section_key="overview", values={"purpose": "The admin's text", "scope": ""},
                        actor=bcp_admin, expected_revision=None)
    revision_save(plan=plan, actor=editor, note="Saved as it is")
    with pytest.raises(ServiceError, match="Nothing has changed since version 2"):
        revision_save(plan=refresh(plan), actor=editor, note="Saved again, unchanged")
    with pytest.raises(ServiceError, match="Bcpadmin changed the Plan overview section since version 1 was approved"):
        submit(plan, editor, bcp_admin)
    review = assigned(plan, reviewer=bcp_admin, submitter=editor)
    client.force_login(bcp_admin)
    response = client.post(reverse("reviews:approve", args=[review.pk]), follow=True)
    assert messages_of(response) == [
        "You changed the Plan overview section since version 1 was approved, so you cannot approve it."
    ]
    _still_undecided(review)


def test_when_everyone_contributed_the_submit_page_says_so(client, plan, owner, editor, reviewer, reviewer2,
                                                           bcp_admin):
    for person in (reviewer, reviewer2, bcp_admin):
        contact_save(plan=plan, actor=person, expected_revision=None, values={"name": f"Contact of {person}"})
    version_create(plan=plan, actor=editor, note="Everyone's contacts")
    assert list(services.eligible_reviewers(plan, actor=editor)) == []
    client.force_login(editor)
    message = "Everyone who can review has contributed to this revision; ask a BCP Admin to add a reviewer."
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert message in page and 'name="reviewers"' not in page
    assert message in client.get(plan.get_absolute_url()).content.decode()


def test_with_no_reviewers_at_all_the_submit_page_says_the_role_is_missing(client, plan, editor):
    client.force_login(editor)
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert "Nobody in your organisation can review this plan yet" in page
    assert "Everyone who can review has contributed" not in page


# --- an unchanged revision ----------------------------------------------------------------------


def _fill(plan, actor, **maintenance):
    plan_section_update(plan=plan, section_key="overview", values={"purpose": "Keep payroll running", "scope": ""},
                        actor=actor, expected_revision=None)
    if maintenance:
        plan_section_update(plan=plan, section_key="maintenance", values={"review_cadence": "annually", **maintenance},
                            actor=actor, expected_revision=None)
    return revision_save(plan=plan, actor=actor, note="Filled in")


def test_an_unchanged_revision_is_refused(plan, owner):
    _fill(plan, owner)
    with pytest.raises(ServiceError) as exc:
        revision_save(plan=refresh(plan), actor=owner, note="Again")
    assert exc.value.message == "Nothing has changed since version 2, so there is no new revision to save."
    assert exc.value.code == "unchanged"
    assert plan.versions.count() == 2


def test_a_change_undone_is_no_change(plan, owner):
    _fill(plan, owner)
    contact = contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Temp"})
    contact_delete(plan=plan, actor=owner, expected_revision=None, contact_id=contact.pk)
    with pytest.raises(ServiceError, match="Nothing has changed since version 2"):
        revision_save(plan=refresh(plan), actor=owner, note="Added and removed Temp")
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Kept"})
    assert revision_save(plan=refresh(plan), actor=owner, note="Added Kept").version_number == 3


def test_an_unchanged_revision_of_an_approved_plan_leaves_it_approved(plan, owner, reviewer, hooks):
    _fill(plan, owner)
    approve(plan, owner, reviewer)
    before = list(Audit.objects.filter(plan=plan).values_list("id", flat=True))
    with pytest.raises(ServiceError, match="Nothing has changed since version 2"):
        revision_save(plan=plan, actor=owner, note="Yearly re-approval")
    plan = refresh(plan)
    assert plan.status == Plan.Status.APPROVED and plan.versions.count() == 2
    assert list(Audit.objects.filter(plan=plan).values_list("id", flat=True)) == before  # no "revision started"


def test_the_save_revision_page_says_nothing_changed(client, plan, owner):
    _fill(plan, owner)
    client.force_login(owner)
    response = client.post(reverse("plans:version_create", args=[plan.pk]),
                           {"note": "Again", "edit_revision": refresh(plan).edit_revision})
    assert response.status_code == 200
    assert "Nothing has changed since version 2" in response.content.decode()
    assert plan.versions.count() == 2


# --- periodic re-confirmation ---------------------------------------------------------------------


def _approved_with_review_date(plan, owner, reviewer, *, review_in_days: int, approved_days_ago: int):
    """Version 2, whose next review date is `review_in_days` from today, approved `approved_days_ago` days ago."""
    review_on = timezone.localdate() + timedelta(days=review_in_days)
    _fill(plan, owner, next_review=review_on.isoformat())
    approve(plan, owner, reviewer)
    time_passes(plan, approved_days_ago)
    return refresh(plan)


def test_periodic_reconfirmation_end_to_end(client, plan, owner, reviewer, reviewer2, hooks,
                                            django_capture_on_commit_callbacks, mailoutbox):
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=-30, approved_days_ago=400)
    hooks.clear()  # the first approval queued its links with it
    first_approved_at = plan.approved_at_utc
    assert contributors.reconfirmation_due(plan)

    client.force_login(owner)
    assert "Re-confirm version 2 unchanged" in client.get(plan.get_absolute_url()).content.decode()
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert "Re-confirm version 2 unchanged" in page
    assert offered(page) == ["Reviewer (reviewer)", "Reviewer2 (reviewer2)"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reviews:submit", args=[plan.pk]), {"reviewers": "reviewer2"}, follow=True)
    assert messages_of(response) == ["Submitted version 2 for re-confirmation by Reviewer2."]
    assert mailoutbox[-1].subject == "Re-confirmation requested: Head office plan v2"

    plan = refresh(plan)
    assert plan.status == Plan.Status.IN_REVIEW and plan.approved_version.version_number == 2
    review = Review.objects.get(plan=plan, reviewer_user=reviewer2)
    assert (review.version_id, review.round_number) == (plan.approved_version_id, 2)
    submitted = Audit.objects.get(plan=plan, action="reconfirmation_submitted")
    assert submitted.actor_user == owner
    assert submitted.details_json == {"from": "approved", "to": "in_review", "version": 2, "round": 2,
                                      "reviewers": ["reviewer2"]}

    client.force_login(reviewer2)
    page = client.get(reverse("reviews:review_detail", args=[review.pk])).content.decode()
    assert "re-confirmation: unchanged since version 2 was approved" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reviews:approve", args=[review.pk]), follow=True)
    assert messages_of(response) == ["Approved. Every reviewer has approved: version 2 is now the approved plan."]

    plan = refresh(plan)
    assert plan.status == Plan.Status.APPROVED
    assert plan.approved_version.version_number == 2 and plan.versions.count() == 2  # the same version
    assert plan.approved_at_utc > first_approved_at
    approvals = list(Audit.objects.filter(plan=plan, action="plan_approved").order_by("id"))
    assert [a.details_json.get("reconfirmed", False) for a in approvals] == [False, True]
    assert approvals[-1].actor_user == reviewer2
    assert approvals[-1].details_json == {"from": "in_review", "to": "approved", "version": 2, "round": 2,
                                          "reconfirmed": True}
    assert hooks == []  # exports and acknowledgement links were issued at the first approval
    assert not contributors.reconfirmation_due(plan)  # the review date is met; the next is in 12 months


def test_reconfirmation_is_refused_before_the_review_date(client, plan, owner, reviewer, reviewer2, hooks):
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=20, approved_days_ago=10)
    assert not contributors.reconfirmation_due(plan)
    due_on = timezone.localdate() + timedelta(days=20)
    with pytest.raises(ServiceError) as exc:
        services.plan_reconfirm(plan=plan, actor=owner, reviewers=[reviewer2])
    assert exc.value.code == "not_due"
    assert exc.value.message.startswith(f"Version 2 is not due for review until {due_on:%d %B %Y}")
    client.force_login(owner)
    page = client.get(reverse("reviews:submit", args=[plan.pk])).content.decode()
    assert "Re-confirm version 2 unchanged" not in page and 'name="reviewers"' not in page
    assert "Re-confirm version 2 unchanged" not in client.get(plan.get_absolute_url()).content.decode()
    assert refresh(plan).status == Plan.Status.APPROVED


def test_without_a_review_date_reconfirmation_is_due_twelve_months_after_approval(plan, owner, reviewer, hooks):
    _fill(plan, owner)
    approve(plan, owner, reviewer)
    time_passes(plan, 300)
    assert not contributors.reconfirmation_due(plan)
    time_passes(plan, 70)
    assert contributors.reconfirmation_due(plan)


def test_a_changed_plan_is_not_reconfirmed(plan, owner, reviewer, reviewer2, hooks):
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=-1, approved_days_ago=30)
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "New contact"})
    assert not contributors.reconfirmation_due(refresh(plan))
    with pytest.raises(ServiceError, match="Only an approved plan can be re-confirmed; this plan is draft."):
        services.plan_reconfirm(plan=plan, actor=owner, reviewers=[reviewer2])


def test_the_contributors_of_the_version_cannot_reconfirm_it(plan, owner, editor, reviewer, reviewer2, bcp_admin,
                                                             hooks):
    contact_save(plan=plan, actor=bcp_admin, expected_revision=None, values={"name": "Alice Adams"})
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=-1, approved_days_ago=30)
    # The original approver may re-confirm; who wrote the version may not.
    assert set(services.eligible_reviewers(plan, actor=editor)) == {reviewer, reviewer2}
    with pytest.raises(ServiceError, match="Bcpadmin changed the contacts since the plan was created"):
        services.plan_reconfirm(plan=plan, actor=editor, reviewers=[bcp_admin])


def test_withdrawing_a_reconfirmation_leaves_the_plan_approved(plan, owner, reviewer, reviewer2, hooks):
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=-1, approved_days_ago=30)
    approved_at = plan.approved_at_utc
    (review,) = services.plan_reconfirm(plan=plan, actor=owner, reviewers=[reviewer2])
    services.plan_withdraw(plan=plan, actor=owner)
    plan = refresh(plan)
    assert plan.status == Plan.Status.APPROVED and plan.approved_at_utc == approved_at
    assert Audit.objects.filter(plan=plan, action="review_withdrawn").get().details_json["to"] == "approved"
    review.refresh_from_db()
    assert review.status == Review.Status.CANCELLED


def test_changes_requested_on_a_reconfirmation_send_the_plan_back_to_draft(plan, owner, reviewer, reviewer2, hooks):
    plan = _approved_with_review_date(plan, owner, reviewer, review_in_days=-1, approved_days_ago=30)
    (review,) = services.plan_reconfirm(plan=plan, actor=owner, reviewers=[reviewer2])
    services.review_request_changes(review=review, actor=reviewer2, notes="The call tree is out of date.")
    plan = refresh(plan)
    assert plan.status == Plan.Status.DRAFT and plan.approved_version.version_number == 2  # still readable


@pytest.mark.parametrize("approved, review_date, due", [
    ("2024-02-29", None, "2025-02-28"),            # no review date: 12 months on
    ("2024-03-10", "2024-09-01", "2024-09-01"),    # the review date, after the approval
    ("2024-03-10", "2024-01-01", "2025-03-10"),    # a date the approval already met: 12 months on
])
def test_when_reconfirmation_is_due(plan, approved, review_date, due):
    from datetime import date, datetime, time

    plan.approved_at_utc = timezone.make_aware(datetime.combine(date.fromisoformat(approved), time(12)))
    content = {"maintenance": {"next_review": review_date}, "contacts": []}
    version = PlanVersion(plan=plan, template=plan.template, content_json=content)
    assert contributors.reconfirmation_due_on(plan, version) == date.fromisoformat(due)
