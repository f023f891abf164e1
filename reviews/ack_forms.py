"""Forms of the acknowledgement feature: distribution, acknowledge button, new-link request."""

from django import forms

from bcp_site.limits import ID_MAX
from plans.person_search import PeopleField

from .distribution import distribution_groups


class DistributionForm(forms.Form):
    """Who must acknowledge the plan: everyone in the organisation, or chosen people and groups.

    People are typed in a search field (never a list of everyone) and added to those already
    on the list; listed people and groups are removed one by one (`RemoveRowForm`).
    """

    EVERYONE = "everyone"
    CHOSEN = "chosen"

    audience = forms.ChoiceField(
        label="Who must acknowledge this plan",
        choices=[(EVERYONE, "Everyone in the organisation"), (CHOSEN, "Only the people and groups chosen")],
        widget=forms.RadioSelect,
    )
    users = PeopleField(
        label="Add people", required=False,
        help_text="One person per line (name, username or email): added to the people already listed.",
    )
    groups = forms.ModelMultipleChoiceField(
        label="Add groups", queryset=distribution_groups(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Active members of the organisation who are in a chosen group.",
    )

    def __init__(self, *args, has_rows: bool, org_id, **kwargs):
        kwargs.setdefault("initial", {"audience": self.CHOSEN if has_rows else self.EVERYONE})
        super().__init__(*args, **kwargs)
        self.has_rows = has_rows
        self.fields["users"].org_id = org_id
        self.fields["groups"].queryset = distribution_groups()
        if self.is_bound and self.data.get("audience") == self.EVERYONE:
            # Everyone: whatever was typed for people and groups is not used, so not checked either.
            self.fields["users"].disabled = self.fields["groups"].disabled = True

    def clean(self):
        data = super().clean()
        if data.get("audience") == self.EVERYONE:
            data["users"], data["groups"] = [], []
        elif (data.get("audience") == self.CHOSEN and not self.has_rows and "users" not in self.errors
              and not data.get("users") and not data.get("groups")):
            raise forms.ValidationError(
                "Choose at least one person or group, or choose everyone in the organisation.", code="empty"
            )
        return data


class RemoveRowForm(forms.Form):
    """The Remove button of one distribution row."""

    remove = forms.IntegerField(min_value=1, max_value=ID_MAX)


class PlanAckForm(forms.Form):
    """The acknowledge button on the plan page; carries the version the person was shown."""

    version_number = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class NewLinkForm(forms.Form):
    """Ask for a fresh acknowledgement link after the old one expired."""

    email = forms.EmailField(
        label="Your email address", max_length=254,
        help_text="If this address is on the plan's distribution list, a new link is sent to it.",
    )
