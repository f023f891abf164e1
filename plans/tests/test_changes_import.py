"""Change-file import: validation of messy directories, linking, idempotency, dry run, the command."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bcp_site.testing import make_plan
from plans import changes as changes_module
from plans.changes import changes_import
from plans.models import Audit, ChangeLogMap, ChangeRecord, Process

pytestmark = pytest.mark.django_db


# --- helpers shared with the other change/audit test modules -----------------------------


def expected_hash(occurred_at: str, change_type: str, summary: str) -> str:
    """The documented rule, computed independently: "<UTC to the minute>|<type lower>|<summary stripped>"."""
    utc = datetime.fromisoformat(occurred_at.replace("Z", "+00:00")).astimezone(UTC)
    text = f"{utc:%Y-%m-%dT%H:%M}+00:00|{change_type.strip().lower()}|{summary.strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def change_doc(*, guid: str | None = None, occurred_at: str = "2026-08-03T10:15:00Z", change_type: str = "Change",
               summary: str = "Firewall replaced", plans=None, affects=None, content_hash: str | None = None) -> dict:
    doc = {
        "guid": guid or str(uuid.uuid4()),
        "occurred_at": occurred_at,
        "change_type": change_type,
        "summary": summary,
        "content_hash": content_hash or expected_hash(occurred_at, change_type, summary),
    }
    if plans is not None:
        doc["plans"] = plans
    if affects is not None:
        doc["affects"] = affects
    return doc


def write_change(directory: Path, doc: dict, *, name: str | None = None) -> Path:
    path = Path(directory) / (name or f"{doc['guid']}.json")
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def run_command(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_changes", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_command_failing(*args) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_changes", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), excinfo.value


# --- timestamps, hash rule, normalisation ---------------------------------------------------


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("2026-08-03T10:15:00Z", datetime(2026, 8, 3, 10, 15, tzinfo=UTC)),
        ("2026-08-03T12:15:00+02:00", datetime(2026, 8, 3, 10, 15, tzinfo=UTC)),
        ("2026-08-03T10:15Z", datetime(2026, 8, 3, 10, 15, tzinfo=UTC)),
        ("2026-08-03T10:15:42Z", datetime(2026, 8, 3, 10, 15, 42, tzinfo=UTC)),
        ("2026-08-03T07:15:42.125-03:00", datetime(2026, 8, 3, 10, 15, 42, 125000, tzinfo=UTC)),
        ("2026-08-03T10:15:42.123456789Z", datetime(2026, 8, 3, 10, 15, 42, 123456, tzinfo=UTC)),
    ],
)
def test_timestamp_formats_are_stored_in_utc_and_hash_to_the_minute(tmp_path, occurred_at, expected):
    doc = change_doc(occurred_at=occurred_at)
    write_change(tmp_path, doc)

    out, err = run_command(tmp_path)

    record = ChangeRecord.objects.get(guid=doc["guid"])
    assert record.occurred_at_utc == expected
    assert record.hash_mismatch is False
    assert "warning" not in err
    assert "Imported 1 change(s)" in out


def test_hash_rule_uses_utc_minute_lowercased_type_and_stripped_summary(tmp_path):
    # 12:15:59.9 at +02:00 is 10:15 UTC; seconds are not part of the hash.
    literal = hashlib.sha256(b"2026-08-03T10:15+00:00|feature|New VPN concentrator").hexdigest()
    doc = change_doc(occurred_at="2026-08-03T12:15:59.9+02:00", change_type="FEATURE",
                     summary="  New VPN concentrator \n", content_hash=literal.upper())
    write_change(tmp_path, doc)

    run_command(tmp_path)

    record = ChangeRecord.objects.get(guid=doc["guid"])
    assert record.hash_mismatch is False
    assert record.summary == "New VPN concentrator"
    assert record.content_hash == literal


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("feature", "Feature"), ("FIX", "Fix"), (" Change ", "Change"), ("SECURITY patch", "Security patch"),
     ("decommission", "Decommission")],
)
def test_change_type_is_normalised(tmp_path, raw, stored):
    doc = change_doc(change_type=raw)
    write_change(tmp_path, doc)
    run_command(tmp_path)
    assert ChangeRecord.objects.get(guid=doc["guid"]).change_type == stored


def test_hash_mismatch_is_imported_with_a_warning_and_marked(tmp_path, plan):
    doc = change_doc(plans=[plan.pk], content_hash="0" * 64)
    path = write_change(tmp_path, doc)

    out, err = run_command(tmp_path)

    record = ChangeRecord.objects.get(guid=doc["guid"])
    assert record.hash_mismatch is True
    assert f"warning: {path.name}: content_hash does not match" in err
    assert "1 warning(s), 0 error(s)" in out
    link_audit = Audit.objects.get(plan=plan, action="change_linked")
    assert link_audit.details_json["hash_mismatch"] is True


def test_hash_mismatch_is_refused_with_strict(tmp_path, plan):
    good = change_doc(plans=[plan.pk])
    bad = change_doc(plans=[plan.pk], content_hash="0" * 64)
    write_change(tmp_path, good)
    bad_path = write_change(tmp_path, bad)

    out, err, exc = run_command_failing(tmp_path, "--strict")

    assert not ChangeRecord.objects.filter(guid=bad["guid"]).exists()
    assert ChangeRecord.objects.filter(guid=good["guid"]).exists()
    assert f"error: {bad_path.name}: content_hash does not match" in err
    assert "--strict" in err
    assert "Imported 1 change(s)" in out and "1 error(s)" in out


# --- messy directories ---------------------------------------------------------------------


def test_messy_directory_reports_each_bad_file_and_imports_the_good_ones(tmp_path, plan):
    good = [change_doc(plans=[plan.pk], summary=f"Good change {i}") for i in range(2)]
    for doc in good:
        write_change(tmp_path, doc)
    stored = change_doc(summary="Stored earlier")
    changes_import(files=[(f"{stored['guid']}.json", json.dumps(stored).encode())])

    bad: dict[str, str] = {}  # file name -> expected reason

    def bad_file(name: str, content: bytes, reason: str) -> None:
        (tmp_path / name).write_bytes(content)
        bad[name] = reason

    def g() -> str:
        return str(uuid.uuid4())

    bad_file(f"{g()}.json", b"", "empty file")
    bad_file(f"{g()}.json", b"  \n", "empty file")
    bad_file(f"{g()}.json", b'{"guid": "x",', "invalid JSON")
    bad_file(f"{g()}.json", b"[1, 2]", "not a JSON object (found list)")
    bad_file(f"{g()}.json", "{\"summary\": \"Caf\xe9\"}".encode("latin-1"), "not UTF-8")
    doc = change_doc()
    del doc["summary"]
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "missing field 'summary'")
    doc = change_doc(change_type="   ")
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "field 'change_type' is empty")
    doc = change_doc(guid="not-a-guid")
    bad_file("not-a-guid.json", json.dumps(doc).encode(), "field 'guid' is not a GUID")
    doc = change_doc()
    bad_file(f"{g()}.json", json.dumps(doc).encode(), f"file name does not match its GUID {doc['guid']}")
    doc = change_doc(occurred_at="2026-08-03T10:15:00")
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "field 'occurred_at' has no time zone")
    doc = change_doc(occurred_at="yesterday", content_hash="f" * 64)
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "field 'occurred_at' is not an ISO 8601 timestamp")
    doc = change_doc(content_hash="abc")
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "field 'content_hash' is not a SHA-256 hex digest")
    doc = change_doc(plans="12")
    bad_file(f"{doc['guid']}.json", json.dumps(doc).encode(), "field 'plans' must be a list of plan ids")
    different = dict(stored, summary="Someone edited this")
    different["content_hash"] = expected_hash(different["occurred_at"], different["change_type"], different["summary"])
    bad_file(f"{stored['guid']}.json", json.dumps(different).encode(),
             f"GUID {stored['guid']} is already stored with different content")
    (tmp_path / "README.txt").write_text("not a change file")
    (tmp_path / "notes.json.bak").write_text("{}")

    out, err, exc = run_command_failing(tmp_path)

    for name, reason in bad.items():
        assert f"error: {name}: {reason}" in err, name
    assert "README.txt" not in err and "notes.json.bak" not in err
    assert f"Imported 2 change(s) from {2 + len(bad)} file(s)" in out
    assert f"{len(bad)} error(s)" in out
    assert f"{len(bad)} file(s) could not be imported" in str(exc)
    assert set(ChangeRecord.objects.values_list("summary", flat=True)) == {
        "Good change 0", "Good change 1", "Stored earlier",
    }
    assert ChangeLogMap.objects.filter(plan=plan).count() == 2


def test_file_name_may_differ_only_in_case_from_the_guid(tmp_path):
    doc = change_doc()
    write_change(tmp_path, doc, name=f"{doc['guid'].upper()}.json")
    out, err = run_command(tmp_path)
    assert ChangeRecord.objects.filter(guid=doc["guid"]).exists()


def test_second_run_imports_and_links_nothing_new(tmp_path, plan):
    docs = [change_doc(plans=[plan.pk], summary=f"Change {i}") for i in range(3)]
    for doc in docs:
        write_change(tmp_path, doc)

    first, _ = run_command(tmp_path)
    audits = Audit.objects.filter(action="change_linked").count()
    second, err = run_command(tmp_path)

    assert "Imported 3 change(s)" in first and "linked 3 plan link(s)" in first
    assert "Imported 0 change(s) from 3 file(s) (3 already stored), linked 0 plan link(s)" in second
    assert err == ""
    assert ChangeRecord.objects.count() == 3
    assert ChangeLogMap.objects.count() == 3
    assert Audit.objects.filter(action="change_linked").count() == audits == 3


def test_same_guid_twice_in_one_upload(plan):
    doc = change_doc(plans=[plan.pk])
    other = dict(doc, summary="Different text")
    report = changes_import(files=[
        (f"{doc['guid']}.json", json.dumps(doc).encode()),
        (f"{doc['guid'].upper()}.json", json.dumps(doc).encode()),
        (f"{doc['guid']}.JSON", json.dumps(other).encode()),
    ])
    assert (report.imported, report.unchanged, report.linked) == (1, 1, 1)
    assert len(report.errors) == 1
    assert f"{doc['guid']}.JSON: " in report.errors[0] and "different content" in report.errors[0]


def test_dry_run_writes_nothing_and_reports_what_would_happen(tmp_path, plan):
    for i in range(2):
        write_change(tmp_path, change_doc(plans=[plan.pk], summary=f"Change {i}"))
    (tmp_path / f"{uuid.uuid4()}.json").write_text("{oops")
    audits = Audit.objects.count()

    out, err, _ = run_command_failing(tmp_path, "--dry-run")

    assert "Dry run: would import 2 change(s) from 3 file(s)" in out
    assert "would link 2 plan link(s)" in out and "1 error(s)" in out
    assert ChangeRecord.objects.count() == 0
    assert ChangeLogMap.objects.count() == 0
    assert Audit.objects.count() == audits

    # A dry run after a real run sees everything as already stored.
    for path in tmp_path.glob("*.json"):
        if path.read_text() == "{oops":
            path.unlink()
    run_command(tmp_path)
    out, _ = run_command(tmp_path, "--dry-run")
    assert "would import 0 change(s) from 2 file(s) (2 already stored), would link 0" in out


def test_unknown_plan_ids_are_warnings_naming_the_file(tmp_path, plan):
    doc = change_doc(plans=[plan.pk, 999999])
    path = write_change(tmp_path, doc)

    out, err = run_command(tmp_path)

    assert f"warning: {path.name}: plan 999999 does not exist; not linked" in err
    assert list(ChangeLogMap.objects.values_list("plan_id", flat=True)) == [plan.pk]
    assert ChangeRecord.objects.get(guid=doc["guid"]).plans_json == sorted([plan.pk, 999999])


# --- linking --------------------------------------------------------------------------------


@pytest.fixture
def three_plans(org, other_org, owner, outsider, template):
    """Plan A (org) runs "Payroll"; plan B (org) depends on "HR Platform"; plan C (other org) runs "payroll"."""
    a = make_plan(org, owner, template=template, title="A")
    b = make_plan(org, owner, template=template, title="B")
    c = make_plan(other_org, outsider, template=template, title="C")
    Process.objects.create(plan=a, name="Payroll", dependencies_json=["Bank link"])
    Process.objects.create(plan=b, name="Onboarding", dependencies_json=["HR  Platform", {"name": "Badge system"}])
    Process.objects.create(plan=c, name="payroll")
    return a, b, c


def linked_titles(guid: str) -> set[str]:
    return set(ChangeLogMap.objects.filter(change_guid=guid).values_list("plan__title", flat=True))


def test_affects_without_plans_matches_every_organisation(tmp_path, three_plans):
    doc = change_doc(affects=["  PAYROLL "])
    write_change(tmp_path, doc)
    run_command(tmp_path)
    assert linked_titles(doc["guid"]) == {"A", "C"}


def test_affects_matches_dependencies_case_insensitively(tmp_path, three_plans):
    docs = [change_doc(affects=["hr platform"]), change_doc(affects=["badge SYSTEM"]), change_doc(affects=["Nothing"])]
    for doc in docs:
        write_change(tmp_path, doc)
    run_command(tmp_path)
    assert [linked_titles(d["guid"]) for d in docs] == [{"B"}, {"B"}, set()]


def test_affects_with_plans_is_limited_to_those_plans_organisations(tmp_path, three_plans):
    a, b, c = three_plans
    doc = change_doc(plans=[b.pk], affects=["Payroll"])
    write_change(tmp_path, doc)
    run_command(tmp_path)
    assert linked_titles(doc["guid"]) == {"A", "B"}  # not C: another organisation


def test_affects_with_plan_option_is_limited_to_that_plans_organisation(tmp_path, three_plans):
    a, b, c = three_plans
    with_plans = change_doc(plans=[c.pk], affects=["Bank link"])
    without_plans = change_doc(affects=["payroll"])
    write_change(tmp_path, with_plans)
    write_change(tmp_path, without_plans)

    run_command(tmp_path, "--plan", b.pk)

    assert linked_titles(without_plans["guid"]) == {"A", "B"}
    # Listed plans decide the organisations; the --plan plan is linked anyway.
    assert linked_titles(with_plans["guid"]) == {"B", "C"}


def test_plan_option_links_every_change_and_a_new_plan_adds_links(tmp_path, plan, org, owner, template):
    docs = [change_doc(summary=f"Change {i}") for i in range(2)]
    for doc in docs:
        write_change(tmp_path, doc)
    run_command(tmp_path, "--plan", plan.pk)
    other = make_plan(org, owner, template=template, title="Second")

    out, _ = run_command(tmp_path, "--plan", other.pk)

    assert "Imported 0 change(s)" in out and "linked 2 plan link(s)" in out
    assert ChangeLogMap.objects.filter(plan=plan).count() == 2
    assert ChangeLogMap.objects.filter(plan=other).count() == 2


def test_each_link_writes_a_change_linked_audit_row(tmp_path, plan):
    doc = change_doc(plans=[plan.pk], occurred_at="2026-08-03T12:15:00+02:00", change_type="fix",
                     summary="Patched the mail relay")
    write_change(tmp_path, doc)

    run_command(tmp_path)

    entry = Audit.objects.get(plan=plan, action="change_linked")
    assert entry.actor_user is None
    assert entry.details_json == {
        "guid": doc["guid"], "type": "Fix", "summary": "Patched the mail relay",
        "occurred_at": "2026-08-03T10:15:00+00:00", "hash_mismatch": False,
    }
    link = ChangeLogMap.objects.get(plan=plan)
    assert link.change.guid == doc["guid"] == link.change_guid


# --- the command's arguments and output -----------------------------------------------------


def test_missing_directory_is_an_error_naming_it(tmp_path):
    with pytest.raises(CommandError, match="nowhere: no such directory"):
        run_command(tmp_path / "nowhere")


def test_a_file_is_not_a_directory(tmp_path):
    path = tmp_path / "file.json"
    path.write_text("{}")
    with pytest.raises(CommandError, match="file.json: not a directory"):
        run_command(path)


def test_unknown_plan_option_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="--plan 424242"):
        run_command(tmp_path, "--plan", 424242)


def test_empty_directory_succeeds_with_a_summary(tmp_path):
    out, err = run_command(tmp_path)
    assert out.strip() == (
        "Imported 0 change(s) from 0 file(s) (0 already stored), linked 0 plan link(s), 0 warning(s), 0 error(s)."
    )


def test_progress_is_shown_on_large_directories(tmp_path, monkeypatch):
    monkeypatch.setattr(changes_module, "PROGRESS_EVERY", 2)
    for i in range(5):
        write_change(tmp_path, change_doc(summary=f"Change {i}"))

    out, err = run_command(tmp_path)

    assert "... 2/5 files" in err and "... 4/5 files" in err
    assert "Imported 5 change(s)" in out


def test_service_refuses_a_plan_outside_the_actors_organisation(plan, outsider):
    from plans.services import ServiceError

    doc = change_doc()
    with pytest.raises(ServiceError, match=f"Plan {plan.pk} does not exist"):
        changes_import(files=[(f"{doc['guid']}.json", json.dumps(doc).encode())], plan=plan, actor=outsider)
    assert not ChangeRecord.objects.exists()
