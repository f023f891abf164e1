"""What must hold after the scale-out run: plain functions of collected facts, and the summary.

Each function takes what the run saw (mail at the sink, rows read from the database, objects
listed in S3, HTTP answers) and returns one `Check`: a name, PASS or FAIL, and a line saying
what was found. They read nothing themselves, so they are tested on made-up facts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _names(items: Iterable[str], limit: int = 5) -> str:
    items = sorted(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def links_check(*, expected: Iterable[str], delivered: Sequence[str], allowed_duplicates: int = 1) -> Check:
    """Every expected address got its acknowledgement link exactly once; at most `allowed_duplicates`
    extra copies in all (the message in flight when the worker was killed), nobody unexpected."""
    expected = {address.lower() for address in expected}
    counts = Counter(address.lower() for address in delivered)
    missing = expected - set(counts)
    unexpected = set(counts) - expected
    doubled = {address: n - 1 for address, n in counts.items() if n > 1}
    extra = sum(doubled.values())
    ok = not missing and not unexpected and extra <= allowed_duplicates
    detail = (f"{len(expected & set(counts))} of {len(expected)} people got their link; missing {len(missing)}"
              f"{' (' + _names(missing) + ')' if missing else ''}; duplicates {extra}"
              f"{' (' + _names(doubled) + ')' if doubled else ''}")
    if extra and extra <= allowed_duplicates:
        detail += f"; at most {allowed_duplicates} allowed: the message in flight when the worker was killed"
    if unexpected:
        detail += f"; not on the distribution: {_names(unexpected)}"
    return Check("Acknowledgement links: one per person", ok, detail)


def acks_check(*, expected_user_ids: Iterable[int], ack_user_ids: Sequence[int], confirmed: int,
               repeats_told_done: int, repeats: int, stored_count: int | None) -> Check:
    """One acknowledgement row per person (`ack_user_ids`: the user of every row of the version);
    every confirmation page said thank you, every repeated POST said it was done already, and the
    stored coverage total the plan page shows (`stored_count`, reviews.coverage_counts), added to by
    both instances at once, counts each of them once."""
    expected = set(expected_user_ids)
    counts = Counter(ack_user_ids)
    missing = expected - set(counts)
    doubled = [user for user, n in counts.items() if n > 1]
    strangers = set(counts) - expected
    ok = (not missing and not doubled and not strangers and confirmed == len(expected)
          and repeats_told_done == repeats and stored_count == len(counts))
    detail = (f"{len(counts)} people acknowledged, expected {len(expected)}; rows {len(ack_user_ids)}; "
              f"missing {len(missing)}; recorded twice {len(doubled)}; thanked {confirmed}; "
              f"repeated confirmations told 'already acknowledged' {repeats_told_done} of {repeats}; "
              f"plan page's stored count {stored_count}")
    if strangers:
        detail += f"; rows for people without a link: {len(strangers)}"
    return Check("Acknowledgements: recorded once per person", ok, detail)


def issued_files_check(*, plan_id: int, version: int, rows: Sequence[Mapping], objects: Mapping[str, bytes]) -> Check:
    """The version's files were issued once per kind and marking (an approved PDF and DOCX among them),
    and S3 holds, under the plan's export folder, exactly the files the rows name, with their recorded
    hashes: no object without its row, none missing.

    `rows`: dicts with kind ("pdf"/"docx", or another issued kind such as the break-glass pack's),
    marking, sha256, storage_path; `objects`: key -> bytes of every object under exports/plan-<plan_id>/.
    """
    problems = []
    per_row = Counter((row["kind"], row["marking"]) for row in rows)
    problems += [f"{n} rows for {kind}/{marking}" for (kind, marking), n in per_row.items() if n > 1]
    for kind in ("pdf", "docx"):
        if (kind, "approved") not in per_row:
            problems.append(f"no approved {kind.upper()} issued")
    problems += [f"unexpected object {key}" for key in sorted(objects)
                 if not key.startswith(f"exports/plan-{plan_id}/")]
    for row in rows:
        data = objects.get(row["storage_path"])
        if data is None:
            problems.append(f"{row['storage_path']} is not in S3")
        elif sha256(data) != row["sha256"]:
            problems.append(f"{row['storage_path']} in S3 does not have the recorded SHA-256")
    orphans = set(objects) - {row["storage_path"] for row in rows}
    problems += [f"object {key} has no issued-file row" for key in sorted(orphans)]
    kinds = ", ".join(f"{kind}/{marking}" for kind, marking in sorted(per_row))
    detail = f"version {version}: {len(rows)} issued ({kinds or 'none'}), {len(objects)} object(s) in S3"
    return Check("Issued files in S3: once per kind and marking", not problems,
                 detail + ("; " + "; ".join(problems) if problems else ""))


def downloads_check(*, downloads: Mapping[str, Mapping[str, bytes]], verified: Mapping[str, tuple[str, bool]],
                    recorded: Mapping[str, str]) -> Check:
    """Per kind: the bytes from every instance are identical, their SHA-256 is the one the verify
    page reports (and it says Match), and the one recorded for the issued file.

    `downloads`: kind -> {instance: bytes}; `verified`: kind -> (hash the page showed, matched);
    `recorded`: kind -> the approved issued file's SHA-256.
    """
    problems, parts = [], []
    for kind in ("pdf", "docx"):
        copies = downloads.get(kind) or {}
        if len(copies) < 2:
            problems.append(f"{kind.upper()}: downloaded from {len(copies)} instance(s), not 2")
            continue
        digests = {instance: sha256(data) for instance, data in copies.items()}
        if len(set(digests.values())) != 1:
            problems.append(f"{kind.upper()}: the instances served different bytes")
            continue
        digest = next(iter(digests.values()))
        shown, matched = verified.get(kind, ("", False))
        if shown != digest or not matched:
            problems.append(f"{kind.upper()}: the verify page said {shown[:12] or 'nothing'}"
                            f"{'' if matched else ' (no match)'}, the file is {digest[:12]}")
        if recorded.get(kind) != digest:
            problems.append(f"{kind.upper()}: recorded {str(recorded.get(kind))[:12]}, served {digest[:12]}")
        parts.append(f"{kind.upper()} {len(next(iter(copies.values()))):,} bytes sha256 {digest[:12]}…")
    detail = "; ".join(parts) + ("; " + "; ".join(problems) if problems else "; identical on both instances, "
                                 "verified")
    return Check("Downloads: same bytes on both instances, verified", not problems, detail)


def attachment_check(*, uploaded: bytes, stored: bytes | None, storage_path: str,
                     downloads: Mapping[str, bytes]) -> Check:
    """The uploaded attachment is in S3 with its bytes, and every instance serves those bytes."""
    problems = []
    if stored is None:
        problems.append(f"{storage_path or 'its storage path'} is not in S3")
    elif stored != uploaded:
        problems.append("the S3 object differs from the upload")
    bad = [instance for instance, data in downloads.items() if data != uploaded]
    if bad or len(downloads) < 2:
        problems.append(f"download differs or is missing on {', '.join(bad) or 'an instance'}")
    return Check("Attachment in S3", not problems,
                 f"{len(uploaded):,} bytes at {storage_path}" + ("; " + "; ".join(problems) if problems else
                                                                  "; same bytes from both instances"))


def rate_limit_check(*, answers: Sequence[tuple[str, int]], limit: int) -> Check:
    """`answers`: (instance, status) of consecutive "new link" requests from one address. The first
    `limit` are served (a redirect), every later one is refused with 429, on either instance."""
    allowed, refused = answers[:limit], answers[limit:]
    problems = []
    if len(answers) < limit + 2:
        problems.append(f"only {len(answers)} requests, need {limit + 2}")
    early = [(i + 1, status) for i, (_, status) in enumerate(allowed) if not 300 <= status < 400]
    if early:
        problems.append(f"within the limit but not served: {early}")
    late = [(limit + i + 1, instance, status) for i, (instance, status) in enumerate(refused) if status != 429]
    if late:
        problems.append(f"over the limit but not refused: {late}")
    instances = {instance for instance, _ in refused}
    if len(instances) < 2:
        problems.append("the refusals did not come from both instances")
    counts = Counter(instance for instance, _ in allowed)
    detail = (f"limit {limit}/hour per address: {len(allowed)} requests "
              f"({', '.join(f'{n} on {i}' for i, n in sorted(counts.items()))}), then "
              f"{', '.join(f'{status} on {instance}' for instance, status in refused)}")
    return Check("Rate limit holds across instances", not problems,
                 detail + ("; " + "; ".join(problems) if problems else ""))


def kill_check(*, killed_at_links: int | None, total: int, requeued: int, sweeps: Sequence[str]) -> Check:
    """A worker was killed while it delivered, and `outbox_sweep` ran: it queues again whatever the dead worker
    held (nothing, when the kill fell between two batches); the link and outbox checks prove none was lost."""
    if killed_at_links is None:
        return Check("Worker killed mid-send, rows swept", False, "no worker was delivering mail to be killed")
    detail = (f"SIGKILL to a worker (and its work horse) at {killed_at_links} of {total} links; "
              f"outbox_sweep re-queued {requeued} row(s)" + (f" ({' | '.join(sweeps)})" if sweeps else ""))
    return Check("Worker killed mid-send, rows swept", True, detail)


def outbox_check(*, statuses: Mapping[str, int]) -> Check:
    """Every outbox row ended sent."""
    unsent = {status: n for status, n in statuses.items() if status != "sent" and n}
    detail = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "no rows"
    return Check("Outbox: every row sent", bool(statuses) and not unsent, detail)


def errors_check(*, server_errors: Sequence[str], requests: int) -> Check:
    """No answer of either instance was a 5xx."""
    detail = f"{requests:,} requests, {len(server_errors)} server error(s)"
    if server_errors:
        detail += ": " + "; ".join(server_errors[:5])
    return Check("No server errors", not server_errors, detail)


def summary(checks: Sequence[Check], *, seconds: float) -> tuple[str, bool]:
    """The report printed at the end: one line per check, then the verdict; and whether all passed."""
    width = max((len(check.name) for check in checks), default=0)
    lines = [f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.detail}" for check in checks]
    ok = bool(checks) and all(check.ok for check in checks)
    failed = sum(1 for check in checks if not check.ok)
    lines.append(f"Scale-out check {'PASSED' if ok else 'FAILED'}: {len(checks) - failed} of {len(checks)} "
                 f"checks passed in {seconds:.0f} s.")
    return "\n".join(lines), ok
