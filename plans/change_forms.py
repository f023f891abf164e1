"""Forms of the change-log and audit-trail pages: the audit filter and the admin upload."""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib
from datetime import date, timedelta
from pathlib import PurePosixPath

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from bcp_site.limits import day_start

from .audit_actions import audit_action_choices
from .models import Plan
from .person_search import PersonField
from .selectors import organisation_for

# Admin upload limits: a zip is read in memory, member by member, never extracted to disk.
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
ZIP_MAX_MEMBERS = 5000
ZIP_MAX_MEMBER_BYTES = 1024 * 1024
ZIP_MAX_TOTAL_BYTES = 100 * 1024 * 1024
# What a damaged zip raises, from its directory or from one member's compressed data
# (ValueError includes an undecodable member name; NotImplementedError an unknown compression).
ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError,
    NotImplementedError, ValueError, struct.error,
)


class AuditFilterForm(forms.Form):
    """Filter an audit trail by action, actor and an inclusive date range (local dates)."""

    action = forms.ChoiceField(required=False, label="Action")
    # A search field (plans.person_search): people who have left still appear in the trail.
    actor = PersonField(required=False, label="Actor", queryset=get_user_model().objects.all())
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}), help_text="inclusive"
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}), help_text="inclusive"
    )

    def __init__(self, *args, org_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *audit_action_choices()]
        self.fields["actor"].org_id = org_id

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_from", forms.ValidationError("Must be on or before the To date.", code="date_order"))
            self.add_error("date_to", forms.ValidationError("Must be on or after the From date.", code="date_order"))
        return data

    def filter(self, queryset: QuerySet) -> QuerySet:
        """Apply the valid filters to an Audit queryset (call after is_valid())."""
        data = self.cleaned_data
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("actor"):
            queryset = queryset.filter(actor_user=data["actor"])
        tz = timezone.get_current_timezone()
        # A day at the edge of the calendar (0001-01-01, 9999-12-31) has no bound on that side.
        start = day_start(data["date_from"], tz) if data.get("date_from") else None
        if start is not None:
            queryset = queryset.filter(at_utc__gte=start)
        end_day = data.get("date_to")
        end = day_start(end_day + timedelta(days=1), tz) if end_day and end_day < date.max else None
        if end is not None:
            queryset = queryset.filter(at_utc__lt=end)
        return queryset


class ChangeUploadForm(forms.Form):
    """Admin upload of change files: one `<guid>.json` or a zip of them."""

    file = forms.FileField(
        label="Change file",
        help_text="One <guid>.json change file, or a .zip of them (folders inside the zip are ignored).",
    )
    plan = forms.IntegerField(
        required=False, min_value=1, label="Also link to plan id",
        help_text="Optional: every change in the upload is linked to this plan too.",
    )
    strict = forms.BooleanField(
        required=False, label="Strict", help_text="Refuse files whose content_hash does not match (default: warn)."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_plan(self) -> Plan | None:
        pk = self.cleaned_data.get("plan")
        if pk is None:
            return None
        plans = Plan.objects.all()
        if not self.user.is_superuser:
            plans = plans.filter(org=organisation_for(self.user))
        found = plans.filter(pk=pk).first()
        if found is None:
            raise forms.ValidationError(f"No plan {pk} exists in your organisation.", code="unknown_plan")
        return found

    def clean_file(self) -> list[tuple[str, bytes]]:
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The upload is larger than {_size(UPLOAD_MAX_BYTES)}.", code="too_large"
            )
        name = PurePosixPath(upload.name).name
        if name.lower().endswith(".json"):
            return [(name, upload.read())]
        if name.lower().endswith(".zip"):
            return _zip_members(upload)
        raise forms.ValidationError("Upload a .json change file or a .zip of them.", code="bad_type")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n // (1024 * 1024)} MB"
    return f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


def _base(info: zipfile.ZipInfo) -> str:
    """A member's file name without any folder part (members are never written to disk)."""
    return PurePosixPath(info.filename.replace("\\", "/")).name


def _zip_members(upload) -> list[tuple[str, bytes]]:
    """The *.json members of a zip as (base name, bytes), read in memory within the limits."""
    try:
        archive = zipfile.ZipFile(upload)
        members = [
            info for info in archive.infolist()
            if not info.is_dir() and _base(info).lower().endswith(".json") and not _base(info).startswith(".")
        ]
    except ZIP_ERRORS:
        raise forms.ValidationError("The file is not a valid zip archive.", code="bad_zip") from None
    with archive:
        if len(members) > ZIP_MAX_MEMBERS:
            raise forms.ValidationError(
                f"The zip holds {len(members)} change files; at most {ZIP_MAX_MEMBERS} per upload.", code="too_many"
            )
        if not members:
            raise forms.ValidationError("The zip holds no .json change files.", code="empty_zip")
        result: list[tuple[str, bytes]] = []
        total = 0
        for info in members:
            base = _base(info)
            if info.file_size > ZIP_MAX_MEMBER_BYTES:
                raise forms.ValidationError(
                    f"{base} is larger than {_size(ZIP_MAX_MEMBER_BYTES)}.", code="member_too_large"
                )
            try:
                with archive.open(info) as member:
                    data = member.read(ZIP_MAX_MEMBER_BYTES + 1)  # the header's size may lie
            except ZIP_ERRORS as exc:
                raise forms.ValidationError(
                    f"{base} cannot be read from the zip: it is damaged or uses an unsupported compression "
                    f"({exc.__class__.__name__}: {exc}).", code="bad_member",
                ) from None
            if len(data) > ZIP_MAX_MEMBER_BYTES:
                raise forms.ValidationError(
                    f"{base} is larger than {_size(ZIP_MAX_MEMBER_BYTES)}.", code="member_too_large"
                )
            total += len(data)
            if total > ZIP_MAX_TOTAL_BYTES:
                raise forms.ValidationError(
                    f"The zip's files add up to more than {_size(ZIP_MAX_TOTAL_BYTES)}.",
                    code="too_large",
                )
            result.append((base, data))
    return result
