"""Forms of the acknowledgement feature: distribution, acknowledge button, new-link request."""

from django import forms
from django.contrib.auth import get_user_model

from .distribution import distribution_groups


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name()
        return f"{name} ({obj.get_username()})" if name else obj.get_username()


class DistributionForm(forms.Form):
    """Who must acknowledge the plan: everyone in the organisation, or chosen people and groups."""

    EVERYONE = "everyone"
    CHOSEN = "chosen"

    audience = forms.ChoiceField(
        label="Who must acknowledge this plan",
        choices=[(EVERYONE, "Everyone in the organisation"), (CHOSEN, "Only the people and groups chosen below")],
        widget=forms.RadioSelect,
    )
    users = UserChoiceField(
        label="People", queryset=get_user_model().objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    groups = forms.ModelMultipleChoiceField(
        label="Groups", queryset=distribution_groups(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Active members of the organisation who are in a chosen group.",
    )

    def __init__(self, *args, plan, rows=(), **kwargs):
        rows = list(rows)
        kwargs.setdefault("initial", {
            "audience": self.CHOSEN if rows else self.EVERYONE,
            "users": [r.user_id for r in rows if r.user_id],
            "groups": [r.group_id for r in rows if r.group_id],
        })
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = (
            get_user_model().objects.filter(membership__organisation_id=plan.org_id, is_active=True)
            .order_by("last_name", "first_name", "username")
        )
        self.fields["groups"].queryset = distribution_groups()

    def clean(self):
        data = super().clean()
        if data.get("audience") == self.EVERYONE:
            data["users"], data["groups"] = [], []
        elif data.get("audience") == self.CHOSEN and not data.get("users") and not data.get("groups"):
            raise forms.ValidationError(
                "Choose at least one person or group, or choose everyone in the organisation.", code="empty"
            )
        return data


class PlanAckForm(forms.Form):
    """The acknowledge button on the plan page; carries the version the person was shown."""

    version_number = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class NewLinkForm(forms.Form):
    """Ask for a fresh acknowledgement link after the old one expired."""

    email = forms.EmailField(
        label="Your email address", max_length=254,
        help_text="If this address is on the plan's distribution list, a new link is sent to it.",
    )
