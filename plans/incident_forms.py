"""Forms of the incident pages: declare, activate a plan, the one-line timeline entry, a process's recovery,
stand down, the post-incident review and its findings."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from bcp_site.limits import datetime_problem

from .exercise_forms import FindingCreateForm
from .incidents import MAX_EVENT_TEXT
from .models import Incident, IncidentEvent, Plan
from .submissions import SubmissionTokenField


def activatable_plans(org_id):
    """The organisation's plans that can be activated (not archived, with a version), by title: one query."""
    return (Plan.objects.filter(org_id=org_id, current_version__isnull=False).exclude(status=Plan.Status.ARCHIVED)
            .only("id", "title", "org_id").order_by("title", "id"))


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.title


class IncidentForm(forms.Form):
    """Declare an incident (and, optionally, activate a plan at once)."""

    title = forms.CharField(max_length=255, help_text='What is happening, in a few words: "Head office flooded".')
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.HIGH)
    description = forms.CharField(label="What is happening", required=False, max_length=10000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    plan = PlanChoiceField(queryset=Plan.objects.none(), required=False, label="Activate a plan",
                           empty_label="Not now",
                           help_text="The plan is activated at its approved version (its newest one if it has "
                                     "none). More plans can be activated from the incident's page.")
    submission_token = SubmissionTokenField()  # a double click declares one incident (plans.submissions)

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = activatable_plans(org_id)

    def clean_title(self):
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError("Give the incident a title.", code="required")
        return title


class ActivateForm(forms.Form):
    """Activate one more plan: `plans`, those that can be (read once by the caller: `activatable_plans`)."""

    plan = forms.TypedChoiceField(label="Plan", coerce=int)

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {plan.pk: plan for plan in plans}
        self.fields["plan"].choices = [(plan.pk, plan.title) for plan in plans]

    def chosen_plan(self) -> Plan:
        return self.plans[self.cleaned_data["plan"]]


class EventForm(forms.Form):
    """The one-line timeline entry."""

    kind = forms.ChoiceField(choices=IncidentEvent.Kind.choices, initial=IncidentEvent.Kind.UPDATE)
    text = forms.CharField(label="Entry", max_length=MAX_EVENT_TEXT,
                           widget=forms.TextInput(attrs={"placeholder": "What happened, was decided or was said",
                                                         "autocomplete": "off"}))
    submission_token = SubmissionTokenField()  # a double tap adds one entry (plans.submissions)

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError("Write the entry.", code="required")
        return text


class MomentInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class RecoveryForm(forms.Form):
    """A process disrupted since, or recovered at, a time (blank: now)."""

    DISRUPTED, RECOVERED = "disrupted", "recovered"

    activation = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    process = forms.IntegerField(widget=forms.HiddenInput, min_value=-(2 ** 31), max_value=2 ** 31 - 1)
    action = forms.ChoiceField(choices=[(DISRUPTED, "Disrupted"), (RECOVERED, "Recovered")], widget=forms.HiddenInput)
    at = forms.DateTimeField(label="At", required=False, widget=MomentInput,
                             input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
                             help_text="Blank: now.")
    notes = forms.CharField(required=False, max_length=2000)

    def clean_at(self):
        value = self.cleaned_data["at"]
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        problem = datetime_problem(value)
        if problem:
            raise ValidationError("The time %(problem)s.", code="out_of_range", params={"problem": problem})
        return value


class StandDownForm(forms.Form):
    note = forms.CharField(label="Why now", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Added to the timeline: what was restored, what is still to do.")


class ReviewForm(forms.Form):
    summary = forms.CharField(
        label="Post-incident review", max_length=20000, widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What happened, what worked, what did not, and what must change. Raise a finding for each "
                  "change someone must see through.",
        error_messages={"required": "Write the review."},
    )

    def clean_summary(self):
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise ValidationError("Write the review.", code="required")
        return summary


class IncidentFindingForm(FindingCreateForm):
    """A finding of the post-incident review, against one of the plans the incident activated."""

    plan = PlanChoiceField(queryset=Plan.objects.none(), empty_label=None,
                           help_text="The plan that must change (one the incident activated).")

    field_order = ["plan", "description", "severity", "owner", "due_on"]

    def __init__(self, *args, org_id, plans, **kwargs):
        super().__init__(*args, org_id=org_id, **kwargs)
        self.fields["plan"].queryset = plans
