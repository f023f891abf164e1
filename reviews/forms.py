"""Forms of the review workflow: choose reviewers, and the notes of a request for changes."""

from django import forms

from plans.person_search import PeopleField, person_label

SUGGESTED_REVIEWERS = 10  # eligible reviewers named beside the search field


def reviewer_suggestions(eligible) -> tuple[list[str], bool]:
    """Labels of the first few eligible reviewers by name, and whether there are more (one query of
    at most SUGGESTED_REVIEWERS + 1 rows): shown beside the field so the submitter knows whom to
    type. No labels: nobody may review."""
    people = list(eligible.only("id", "username", "first_name", "last_name")[:SUGGESTED_REVIEWERS + 1])
    return [person_label(p) for p in people[:SUGGESTED_REVIEWERS]], len(people) > SUGGESTED_REVIEWERS


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
