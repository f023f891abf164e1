"""Change-log import and the review-needed flag.

A change file (`changes/<guid>.json`) describes one infrastructure or business change.
`changes_import` validates a set of such files, stores each change once (keyed by its
GUID, `bc_change`) and links it to the plans it affects (`bc_change_log_map`), writing a
`change_linked` audit row per new link. The management command `import_changes` and the
admin upload both call it. The file format and the linking rules are documented in
docs/change-files.md.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from bcp_site.limits import ID_MAX, JSONInputError, datetime_problem, json_loads

from .drift import drift_digests_queue
from .models import ChangeLogMap, ChangeRecord, Plan, Process
from .selectors import organisation_for
from .services import ServiceError, audit_record

REQUIRED_FIELDS = ("guid", "occurred_at", "change_type", "summary", "content_hash")
KNOWN_TYPES = {"feature": "Feature", "fix": "Fix", "change": "Change"}
MAX_TYPE_LENGTH = ChangeRecord._meta.get_field("change_type").max_length
MAX_SOURCE_LENGTH = ChangeRecord._meta.get_field("source_file").max_length
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_FILE_BYTES = 1024 * 1024  # a change file is a few hundred bytes; the zip upload has the same limit
# The command prints a progress line to stderr after every this many files.
PROGRESS_EVERY = 500


class BadChangeFile(Exception):
    """A change file that cannot be imported; the message says why (without the file name)."""


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool = False
    files: int = 0  # change files read (*.json)
    imported: int = 0  # new change records
    unchanged: int = 0  # files whose change was already stored with the same content
    linked: int = 0  # new plan links
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verb = "Dry run: would import" if self.dry_run else "Imported"
        link = "would link" if self.dry_run else "linked"
        return (
            f"{verb} {self.imported} change(s) from {self.files} file(s) "
            f"({self.unchanged} already stored), {link} {self.linked} plan link(s), "
            f"{len(self.warnings)} warning(s), {len(self.errors)} error(s)."
        )


@dataclass(frozen=True)
class ParsedChange:
    """A validated, normalised change file."""

    guid: str
    occurred_at_utc: datetime
    change_type: str
    summary: str
    content_hash: str
    expected_hash: str
    plan_ids: tuple[int, ...]
    affects: tuple[str, ...]

    @property
    def hash_mismatch(self) -> bool:
        return self.content_hash != self.expected_hash

    def same_content(self, record: ChangeRecord) -> bool:
        """True when a stored record holds this very change (no query)."""
        return (
            record.occurred_at_utc == self.occurred_at_utc
            and record.change_type == self.change_type
            and record.summary == self.summary
            and record.content_hash == self.content_hash
            and list(record.affects_json or []) == list(self.affects)
            and list(record.plans_json or []) == list(self.plan_ids)
        )


# ---------------------------------------------------------------------------------------
# Parsing one file


def normalise_change_type(raw: str) -> str:
    """`fix`/`FIX` -> `Fix`; unknown types are lowercased then capitalised (`SECURITY` -> `Security`)."""
    key = raw.strip().lower()
    return KNOWN_TYPES.get(key, key.capitalize())


def expected_content_hash(occurred_at_utc: datetime, change_type: str, summary: str) -> str:
    """SHA-256 hex of `<occurred_at in UTC, to the minute>|<type lowercased>|<summary stripped>`."""
    stamp = occurred_at_utc.astimezone(UTC).isoformat(timespec="minutes")
    text = f"{stamp}|{change_type.strip().lower()}|{summary.strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_occurred_at(text: str) -> datetime:
    """An ISO 8601 timestamp with `Z` or an offset, as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadChangeFile(f"field 'occurred_at' is not an ISO 8601 timestamp: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadChangeFile(f"field 'occurred_at' has no time zone ({text!r}): add 'Z' or an offset such as +02:00")
    if problem := datetime_problem(value):
        raise BadChangeFile(f"field 'occurred_at' {problem} ({text!r})")
    return value.astimezone(UTC)


def _string_list(data: dict, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadChangeFile(f"field '{key}' must be a list of names")
    return [item.strip() for item in value if item.strip()]


def _plan_ids(data: dict) -> list[int]:
    value = data.get("plans")
    if value is None:
        return []
    ids: list[int] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, bool):
                break
            if isinstance(item, int) and 0 < item <= ID_MAX:
                ids.append(item)
            elif isinstance(item, str) and re.fullmatch(r"[0-9]{1,19}", item.strip()) and 0 < int(item) <= ID_MAX:
                ids.append(int(item))
            else:
                break
        else:
            return sorted(set(ids))
    raise BadChangeFile("field 'plans' must be a list of plan ids (positive whole numbers)")


def parse_change_file(name: str, raw: bytes) -> ParsedChange:
    """Validate one change file's bytes; raise BadChangeFile with the reason."""
    if not raw.strip():
        raise BadChangeFile("empty file")
    if len(raw) > MAX_FILE_BYTES:
        raise BadChangeFile(f"larger than {MAX_FILE_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadChangeFile(f"not UTF-8 text (byte {raw[exc.start]:#04x} at position {exc.start})") from None
    try:
        data = json_loads(text, max_bytes=MAX_FILE_BYTES)  # depth, NaN and numbers: bcp_site.limits
    except JSONInputError as exc:
        if exc.decode_error is not None:
            error = exc.decode_error
            raise BadChangeFile(f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
        raise BadChangeFile(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadChangeFile(f"not a JSON object (found {type(data).__name__})")
    for key in REQUIRED_FIELDS:
        if key not in data or data[key] is None:
            raise BadChangeFile(f"missing field '{key}'")
        if not isinstance(data[key], str):
            raise BadChangeFile(f"field '{key}' must be a string")
        if not data[key].strip():
            raise BadChangeFile(f"field '{key}' is empty")
    try:
        guid = str(uuid.UUID(data["guid"].strip()))
    except ValueError:
        raise BadChangeFile(f"field 'guid' is not a GUID: {data['guid']!r}") from None
    stem = Path(name).name.rsplit(".", 1)[0]
    try:
        stem_guid = str(uuid.UUID(stem))
    except ValueError:
        stem_guid = None
    if stem_guid != guid:
        raise BadChangeFile(f"file name does not match its GUID {guid} (expected {guid}.json)")
    occurred = parse_occurred_at(data["occurred_at"])
    change_type = normalise_change_type(data["change_type"])
    if len(change_type) > MAX_TYPE_LENGTH:
        raise BadChangeFile(f"field 'change_type' is longer than {MAX_TYPE_LENGTH} characters")
    content_hash = data["content_hash"].strip()
    if not HEX64.match(content_hash):
        raise BadChangeFile("field 'content_hash' is not a SHA-256 hex digest (64 hexadecimal characters)")
    summary = data["summary"].strip()
    return ParsedChange(
        guid=guid,
        occurred_at_utc=occurred,
        change_type=change_type,
        summary=summary,
        content_hash=content_hash.lower(),
        expected_hash=expected_content_hash(occurred, data["change_type"], summary),
        plan_ids=tuple(_plan_ids(data)),
        affects=tuple(_string_list(data, "affects")),
    )


# ---------------------------------------------------------------------------------------
# Linking


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _dependency_names(dependencies: Any) -> Iterator[str]:
    for item in dependencies or []:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            yield item["name"]


class _AffectsIndex:
    """Process and dependency names of every plan in scope -> {(plan_id, org_id)}; loaded once per import."""

    def __init__(self, plans: QuerySet):
        self._plans = plans
        self._index: dict[str, set[tuple[int, int | None]]] | None = None

    def match(self, names: Iterable[str], org_ids: set[int | None] | None) -> set[int]:
        if self._index is None:
            self._index = {}
            rows = Process.objects.filter(plan__in=self._plans).values_list(
                "plan_id", "plan__org_id", "name", "dependencies_json"
            )
            for plan_id, org_id, name, dependencies in rows.iterator(chunk_size=2000):
                for candidate in [name, *_dependency_names(dependencies)]:
                    self._index.setdefault(_name_key(candidate), set()).add((plan_id, org_id))
        found: set[int] = set()
        for name in names:
            for plan_id, org_id in self._index.get(_name_key(name), ()):
                if org_ids is None or org_id in org_ids:
                    found.add(plan_id)
        return found


# ---------------------------------------------------------------------------------------
# The import service


def _directory_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix.lower() == ".json" and p.is_file())


def _read_limited(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)  # one byte more, so parse_change_file says it is too large


def changes_import(
    *,
    directory: str | Path | None = None,
    files: Iterable[tuple[str, bytes]] | None = None,
    plan: Plan | int | None = None,
    dry_run: bool = False,
    strict: bool = False,
    actor=None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import change files from `directory` (every `*.json` in it) or `files` ((name, bytes) pairs).

    Each file is validated and written in its own transaction: a bad file is reported
    (file name and reason) and skipped, the others still import. `plan` (a Plan or its id)
    is linked to every change in addition to the plans the file names and the plans whose
    processes match its `affects`. A content hash that does not match is imported and
    flagged (`hash_mismatch`), or refused when `strict`. `dry_run` writes nothing.

    When `actor` is a user who is not a superuser, only plans of the actor's organisation
    can be linked (the admin upload); other plan ids count as unknown, and a `plan` outside
    that scope raises ServiceError. `progress(done, total)` is called after every
    PROGRESS_EVERY files.
    """
    if (directory is None) == (files is None):
        raise ValueError("Pass exactly one of directory= or files=.")
    report = ImportReport(dry_run=dry_run)
    scope = Plan.objects.all()
    if actor is not None and not getattr(actor, "is_superuser", False):
        org = organisation_for(actor)
        scope = scope.filter(org=org) if org is not None else scope.none()
    extra_plan = None
    if plan is not None:
        plan_id = plan.pk if isinstance(plan, Plan) else plan
        extra_plan = scope.filter(pk=plan_id).first()
        if extra_plan is None:
            raise ServiceError(f"Plan {plan_id} does not exist.", code="unknown_plan")

    if directory is not None:
        paths = _directory_files(Path(directory))
        items: Iterable[tuple[str, Callable[[], bytes]]] = [(p.name, partial(_read_limited, p)) for p in paths]
        total = len(paths)
    else:
        materialised = list(files)
        items = [(name, (lambda data=data: data)) for name, data in materialised]
        total = len(materialised)

    context = _ImportContext(
        report=report, scope=scope, extra_plan=extra_plan, dry_run=dry_run, strict=strict, actor=actor,
        now=timezone.now(),
    )
    for done, (name, read) in enumerate(items, start=1):
        report.files += 1
        try:
            raw = read()
        except OSError as exc:
            report.errors.append(f"{name}: cannot be read ({exc.strerror or exc})")
        else:
            context.import_one(name, raw)
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if not dry_run:
        drift_digests_queue(run_id=context.run_id, changes_by_plan=context.linked)
    return report


@dataclass
class _ImportContext:
    report: ImportReport
    scope: QuerySet
    extra_plan: Plan | None
    dry_run: bool
    strict: bool
    actor: Any
    now: datetime
    seen: dict[str, tuple[str, ParsedChange]] = field(default_factory=dict)  # guid -> (file, change) this run
    linked: dict[int, list[str]] = field(default_factory=dict)  # plan id -> GUIDs newly linked this run
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    affects_index: _AffectsIndex | None = None

    def import_one(self, name: str, raw: bytes) -> None:
        report = self.report
        try:
            change = parse_change_file(name, raw)
        except BadChangeFile as exc:
            report.errors.append(f"{name}: {exc}")
            return
        if change.hash_mismatch:
            message = (
                f"{name}: content_hash does not match the file's content "
                f"(expected {change.expected_hash}, found {change.content_hash})"
            )
            if self.strict:
                report.errors.append(message + "; refused (--strict)")
                return
        earlier = self.seen.get(change.guid)
        if earlier is not None and earlier[1] != change:
            report.errors.append(f"{name}: GUID {change.guid} is also in {earlier[0]} with different content")
            return
        try:
            with transaction.atomic():
                self._store(name, change, duplicate_in_run=earlier is not None)
        except BadChangeFile as exc:
            report.errors.append(f"{name}: {exc}")
            return
        except (IntegrityError, DatabaseError) as exc:
            report.errors.append(f"{name}: could not be stored ({exc.__class__.__name__}); run the import again")
            return
        if change.hash_mismatch:
            report.warnings.append(message + "; imported and marked as a hash mismatch")
        self.seen.setdefault(change.guid, (name, change))

    def _store(self, name: str, change: ParsedChange, *, duplicate_in_run: bool) -> None:
        report = self.report
        record = ChangeRecord.objects.select_for_update().filter(guid=change.guid).first()
        if record is not None and not change.same_content(record):
            raise BadChangeFile(f"GUID {change.guid} is already stored with different content")
        # Plans named by the file.
        known = dict(self.scope.filter(pk__in=change.plan_ids).values_list("pk", "org_id"))
        for missing in sorted(set(change.plan_ids) - set(known)):
            report.warnings.append(f"{name}: plan {missing} does not exist; not linked")
        targets = set(known)
        # Plans whose processes or dependencies match `affects`, within the organisations
        # of the plans the file names, else of --plan, else every organisation in scope.
        if change.affects:
            if change.plan_ids:
                org_ids: set[int | None] | None = set(known.values())
            elif self.extra_plan is not None:
                org_ids = {self.extra_plan.org_id}
            else:
                org_ids = None
            if org_ids is None or org_ids:
                if self.affects_index is None:
                    self.affects_index = _AffectsIndex(self.scope)
                targets |= self.affects_index.match(change.affects, org_ids)
        if self.extra_plan is not None:
            targets.add(self.extra_plan.pk)

        if record is None and not duplicate_in_run:
            report.imported += 1
        else:
            report.unchanged += 1
        already = set(
            ChangeLogMap.objects.filter(change_guid=change.guid, plan_id__in=targets).values_list("plan_id", flat=True)
        )
        new_targets = sorted(targets - already)
        if self.dry_run:
            # Within one dry run, a second file with the same GUID links nothing new.
            if not duplicate_in_run:
                report.linked += len(new_targets)
            return
        if record is None:
            record = ChangeRecord.objects.create(
                guid=change.guid,
                occurred_at_utc=change.occurred_at_utc,
                change_type=change.change_type,
                summary=change.summary,
                content_hash=change.content_hash,
                hash_mismatch=change.hash_mismatch,
                affects_json=list(change.affects),
                plans_json=list(change.plan_ids),
                source_file=name[-MAX_SOURCE_LENGTH:],
                imported_at_utc=self.now,
            )
        details = {
            "guid": change.guid,
            "type": change.change_type,
            "summary": change.summary,
            "occurred_at": change.occurred_at_utc.isoformat(),
            "hash_mismatch": change.hash_mismatch,
        }
        for plan in Plan.objects.filter(pk__in=new_targets).order_by("pk"):
            ChangeLogMap.objects.create(plan=plan, change_guid=change.guid, change=record, imported_at_utc=self.now)
            audit_record(plan=plan, actor=self.actor, action="change_linked", details=details)
            self.linked.setdefault(plan.pk, []).append(change.guid)
            report.linked += 1


# ---------------------------------------------------------------------------------------
# Reads


def plan_changes(plan: Plan) -> QuerySet:
    """The change records linked to a plan, newest first (a queryset; not evaluated here)."""
    return ChangeRecord.objects.filter(plan_links__plan=plan).order_by("-occurred_at_utc", "-id")
