"""The scale-out check's own parts: its verdicts on made-up facts, the sink's mail, forms, the kill.

The check itself (`make scale-check`) runs in CI through `.ci/run`; these tests make sure it
would notice what it is there to notice.
"""

import smtplib
import subprocess
import sys
import time
from email.mime.text import MIMEText

import pytest
from django.core.mail import EmailMultiAlternatives

from reviews.benchmark.server import free_port
from reviews.management.commands.bench_outbox import SINK
from reviews.scalecheck import checks
from reviews.scalecheck.browser import forms_of
from reviews.scalecheck.mailbox import Mailbox, parse_mail
from reviews.scalecheck.stack import Stack

PEOPLE = [f"p{i}@example.org" for i in range(5)]


# --- links ----------------------------------------------------------------------------------------


def test_links_pass_when_everyone_has_one():
    result = checks.links_check(expected=PEOPLE, delivered=list(reversed(PEOPLE)))
    assert result.ok
    assert "5 of 5 people" in result.detail and "duplicates 0" in result.detail


def test_one_duplicate_is_allowed_and_reported_two_are_not():
    one = checks.links_check(expected=PEOPLE, delivered=PEOPLE + PEOPLE[:1])
    assert one.ok and "p0@example.org" in one.detail and "in flight" in one.detail
    two = checks.links_check(expected=PEOPLE, delivered=PEOPLE + PEOPLE[:2])
    assert not two.ok and "duplicates 2" in two.detail


def test_a_missing_or_unexpected_link_fails():
    missing = checks.links_check(expected=PEOPLE, delivered=PEOPLE[1:])
    assert not missing.ok and "missing 1 (p0@example.org)" in missing.detail
    stranger = checks.links_check(expected=PEOPLE, delivered=PEOPLE + ["x@example.org"])
    assert not stranger.ok and "x@example.org" in stranger.detail


# --- acknowledgements, outbox, kill ------------------------------------------------------------


def test_acks_once_per_person():
    good = dict(expected_user_ids=[1, 2, 3], confirmed=3, repeats_told_done=1, repeats=1, stored_count=3)
    assert checks.acks_check(ack_user_ids=[3, 1, 2], **good).ok
    assert not checks.acks_check(ack_user_ids=[3, 1, 2], **{**good, "stored_count": 2}).ok  # a lost update
    assert not checks.acks_check(ack_user_ids=[1, 2, 3, 3], **good).ok
    assert not checks.acks_check(ack_user_ids=[1, 2], **good).ok
    assert not checks.acks_check(ack_user_ids=[1, 2, 3], **{**good, "repeats_told_done": 0}).ok


def test_kill_must_hit_a_sending_worker_and_the_sweep_requeue_its_rows():
    assert checks.kill_check(killed_at_links=100, total=303, requeued=3, sweeps=["Outbox: 3 expired"]).ok
    assert checks.kill_check(killed_at_links=100, total=303, requeued=0, sweeps=[]).ok  # killed between batches
    assert not checks.kill_check(killed_at_links=None, total=303, requeued=0, sweeps=[]).ok


def test_outbox_rows_must_all_be_sent():
    assert checks.outbox_check(statuses={"sent": 307}).ok
    assert not checks.outbox_check(statuses={"sent": 306, "sending": 1}).ok
    assert not checks.outbox_check(statuses={}).ok


# --- files ----------------------------------------------------------------------------------------

PDF, DOCX = b"%PDF-1.7 plan", b"PK docx plan"


def _issued(objects_extra=None, rows_extra=()):
    rows = [
        {"kind": kind, "marking": "approved", "sha256": checks.sha256(data),
         "storage_path": f"exports/plan-7/v2-approved-{checks.sha256(data)[:16]}.{kind}"}
        for kind, data in (("pdf", PDF), ("docx", DOCX))
    ] + list(rows_extra)
    objects = {rows[0]["storage_path"]: PDF, rows[1]["storage_path"]: DOCX, **(objects_extra or {})}
    return rows, objects


def test_issued_files_once_per_kind_and_marking_with_their_hash():
    rows, objects = _issued()
    assert checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects).ok


def test_the_break_glass_files_of_the_version_count_as_issued_files_too():
    html = b"<!doctype html>offline"
    path = f"exports/plan-7/v2-breakglass-approved-{checks.sha256(html)[:16]}.html"
    rows, objects = _issued({path: html}, rows_extra=[
        {"kind": "breakglass_html", "marking": "approved", "sha256": checks.sha256(html), "storage_path": path}])
    assert checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects).ok
    rows, objects = _issued({path: html})  # a stored file without its row
    assert not checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects).ok


def test_a_second_copy_in_s3_fails():
    rows, objects = _issued({f"exports/plan-7/v2-approved-{checks.sha256(PDF)[:16]}_x1.pdf": PDF})
    result = checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects)
    assert not result.ok and "has no issued-file row" in result.detail


def test_a_changed_or_missing_file_fails():
    rows, objects = _issued()
    objects[rows[0]["storage_path"]] = b"tampered"
    assert not checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects).ok
    rows, objects = _issued()
    del objects[rows[1]["storage_path"]]
    result = checks.issued_files_check(plan_id=7, version=2, rows=rows, objects=objects)
    assert not result.ok and "is not in S3" in result.detail


def test_downloads_identical_and_verified():
    downloads = {"pdf": {"A": PDF, "B": PDF}, "docx": {"A": DOCX, "B": DOCX}}
    verified = {"pdf": (checks.sha256(PDF), True), "docx": (checks.sha256(DOCX), True)}
    recorded = {"pdf": checks.sha256(PDF), "docx": checks.sha256(DOCX)}
    assert checks.downloads_check(downloads=downloads, verified=verified, recorded=recorded).ok
    different = {**downloads, "pdf": {"A": PDF, "B": PDF + b" "}}
    assert not checks.downloads_check(downloads=different, verified=verified, recorded=recorded).ok
    unverified = {**verified, "docx": (checks.sha256(DOCX), False)}
    assert not checks.downloads_check(downloads=downloads, verified=unverified, recorded=recorded).ok


def test_attachment_must_be_in_s3_and_served_by_both():
    args = dict(uploaded=b"notes", storage_path="attachments/plan-7/abc")
    assert checks.attachment_check(stored=b"notes", downloads={"A": b"notes", "B": b"notes"}, **args).ok
    assert not checks.attachment_check(stored=None, downloads={"A": b"notes", "B": b"notes"}, **args).ok
    assert not checks.attachment_check(stored=b"notes", downloads={"A": b"notes", "B": b"other"}, **args).ok


# --- the rate limit -------------------------------------------------------------------------------


def _alternating(statuses):
    return [("AB"[i % 2], status) for i, status in enumerate(statuses)]


def test_rate_limit_holds_across_instances():
    assert checks.rate_limit_check(answers=_alternating([302] * 10 + [429, 429]), limit=10).ok


def test_rate_limit_fails_when_each_instance_counts_alone():
    result = checks.rate_limit_check(answers=_alternating([302] * 12), limit=10)
    assert not result.ok and "not refused" in result.detail


def test_rate_limit_fails_when_requests_were_never_served():
    # e.g. refused by CSRF: nothing was counted, so nothing was shown about the limit
    assert not checks.rate_limit_check(answers=_alternating([403] * 12), limit=10).ok
    assert not checks.rate_limit_check(answers=_alternating([302] * 9 + [429] * 3), limit=10).ok


def test_summary_fails_on_any_fail():
    text, ok = checks.summary([checks.Check("A", True, "fine"), checks.Check("B", False, "broken")], seconds=3)
    assert not ok
    assert "PASS  A" in text and "FAIL  B" in text and "FAILED: 1 of 2" in text
    assert checks.summary([checks.Check("A", True, "fine")], seconds=3)[1]


# --- mail, forms, processes ------------------------------------------------------------------------


def test_the_link_is_read_from_a_django_message():
    message = EmailMultiAlternatives(
        "Please acknowledge: Head office plan (version 2)",
        "Please read it:\n\nhttp://bcp.example/ack/l/Ab3-9.xYz_Q/\n\nThe full plan: http://bcp.example/plans/1/",
        "bcp@localhost", ["Member.One@example.org"],
    )
    message.attach_alternative("<p>html</p>", "text/html")
    mail = parse_mail(message.message().as_bytes())
    assert mail.is_ack_link and mail.recipients == ("member.one@example.org",) and mail.ack_token == "Ab3-9.xYz_Q"


def test_the_sink_saves_each_message_whole(tmp_path):
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(tmp_path / "sink.tsv"), str(tmp_path), "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        message = MIMEText("Your link: http://bcp.example/ack/l/tok-1/\n")
        message["Subject"], message["To"], message["From"] = "Please acknowledge: P (version 1)", "a@x.org", "b@x.org"
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
        mailbox = Mailbox(tmp_path)
        deadline = time.monotonic() + 5
        while not mailbox.ack_links() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mailbox.ack_links() == [("a@x.org", "tok-1")]
        assert "a@x.org\tPlease acknowledge" in (tmp_path / "sink.tsv").read_text()
    finally:
        sink.terminate()
        sink.wait()


def test_forms_are_read_as_a_browser_posts_them():
    html = """
    <form method="post" action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="t"></form>
    <form method="post" action="">
      <input type="hidden" name="csrfmiddlewaretoken" value="t"><input name="title" value="Old">
      <select name="impact"><option value="">---</option><option value="3">High</option></select>
      <select name="template"><option value="1">A</option><option value="2" selected>B</option></select>
      <textarea name="notes">
Line</textarea>
      <input type="checkbox" name="on" value="1" checked><input type="checkbox" name="off" value="1">
      <input type="file" name="file"><button type="submit" name="save" value="1">Save</button>
    </form>"""
    logout, form = forms_of(html)
    assert logout.action == "/accounts/logout/"
    assert form.data({"title": "New"}) == [
        ("csrfmiddlewaretoken", "t"), ("title", "New"), ("impact", ""), ("template", "2"), ("notes", "Line"),
        ("on", "1"), ("save", "1"),
    ]
    assert form.option("impact", "high") == "3"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_a_worker_kills_the_work_horse_in_its_own_process_group(tmp_path):
    # RQ forks each job's work horse and puts it in a process group of its own (os.setpgrp): killing
    # only the worker's group would leave the horse sending mail.
    script = (
        "import os, sys, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setpgrp()\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "print(pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    horse = int(worker.stdout.readline())
    Stack.kill_group(worker)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(horse):
        time.sleep(0.05)
    assert worker.returncode is not None
    assert not _alive(horse)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
