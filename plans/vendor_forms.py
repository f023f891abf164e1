"""Forms of the vendor register and of a plan's collaborators."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .exercise_forms import DayInput, _day
from .forms import DurationMinutesField
from .person_search import PersonField
from .vendor_models import PlanCollaborator, Vendor
from .vendors import GAP, STALE


class VendorForm(forms.ModelForm):
    """A vendor of the register: who they are, what they provide, what they committed to, their evidence."""

    recovery_minutes = DurationMinutesField(
        label="Committed recovery time",
        help_text='How soon the vendor committed to restore its service after a disruption: "4h", "2d" or minutes. '
                  "A process whose RTO is shorter is flagged.",
    )
    evidence_on = forms.DateField(
        label="Last continuity evidence received", required=False, widget=DayInput,
        help_text="The day the latest evidence of the vendor's continuity arrived (a certificate, a test report). "
                  "Older than 365 days is flagged.",
    )

    class Meta:
        model = Vendor
        fields = ["name", "service", "criticality", "recovery_minutes", "evidence_on", "contract_reference",
                  "contacts"]
        widgets = {"contacts": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Give the vendor a name.", code="required")
        return name

    def clean_evidence_on(self):
        day = _day(self.cleaned_data.get("evidence_on"))
        if day is not None and day > timezone.localdate():
            raise ValidationError("Evidence cannot arrive in the future: give the day it was received.",
                                  code="future")
        return day

    def service_values(self) -> dict:
        return {field: self.cleaned_data.get(field) for field in self.Meta.fields}


class VendorFilterForm(forms.Form):
    """The vendor list's filters (GET); a value that does not parse is ignored."""

    q = forms.CharField(label="Name contains", required=False, max_length=255,
                        widget=forms.TextInput(attrs={"type": "search"}))
    criticality = forms.ChoiceField(label="Criticality", required=False,
                                    choices=[("", "Any criticality"), *Vendor.Criticality.choices])
    flag = forms.ChoiceField(label="Warnings", required=False, choices=[
        ("", "Any"), (GAP, "Recovers after a process's RTO"), (STALE, "Evidence missing or older than 365 days"),
    ])

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"search": (data.get("q") or "").strip(), "criticality": data.get("criticality") or "",
                "flag": data.get("flag") or ""}


class CollaboratorForm(forms.Form):
    """A collaborator: the person, their role and, for a section owner, the sections they look after."""

    person = PersonField(help_text="A member of the organisation: type a name, username or email.")
    role = forms.ChoiceField(choices=PlanCollaborator.Role.choices, help_text=(
        "Co-author: named on the plan. Section owner: emailed when their sections change and when the review date "
        "approaches. Default reviewer: preselected when the plan is submitted, if they may review it. "
        "Roles grant no rights."))
    sections = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="For a section owner: the sections they own.",
    )

    def __init__(self, *args, plan, sections: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].org_id = plan.org_id
        self.fields["sections"].choices = [(s["key"], s["title"]) for s in sections]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == PlanCollaborator.Role.SECTION_OWNER and not cleaned.get("sections"):
            self.add_error("sections", ValidationError("Choose the sections this person owns.", code="required"))
        elif cleaned.get("role") and cleaned.get("role") != PlanCollaborator.Role.SECTION_OWNER:
            cleaned["sections"] = []
        return cleaned
