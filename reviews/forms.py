"""Forms of the review workflow: choose reviewers, and the notes of a request for changes."""

from django import forms


class ReviewerChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.get_username()})" if name else obj.get_username()


class SubmitForReviewForm(forms.Form):
    """Submit a plan: one or more reviewers, chosen from the eligible ones."""

    reviewers = ReviewerChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label="Reviewers",
        help_text="Every reviewer you choose must approve before the plan is approved.",
        error_messages={"required": "Choose at least one reviewer."},
    )

    def __init__(self, *args, eligible, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = eligible


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
