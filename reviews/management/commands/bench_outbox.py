"""Benchmark the outbox: approve a plan with N recipients, deliver with real workers, kill one mid-send.

Everything runs in processes of its own, as in production: a scratch database (MariaDB by default,
`bcp_bench_outbox`, dropped and created again), an SMTP sink (aiosmtpd) that writes down every
message it accepts, and `db_worker` task workers. The approval is a real POST (Django's test
client). Prints the POST time, the delivery rate, and delivered / duplicates / missing.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

ROOT = Path(settings.BASE_DIR)
SINK = r"""
import asyncio, itertools, os, sys, time
from aiosmtpd.controller import Controller
port, path = int(sys.argv[1]), sys.argv[2]
# Optional (manage.py scale_check): a folder where each message is also saved whole (NNNNNN.eml,
# complete once it has that name), and seconds to wait before accepting each message.
keep = sys.argv[3] if len(sys.argv) > 3 else ""
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
numbers = itertools.count(1)
out = open(path, "a", buffering=1)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        if delay:
            await asyncio.sleep(delay)
        if keep:
            name = os.path.join(keep, f"{next(numbers):06d}")
            with open(name + ".tmp", "wb") as saved:
                saved.write(envelope.content)
            os.replace(name + ".tmp", name + ".eml")
        subject = next((line[9:] for line in envelope.content.decode("utf-8", "replace").splitlines()
                        if line.startswith("Subject: ")), "")
        for rcpt in envelope.rcpt_tos:
            out.write(f"{rcpt}\t{subject}\n")
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""
LINK_SUBJECT = "Please acknowledge"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = (
        "Benchmark the outbox on a scratch database (default MariaDB bcp_bench_outbox, dropped first): "
        "approve a plan with --recipients people (POST time), deliver the links with --workers db_worker "
        "processes to an aiosmtpd sink in its own process (mails/s), kill one worker after --kill-after "
        "mails and start it again, then report delivered, duplicates and missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=10_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--kill-after", type=int, default=3_000,
                            help="kill a worker once the sink has this many links (0: never)")
        parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/bcp_bench_outbox",
                            help="the scratch database (mysql://... is dropped and created; sqlite:///... removed)")
        parser.add_argument("--lease", type=int, default=5, help="outbox lease in seconds (the sweeper's wait)")
        parser.add_argument("--timeout", type=int, default=600, help="give up waiting for delivery after this long")
        # The part run against the scratch database, in a process of its own.
        parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--profile", action="store_true", help="profile the approval POST")

    def handle(self, *args, **options):
        if options["recipients"] < 1 or options["workers"] < 1:
            raise CommandError("--recipients and --workers must be 1 or more.")
        if options["inner"]:
            return Bench(self, options).run()
        url = options["database_url"]
        self._fresh_database(url)
        env = self._env(url, options)
        self.stdout.write(f"Migrating {url} ...")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        argv = [sys.executable, "manage.py", "bench_outbox", "--inner", *self._passed(options)]
        result = subprocess.run(argv, cwd=ROOT, env=env)
        if result.returncode:
            raise CommandError("The benchmark failed (see above).")

    @staticmethod
    def _passed(options) -> list[str]:
        names = ("recipients", "workers", "kill_after", "database_url", "lease", "timeout")
        passed = [part for name in names for part in (f"--{name.replace('_', '-')}", str(options[name]))]
        return passed + (["--profile"] if options["profile"] else [])

    @staticmethod
    def _env(url: str, options) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update({
            "DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": env.get("SECRET_KEY") or "bench-outbox-not-secret",
            "ALLOWED_HOSTS": "testserver,localhost", "BCP_TASKS_BACKEND": "database", "STORAGE_BACKEND": "local",
            "BCP_OUTBOX_LEASE_SECONDS": str(options["lease"]), "DJANGO_SETTINGS_MODULE": "bcp_site.settings",
            "SECURE_SSL_REDIRECT": "false",
        })
        return env

    def _fresh_database(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            raw = unquote(parsed.path)
            path = Path(raw) if url.startswith("sqlite:////") else ROOT / raw.lstrip("/")
            path.unlink(missing_ok=True)
            return
        if parsed.scheme not in ("mysql", "mariadb"):
            raise CommandError(f"--database-url {url!r}: use mysql://... or sqlite:///...")
        import MySQLdb

        name = unquote(parsed.path.lstrip("/"))
        if not name.replace("_", "").isalnum():
            raise CommandError(f"--database-url: {name!r} is not a plain database name.")
        conn = MySQLdb.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 3306,
                               user=unquote(parsed.username or "root"), passwd=unquote(parsed.password or ""))
        try:
            cursor = conn.cursor()
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        finally:
            conn.close()


class Bench:
    """The benchmark proper, run with DATABASE_URL pointing at the scratch database."""

    def __init__(self, command: BaseCommand, options: dict):
        self.out = command.stdout
        self.options = options
        self.children: list[subprocess.Popen] = []
        self.sink_file = ROOT / "var" / f"bench_outbox_sink_{os.getpid()}.tsv"
        self._read_upto = 0
        self._links: list[str] = []

    def say(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    # --- processes ---------------------------------------------------------------------------

    def start_sink(self) -> int:
        port = _free_port()
        self.sink_file.unlink(missing_ok=True)
        self.sink_file.touch()
        sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(self.sink_file)], stdout=subprocess.PIPE,
                                text=True)
        self.children.append(sink)
        if sink.stdout.readline().strip() != "ready":
            raise CommandError("The SMTP sink did not start.")
        return port

    def start_worker(self, env: dict) -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.children.append(worker)
        return worker

    def links(self) -> list[str]:
        """The recipients of the links the sink accepted so far (read on from where the last call stopped)."""
        with self.sink_file.open() as sink:
            sink.seek(self._read_upto)
            chunk = sink.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self._read_upto += len(complete.encode())
        for line in complete.splitlines():
            rcpt, _tab, subject = line.partition("\t")
            if subject.startswith(LINK_SUBJECT):
                self._links.append(rcpt)
        return self._links

    # --- data ------------------------------------------------------------------------------------

    def seed(self, n: int):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        from bcp_site.testing import make_org, make_plan, make_template, make_user
        from plans.models import Membership
        from reviews.coverage_counts import coverage_recount
        from reviews.services import plan_submit_for_review

        User = get_user_model()
        org = make_org("Outbox benchmark Ltd")
        owner = make_user(org, username="bench_owner", groups=["BCP Editor"])
        reviewer = make_user(org, username="bench_reviewer", groups=["BCP Reviewer"], is_staff=True)
        password = make_password(None)
        people = User.objects.bulk_create(
            (User(username=f"person{i:05d}", email=f"person{i:05d}@example.org", first_name=f"Person {i}",
                  password=password) for i in range(n)),
            batch_size=1000,
        )
        if not all(p.pk for p in people):  # MariaDB returns no ids from a bulk insert
            people = list(User.objects.filter(username__startswith="person"))
        Membership.objects.bulk_create((Membership(user=p, organisation=org) for p in people), batch_size=1000)
        coverage_recount(org.pk)  # bulk inserts send no signals
        plan = make_plan(org, owner, template=make_template(name="Benchmark template"), title="Benchmark plan")
        [review] = plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        expected = {p.email for p in people} | {owner.email, reviewer.email}
        return plan, review, reviewer, expected

    # --- the run --------------------------------------------------------------------------------

    def run(self):
        from django.db.models import Count
        from django.test import Client
        from django.urls import reverse

        from plans.models import Notification
        from plans.outbox import outbox_sweep

        o = self.options
        # Production settings without `collectstatic`: pages name static files without the manifest.
        settings.STORAGES = {**settings.STORAGES,
                             "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        try:
            port = self.start_sink()
            env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
            os.environ.update({"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)})
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            self.say(f"Seeding {o['recipients']:,} people ...")
            plan, review, reviewer, expected = self.seed(o["recipients"])
            workers = [self.start_worker(env) for _ in range(o["workers"])]
            time.sleep(3)  # the workers start (Django set-up) before the approval

            client = Client()
            client.force_login(reviewer)
            client.get(reverse("reviews:review_detail", args=[review.pk]))  # a running server is warm
            profile = None
            if o.get("profile"):
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            started = time.monotonic()
            response = client.post(reverse("reviews:approve", args=[review.pk]), {"notes": ""})
            post_seconds = time.monotonic() - started
            if profile is not None:
                import io
                import pstats

                profile.disable()
                report = io.StringIO()
                pstats.Stats(profile, stream=report).sort_stats("cumulative").print_stats(45)
                self.say(report.getvalue())
            if response.status_code != 302:
                raise CommandError(f"The approval answered {response.status_code}, not a redirect.")
            self.say(f"Approval POST with {len(expected):,} recipients: {post_seconds:.2f} s")

            killed_at = None
            kill_after = o["kill_after"]
            deadline = time.monotonic() + o["timeout"]
            first_link = None
            last_sweep = time.monotonic()
            while time.monotonic() < deadline:
                links = self.links()
                if links and first_link is None:
                    first_link = time.monotonic()
                if kill_after and killed_at is None and len(links) >= kill_after:
                    victim = workers[0]
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed_at = (time.monotonic(), len(links))
                    self.say(f"Killed a worker (SIGKILL) at {killed_at[1]:,} links; starting it again")
                    workers[0] = self.start_worker(env)
                if len(set(links)) >= len(expected):
                    break
                if killed_at is not None and time.monotonic() - last_sweep > o["lease"] + 1:
                    outbox_sweep()  # what cron runs (`manage.py outbox_sweep`), here in this process
                    last_sweep = time.monotonic()
                time.sleep(0.05)
            done = time.monotonic()
            links = list(self.links())
            unique = set(links)
            statuses = dict(Notification.objects.filter(kind=Notification.Kind.ACK_LINK, plan=plan)
                            .values_list("status").annotate(n=Count("id")))
            total = done - started
            self.say(f"Links delivered: {len(unique):,} of {len(expected):,}; duplicates: {len(links) - len(unique)}; "
                     f"missing: {len(expected - unique)}")
            if killed_at is not None:
                steady = killed_at[1] / (killed_at[0] - started)
                self.say(f"Rate with {o['workers']} workers until the kill: {steady:,.0f} mails/s "
                         f"({killed_at[1]:,} links in {killed_at[0] - started:.1f} s after the POST)")
            self.say(f"Overall: {len(unique):,} links in {total:.1f} s after the POST ({len(unique) / total:,.0f} "
                     f"mails/s, including the kill, the {o['lease']} s lease and the restart)")
            if first_link is not None:
                self.say(f"First link at the sink {first_link - started:.2f} s after the POST started")
            self.say(f"Outbox rows (acknowledgement links): {statuses}")
        finally:
            for child in self.children:
                if child.poll() is None:
                    child.terminate()
            for child in self.children:
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
            self.sink_file.unlink(missing_ok=True)
