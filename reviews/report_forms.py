"""The forms and lists of the files built on request (reviews.report_views): on the dashboard and the
evidence page."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from .models import ReportRequest

LISTED = 10  # requests listed on the dashboard and the evidence page
DAY = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class KpiReportForm(forms.Form):
    period_from = forms.DateField(label="From", widget=DAY)
    period_to = forms.DateField(label="To", widget=DAY)

    def clean(self):
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and start > end:
            self.add_error("period_to", "The end of the period must be on or after its start.")
        if end and end > timezone.localdate():
            self.add_error("period_to", "A report covers days that have passed: choose today or earlier.")
        return data


class EvidencePackForm(forms.Form):
    version = forms.TypedChoiceField(label="Version", coerce=int, choices=())

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(v.version_number, f"Version {v.version_number}") for v in versions]


def pack_versions(plan):
    """The versions a pack may be built of, newest first (at most 50: older ones through the admin)."""
    return list(plan.versions.only("id", "plan", "version_number").order_by("-version_number")[:50])


def recent_requests(*, org=None, plan=None, kind: str) -> list[ReportRequest]:
    scope = ReportRequest.objects.filter(kind=kind)
    scope = scope.filter(plan=plan) if plan is not None else scope.filter(org=org)
    return list(scope.select_related("issued_file", "requested_by_user", "version")
                .order_by("-requested_at_utc", "-id")[:LISTED])
