"""Forms of the plan pages: create a plan, contacts, processes, risks, resources, save a revision, list filters.

Every edit form carries the plan's `edit_revision` as it was when the form was opened;
the service refuses the save if someone else saved in between (see `plans.services`).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F

from bcp_site.text import display_name
from templates_app.models import Template
from templates_app.values import format_duration_input, format_minutes, parse_duration

from .models import Contact, Finding, Plan, Process, Resource, Risk, Vendor
from .person_search import PersonField
from .resources import quantities_parse, quantities_text
from .selectors import REVIEW_IN_DATE, REVIEW_OVERDUE
from .submissions import SubmissionTokenField
from .vendors import vendors_for_org


class EditRevisionForm(forms.Form):
    """The hidden "plan as I opened it" marker that every edit form posts back."""

    edit_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class DurationMinutesField(forms.Field):
    """A duration typed as "4h", "90m", "1d 2h" or a number of minutes; cleans to whole minutes."""

    default_error_messages = {
        "invalid": 'Enter a duration such as "4h", "90m", "2d" or a number of minutes.',
        "negative": "A duration cannot be negative.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "text")
        self.widget.attrs.setdefault("placeholder", "e.g. 4h, 90m or 240")

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return format_duration_input(value)
        return value

    def to_python(self, value):
        if value is None or str(value).strip() == "":
            return None
        try:  # within 0 .. 2**31-1 minutes, the INT columns (bcp_site.limits)
            minutes = parse_duration(value if isinstance(value, int) else str(value).strip())
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None
        if minutes < 0:
            raise ValidationError(self.error_messages["negative"], code="negative")
        return int(minutes)


class PlanCreateForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=Template.objects.none(), empty_label=None,
        help_text="The plan starts with this template's sections and default values.",
    )
    title = forms.CharField(max_length=255, help_text='For example "Head office business continuity plan".')
    owner = PersonField(help_text="The person who keeps this plan current: type a name, username or email.")
    submission_token = SubmissionTokenField()  # a double click creates one plan (plans.submissions)

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].org_id = org_id  # active members of the organisation
        # The organisation's own templates and the global ones; its own default first.
        self.fields["template"].queryset = Template.objects.offered_to(org_id).order_by(
            "-is_default", F("org").desc(nulls_last=True), "name", "version"
        )
        default = next((t for t in self.fields["template"].queryset if t.is_default), None)
        if default is not None and "template" not in self.initial:
            self.initial["template"] = default.pk

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError("Give the plan a title.", code="required")
        return title


class ContactForm(EditRevisionForm, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "role", "phone", "email", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"phone": "Include the country code, e.g. +44 20 7946 0000."}


class VendorChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, vendor):
        if vendor.recovery_minutes is None:
            return vendor.name
        return f"{vendor.name} (recovers in {format_minutes(vendor.recovery_minutes)})"


class ProcessForm(EditRevisionForm, forms.ModelForm):
    rto_minutes = DurationMinutesField(
        label="RTO (recovery time objective)",
        help_text='How soon the process must be running again after a disruption. "4h", "90m" or minutes.',
    )
    rpo_minutes = DurationMinutesField(
        label="RPO (recovery point objective)",
        help_text='How much data, measured in time, the process can afford to lose. "1h", "15m" or minutes.',
    )
    mtpd_minutes = DurationMinutesField(
        label="MTPD (maximum tolerable period of disruption)",
        help_text='How long the organisation can survive without this process. "2d", "8h" or minutes.',
    )
    dependencies = forms.CharField(
        label="Dependencies", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Systems, suppliers or people this process needs: one per line.",
    )
    depends_on_vendors = VendorChoiceField(
        label="Vendors it depends on", queryset=Vendor.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="From the organisation's vendor register. A vendor whose committed recovery time is longer "
                  "than this process's RTO is flagged.",
    )

    class Meta:
        model = Process
        fields = ["name", "description", "rto_minutes", "rpo_minutes", "mtpd_minutes", "impact_rating"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, org_id=None, **kwargs):
        """`org_id`: the plan's organisation, whose vendors are offered (None: no vendors offered)."""
        super().__init__(*args, **kwargs)
        if self.instance.pk and "dependencies" not in self.initial:
            self.initial["dependencies"] = "\n".join(str(d) for d in self.instance.dependencies_json or [])
        self.fields["depends_on_vendors"].queryset = vendors_for_org(org_id)
        if self.instance.pk and "depends_on_vendors" not in self.initial:
            self.initial["depends_on_vendors"] = list(self.instance.vendor_links.values_list("vendor_id", flat=True))

    def clean_dependencies(self):
        lines = (line.strip() for line in self.cleaned_data.get("dependencies", "").splitlines())
        seen: list[str] = []
        for line in lines:
            if line and line not in seen:
                seen.append(line)
        return seen

    def clean(self):
        cleaned = super().clean()
        rto, mtpd = cleaned.get("rto_minutes"), cleaned.get("mtpd_minutes")
        if rto is not None and mtpd is not None and rto > mtpd:
            self.add_error("rto_minutes", ValidationError(
                "The recovery time objective (%(rto)s) cannot be longer than the maximum tolerable period "
                "of disruption (%(mtpd)s): the process would come back after the organisation can no longer "
                "tolerate its loss.",
                code="rto_exceeds_mtpd", params={"rto": format_minutes(rto), "mtpd": format_minutes(mtpd)},
            ))
        return cleaned

    def service_values(self) -> dict:
        values = {f: self.cleaned_data.get(f) for f in self.Meta.fields}
        values["dependencies_json"] = self.cleaned_data.get("dependencies") or []
        if "depends_on_vendors" in self.fields:
            values["vendors"] = list(self.cleaned_data.get("depends_on_vendors") or [])
        return values


class ResourceForm(EditRevisionForm, forms.ModelForm):
    """A resource of a plan, with the quantities needed over time typed one per line."""

    quantities_needed = forms.CharField(
        label="Quantities needed over time", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text='One line per time: how long into the disruption, then how many. For example "0: 2", '
                  '"4h: 10", "1d: 25".',
    )

    class Meta:
        model = Resource
        fields = ["kind", "name", "process", "primary_source", "alternate_source", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "process": "The critical process it serves, if one (leave empty for the plan as a whole).",
            "primary_source": "Where it normally comes from.",
            "alternate_source": "Where it comes from if the primary source is lost.",
        }

    def __init__(self, *args, plan=None, **kwargs):
        """`plan`: the plan whose processes are offered (None: the admin's choices are kept)."""
        super().__init__(*args, **kwargs)
        if plan is not None:
            self.fields["process"].queryset = plan.processes.order_by("name", "id")
        if self.instance.pk and "quantities_needed" not in self.initial:
            self.initial["quantities_needed"] = quantities_text(self.instance.quantities.order_by("after_minutes"))

    def clean_quantities_needed(self):
        try:
            return quantities_parse(self.cleaned_data.get("quantities_needed") or "")
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None

    def service_values(self) -> dict:
        values = {f: self.cleaned_data.get(f) for f in self.Meta.fields}
        values["quantities"] = self.cleaned_data.get("quantities_needed") or []
        return values


class RiskForm(EditRevisionForm, forms.ModelForm):
    owner_user = forms.ModelChoiceField(queryset=None, required=False, label="Owner",
                                        help_text="Who watches this risk and its mitigation.")

    class Meta:
        model = Risk
        fields = ["threat", "likelihood", "impact", "mitigation", "owner_user"]
        widgets = {"mitigation": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "likelihood": "How likely the threat is to happen (1 rare to 5 almost certain).",
            "impact": "How bad it would be (1 insignificant to 5 severe). "
                      "The rating is worked out from likelihood x impact.",
        }

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_user"].queryset = members
        self.fields["owner_user"].label_from_instance = display_name

    def service_values(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in self.Meta.fields}


class FindingChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, finding):
        return f"{finding} (due {finding.due_on:%d %b %Y}, {finding.get_severity_display().lower()})"


class VersionCreateForm(EditRevisionForm):
    note = forms.CharField(
        label="Change note", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text="What changed in this revision, for the reviewers and the version history.",
    )
    findings = FindingChoiceField(
        label="Findings this revision addresses", queryset=Finding.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They close when this revision is approved. Ticks stay on later revisions until one is approved.",
    )
    submission_token = SubmissionTokenField()  # a double click saves one revision (plans.submissions)

    def __init__(self, *args, open_findings=None, **kwargs):
        """`open_findings`: the plan's open findings, offered as ticks (none: the field is left out)."""
        super().__init__(*args, **kwargs)
        if open_findings:
            self.fields["findings"].queryset = open_findings
        else:
            del self.fields["findings"]

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise ValidationError("Write a change note: say what changed in this revision.", code="required")
        return note


class PlanFilterForm(forms.Form):
    """The plan list's filters (GET). A bad status or search is ignored; an owner that matches
    nobody or several people is an error on the field (and the list shows no plans)."""

    q = forms.CharField(label="Title contains", required=False, max_length=255,
                        widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *Plan.Status.choices])
    owner = PersonField(label="Owner", required=False,
                        queryset=get_user_model().objects.all())  # former colleagues own plans too
    review_needed = forms.BooleanField(label="Review needed", required=False,
                                       help_text="A linked change happened after the last approval.")
    exercise_due = forms.BooleanField(label="Exercise due", required=False,
                                      help_text="Approved plans never exercised, or whose last exercise is older "
                                                "than their exercise interval.")
    review = forms.ChoiceField(label="Review date", required=False, choices=[
        ("", "Any review date"), (REVIEW_IN_DATE, "Approved, review date ahead"), (REVIEW_OVERDUE, "Review overdue"),
    ], help_text="Plans in use (not archived) with an approved version, by their next review date.")

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].org_id = org_id

    def filters(self) -> dict | None:
        """The filters to apply, or None when the owner typed could not be resolved."""
        if not self.is_bound:
            return {"status": "", "owner_id": None, "search": "", "review_needed": False, "exercise_due": False,
                    "review": ""}
        self.is_valid()
        if "owner" in self.errors:
            return None
        owner = self.cleaned_data.get("owner")
        return {"status": self.cleaned_data.get("status") or "", "owner_id": owner.pk if owner else None,
                "search": (self.cleaned_data.get("q") or "").strip(),
                "review_needed": bool(self.cleaned_data.get("review_needed")),
                "exercise_due": bool(self.cleaned_data.get("exercise_due")),
                "review": self.cleaned_data.get("review") or ""}


class SearchForm(forms.Form):
    """The words to find in the organisation's plans (plans.search); GET, so results can be linked."""

    q = forms.CharField(
        label="Search inside plans", required=False, max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. ransomware, Maria Lopez, IT"}),
        help_text="Titles, sections, contacts, critical processes with their dependencies, and risks, "
                  "as they stand in the plans now.",
    )


class TemplateChangeForm(forms.Form):
    """Choose another version of the plan's template; `confirm` is set once the preview was seen."""

    template = forms.ModelChoiceField(queryset=None, empty_label=None, label="Template version")
    edit_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = choices
