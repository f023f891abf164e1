"""Forms of the exercise and finding pages: plan an exercise, hold it, record its results, findings."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .exercises import MAX_OBJECTIVES, RecoveryRow
from .forms import DurationMinutesField
from .models import Exercise, ExerciseObjective, Finding
from .person_search import PeopleField, PersonField
from .submissions import SubmissionTokenField

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)


class DayInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _day(value: dt.date | None) -> dt.date | None:
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError("Give a day between %(first)s and %(last)s.", code="out_of_range",
                              params={"first": f"{FIRST_DAY:%d %b %Y}", "last": f"{LAST_DAY:%d %b %Y}"})
    return value


class ExerciseForm(forms.Form):
    """What an exercise is: its title, type, day, scenario, objectives and who takes part."""

    title = forms.CharField(max_length=255, help_text='For example "Ransomware tabletop, spring".')
    exercise_type = forms.ChoiceField(label="Type", choices=Exercise.Type.choices)
    scheduled_on = forms.DateField(label="Planned for", widget=DayInput)
    scenario = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="What happens in the exercise: the disruption the team responds to.")
    objectives = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the exercise must show, one objective per line; each gets a result once it is held.",
    )
    facilitator = PersonField(required=False, help_text="Who runs the exercise.")
    participants = PeopleField(required=False, label="Participants from the organisation")
    external_participants = forms.CharField(
        label="Participants from outside", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Named people from outside the organisation (suppliers, emergency services), one per line.",
    )

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].org_id = org_id
        self.fields["participants"].org_id = org_id

    @staticmethod
    def initial_for(exercise: Exercise) -> dict:
        """The form's values for an existing exercise (two queries: objectives, participants)."""
        return {
            "title": exercise.title, "exercise_type": exercise.exercise_type, "scheduled_on": exercise.scheduled_on,
            "scenario": exercise.scenario, "facilitator": exercise.facilitator_user,
            "objectives": "\n".join(exercise.objectives.order_by("position").values_list("text", flat=True)),
            "participants": [row.user for row in exercise.participant_rows.select_related("user")],
            "external_participants": exercise.external_participants,
        }

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError("Give the exercise a title.", code="required")
        return title

    def clean_scheduled_on(self):
        return _day(self.cleaned_data["scheduled_on"])

    def clean_objectives(self):
        lines = [" ".join(line.split()) for line in self.cleaned_data["objectives"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > MAX_OBJECTIVES:
            raise ValidationError("An exercise has at most %(max)s objectives.", code="too_many",
                                  params={"max": MAX_OBJECTIVES})
        if len(set(lines)) != len(lines):
            raise ValidationError("Each objective once, please: two lines say the same.", code="duplicate")
        return lines

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {"title": data["title"], "exercise_type": data["exercise_type"], "scheduled_on": data["scheduled_on"],
                "scenario": data["scenario"], "facilitator_user": data["facilitator"],
                "external_participants": data["external_participants"]}


class ExerciseCreateForm(ExerciseForm):
    submission_token = SubmissionTokenField()  # a double click plans one exercise (plans.submissions)


class HoldForm(forms.Form):
    held_on = forms.DateField(label="Held on", widget=DayInput, help_text="The day the exercise took place.")

    def clean_held_on(self):
        day = _day(self.cleaned_data["held_on"])
        if day > timezone.localdate():
            raise ValidationError("An exercise cannot be recorded as held on a day still to come.", code="future")
        return day


class ResultsForm(forms.Form):
    """Each objective's result, the recovery time achieved per critical process of the version exercised,
    and what happened. Field names carry the objective's id and the process's snapshot id."""

    summary = forms.CharField(
        label="What happened", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="How the exercise went and the lessons learned: the after-action report opens with it.",
    )

    def __init__(self, *args, objectives: list[ExerciseObjective], processes: list[RecoveryRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.objective_rows, self.process_rows = [], []
        for objective in objectives:
            result = f"objective_{objective.pk}"
            self.fields[result] = forms.ChoiceField(
                label=objective.text, required=False, choices=[("", "Not recorded"), *ExerciseObjective.Result.choices],
                initial=objective.result,
            )
            self.fields[f"{result}_notes"] = forms.CharField(
                label="Notes", required=False, max_length=5000, initial=objective.notes,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.objective_rows.append((objective, result))
        for row in processes:
            name = f"process_{row.process_ref}"
            self.fields[name] = DurationMinutesField(
                label=f"{row.name}: recovery time achieved", initial=row.achieved_minutes,
                help_text=f"RTO {row.rto}, MTPD {row.mtpd} in version exercised. Empty: not exercised.",
            )
            self.fields[f"{name}_notes"] = forms.CharField(
                label="Notes", required=False, max_length=5000, initial=row.notes,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.process_rows.append((row, name))

    def grouped(self) -> dict:
        """Bound fields in the order the page shows them: objectives, then processes."""
        return {
            "objectives": [(objective, self[name], self[f"{name}_notes"]) for objective, name in self.objective_rows],
            "processes": [(row, self[name], self[f"{name}_notes"]) for row, name in self.process_rows],
        }

    def objective_results(self) -> dict[int, tuple[str, str]]:
        return {objective.pk: (self.cleaned_data[name], self.cleaned_data[f"{name}_notes"])
                for objective, name in self.objective_rows}

    def recovery_values(self) -> dict[int, tuple[int | None, str]]:
        return {row.process_ref: (self.cleaned_data[name], self.cleaned_data[f"{name}_notes"])
                for row, name in self.process_rows}


class FindingForm(forms.Form):
    description = forms.CharField(
        label="Finding", max_length=10000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What went wrong or could be better, and what should change.",
    )
    severity = forms.ChoiceField(choices=Finding.Severity.choices, initial=Finding.Severity.MEDIUM)
    owner = PersonField(help_text="Who sees it through.")
    due_on = forms.DateField(label="Due on", widget=DayInput)

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].org_id = org_id

    def clean_description(self):
        text = self.cleaned_data["description"].strip()
        if not text:
            raise ValidationError("Describe the finding.", code="required")
        return text

    def clean_due_on(self):
        return _day(self.cleaned_data["due_on"])


class FindingCreateForm(FindingForm):
    submission_token = SubmissionTokenField()  # a double click raises one finding (plans.submissions)


class FindingEditForm(FindingForm):
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in (Finding.Status.OPEN, Finding.Status.IN_PROGRESS, Finding.Status.DONE)],
        help_text="Done closes it for good. A finding that needs a plan change closes itself when the revision "
                  "that addresses it is approved: tick it when you save that revision.",
    )

    @staticmethod
    def initial_for(finding: Finding) -> dict:
        return {"description": finding.description, "severity": finding.severity, "owner": finding.owner_user,
                "due_on": finding.due_on, "status": finding.status}


class AcceptRiskForm(forms.Form):
    reason = forms.CharField(
        label="Why the risk is accepted", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with the finding and in the audit trail.",
        error_messages={"required": "Say why the risk is accepted."},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Say why the risk is accepted.", code="required")
        return reason
