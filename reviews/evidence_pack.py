"""The evidence pack of a plan version: one ZIP an auditor can check offline, built by a task.

Inside, as the records stood at the pack's moment (`as_of`, the request's time):

- the version's issued PDF and DOCX (the files people hold, byte for byte);
- `acknowledgements.csv`: everyone on the distribution and their acknowledgement of the version;
- `audit.csv`: the plan's audit trail;
- `reviews.csv` and `reviews.json`: every review round of the plan, with decisions and notes;
- the exercise and incident reports issued for the plan;
- `manifest.json`: every file above with its SHA-256, size and when it was generated, and
  `SHA256SUMS`, the same list in the form `sha256sum -c SHA256SUMS` checks.

The same version and moment give the same bytes: entries are sorted, dated `as_of`, and
written with fixed permissions and compression; nothing reads the clock. Each build is a new
issued file (`reviews.report_requests`), verifiable on the verify page like every other file.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime

from django.db.models import Q

from bcp_site.text import csv_cell, display_name
from plans.audit_actions import audit_action_label, audit_names, audit_sentence
from plans.exports import issued_file_read, version_file_issue, version_marking
from plans.exports.issued import _read_storage, sha256_bytes
from plans.models import Audit, IssuedFile, PlanVersion

from .ack_coverage import coverage_people
from .models import Review

REPORT_KINDS = ("exercise_report", "incident_report")  # issued reports of the plan that go in the pack
MANIFEST, SUMS = "manifest.json", "SHA256SUMS"


def pack_marking(version: PlanVersion) -> str:
    """The pack carries the marking of the version it is about (approved, draft or superseded)."""
    return version_marking(version)


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _csv(header: list[str], rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) if isinstance(value, str) else value for value in row])
    return out.getvalue().encode("utf-8")


def _plan_files(version: PlanVersion) -> list[tuple[str, bytes, datetime]]:
    files = []
    for kind in ("pdf", "docx"):
        issued, data = version_file_issue(version=version, kind=kind)
        if data is None:
            data = issued_file_read(issued=issued, version=version)
        files.append((f"plan-v{version.version_number}-{issued.marking}.{kind}", data, issued.issued_at_utc))
    return files


def _acknowledgements(version: PlanVersion, as_of: datetime) -> bytes:
    people = coverage_people(version.plan, version.version_number).only("id", "username", "first_name", "last_name")
    rows = []
    for person in people.iterator(chunk_size=1000):
        acked = person.ack_at if person.ack_at and person.ack_at <= as_of else None
        rows.append([person.get_username(), display_name(person), version.version_number,
                     "acknowledged" if acked else "outstanding", _utc(acked)])
    return _csv(["username", "name", "version", "status", "acknowledged_at_utc"], rows)


def _audit(version: PlanVersion, as_of: datetime) -> bytes:
    entries = list(
        Audit.objects.filter(plan_id=version.plan_id, at_utc__lte=as_of).select_related("actor_user")
        .order_by("at_utc", "id")
    )
    names = audit_names(entry.details_json for entry in entries)
    return _csv(
        ["time_utc", "action", "actor", "details", "action_in_words", "details_in_words"],
        ([_utc(e.at_utc), e.action, display_name(e.actor_user) if e.actor_user else "system",
          json.dumps(e.details_json, ensure_ascii=False, sort_keys=True, default=str),
          audit_action_label(e.action), audit_sentence(e.action, e.details_json, names)] for e in entries),
    )


def _reviews(version: PlanVersion, as_of: datetime) -> tuple[bytes, bytes]:
    reviews = list(
        Review.objects.filter(plan_id=version.plan_id, requested_at_utc__lte=as_of)
        .select_related("version", "reviewer_user", "requested_by_user").order_by("round_number", "id")
    )
    records = []
    for review in reviews:
        decided = review.decided_at_utc is not None and review.decided_at_utc <= as_of
        records.append({
            "round": review.round_number, "version": review.version.version_number,
            "reviewer": display_name(review.reviewer_user), "reviewer_username": review.reviewer_user.get_username(),
            "requested_by": display_name(review.requested_by_user), "requested_at_utc": _utc(review.requested_at_utc),
            "status": review.status if decided else Review.Status.PENDING.value,
            "decided_at_utc": _utc(review.decided_at_utc) if decided else "",
            "notes": review.notes if decided else "",
        })
    header = list(records[0]) if records else ["round", "version", "reviewer", "reviewer_username", "requested_by",
                                               "requested_at_utc", "status", "decided_at_utc", "notes"]
    as_csv = _csv(header, ([record[key] for key in header] for record in records))
    as_json = (json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return as_csv, as_json


def _reports(version: PlanVersion, as_of: datetime) -> list[tuple[str, bytes, datetime]]:
    rows = (IssuedFile.objects.filter(plan_id=version.plan_id, kind__in=REPORT_KINDS, issued_at_utc__lte=as_of)
            .filter(Q(version__isnull=True) | Q(version_id=version.pk)).order_by("issued_at_utc", "id"))
    files = []
    for issued in rows:
        data = _read_storage(issued.storage_path)
        if data is None or sha256_bytes(data) != issued.sha256:
            raise RuntimeError(f"the issued report {issued.storage_path} is missing or changed; it cannot go in a pack")
        files.append((f"reports/{issued.kind}-{issued.pk}.pdf", data, issued.issued_at_utc))
    return files


def _readme(version: PlanVersion, as_of: datetime) -> bytes:
    plan = version.plan
    return (
        f"Evidence pack of \"{plan.title}\", version {version.version_number}, as of {_utc(as_of)}.\n\n"
        "Check every file against the list (Linux, macOS with coreutils, Git Bash on Windows):\n\n"
        "    sha256sum -c SHA256SUMS\n\n"
        "manifest.json lists the same files with their size and when each was generated. The pack itself\n"
        "and the plan's PDF and DOCX can also be checked on the product's verify page.\n"
    ).encode()


def evidence_pack_files(version: PlanVersion, *, as_of: datetime) -> dict[str, tuple[bytes, datetime]]:
    """name -> (bytes, generated at) of every file the manifest lists."""
    version = PlanVersion.objects.select_related("plan", "plan__org").get(pk=version.pk)
    files: dict[str, tuple[bytes, datetime]] = {}
    for name, data, made in _plan_files(version) + _reports(version, as_of):
        files[name] = (data, made)
    reviews_csv, reviews_json = _reviews(version, as_of)
    files.update({
        "acknowledgements.csv": (_acknowledgements(version, as_of), as_of),
        "audit.csv": (_audit(version, as_of), as_of),
        "reviews.csv": (reviews_csv, as_of),
        "reviews.json": (reviews_json, as_of),
        "README.txt": (_readme(version, as_of), as_of),
    })
    return files


def build_evidence_pack(version: PlanVersion, *, as_of: datetime) -> bytes:
    """The pack's ZIP bytes (the same version and moment, the same bytes)."""
    files = evidence_pack_files(version, as_of=as_of)
    plan = version.plan
    manifest = {
        "plan": plan.title, "plan_id": plan.pk, "organisation": plan.org.name if plan.org else "",
        "version": version.version_number, "as_of_utc": _utc(as_of),
        "files": [{"name": name, "sha256": sha256_bytes(data), "size_bytes": len(data),
                   "generated_at_utc": _utc(made)} for name, (data, made) in sorted(files.items())],
    }
    entries = {name: data for name, (data, _made) in files.items()}
    entries[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    entries[SUMS] = "".join(f"{item['sha256']}  {item['name']}\n" for item in manifest["files"]).encode("utf-8")
    stamp = as_of.astimezone(UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], compresslevel=6)
    return out.getvalue()
