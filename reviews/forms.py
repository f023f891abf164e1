"""Forms of the review workflow: choose reviewers, and the notes of a request for changes."""

from django import forms
from django.contrib.auth import get_user_model

from bcp_site.text import display_name
from plans.collaborators import default_reviewer_ids
from plans.person_search import PeopleField, person_label

from .contributors import revision_contributors

SUGGESTED_REVIEWERS = 10  # eligible reviewers named beside the search field


def reviewer_suggestions(eligible) -> tuple[list[str], bool]:
    """Labels of the first few eligible reviewers by name, and whether there are more (one query of
    at most SUGGESTED_REVIEWERS + 1 rows): shown beside the field so the submitter knows whom to
    type. No labels: nobody may review."""
    people = list(eligible.only("id", "username", "first_name", "last_name")[:SUGGESTED_REVIEWERS + 1])
    return [person_label(p) for p in people[:SUGGESTED_REVIEWERS]], len(people) > SUGGESTED_REVIEWERS


def default_reviewers(plan, *, eligible, version, actor, reviewers) -> tuple[list, list[str]]:
    """The plan's default reviewers (`plans.collaborators`) the submit form preselects: those `eligible` may
    review this revision, and why each other one is not preselected (sentences naming them).

    `reviewers`: the organisation's reviewers (`reviews.services.organisation_reviewers`). A role is a label:
    a default reviewer who contributed to the revision, submits it, or may not approve is left out. One
    query without default reviewers; up to five more to name why some are left out.
    """
    ids = default_reviewer_ids(plan)
    if not ids:
        return [], []
    chosen = list(eligible.filter(pk__in=ids))
    left_out = [pk for pk in ids if pk not in {u.pk for u in chosen}]
    if not left_out:
        return sorted(chosen, key=lambda u: ids.index(u.pk)), []
    people = {u.pk: u for u in get_user_model().objects.filter(pk__in=left_out)}
    may_approve = set(reviewers.filter(pk__in=left_out).values_list("pk", flat=True))
    found = revision_contributors(plan, version=version, submitter_id=actor.pk) if version is not None else None
    reasons = []
    for pk in left_out:
        person = people.get(pk)
        if person is None:
            continue
        if pk == actor.pk:
            reason = "you are submitting this revision, so you cannot review it."
        elif pk not in may_approve:
            reason = f"{display_name(person)}'s role does not allow approving plans."
        elif found is not None and pk in found:
            reason = found.refusal(person)
        else:
            reason = f"{display_name(person)} may not review this revision."
        reasons.append(f"Default reviewer not preselected: {reason}")
    return sorted(chosen, key=lambda u: ids.index(u.pk)), reasons


class SubmitForReviewForm(forms.Form):
    """Submit a plan: one or more reviewers, typed (and suggested) from the eligible ones.

    `eligible` is the four-eyes list (`reviews.services.eligible_reviewers`): anyone else typed
    is "nobody matches"; the submit service checks the rule again.
    """

    reviewers = PeopleField(
        label="Reviewers",
        help_text="One reviewer per line (name, username or email). Every reviewer you choose must approve "
                  "before the plan is approved.",
        error_messages={"required": "Choose at least one reviewer."},
    )

    def __init__(self, *args, eligible, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = eligible
        self.fields["reviewers"].org_id = org_id


class RequestChangesForm(forms.Form):
    notes = forms.CharField(
        label="What needs to change",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=10000,
        help_text="The editor sees these notes on the plan page.",
        error_messages={"required": "Notes are required when requesting changes."},
    )

    def clean_notes(self) -> str:
        notes = self.cleaned_data["notes"].strip()
        if not notes:
            raise forms.ValidationError("Notes are required when requesting changes.", code="required")
        return notes
