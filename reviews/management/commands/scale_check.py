"""The scale-out check (`make scale-check`): two instances, two workers, one database, S3 and Redis.

Outer part (this command as called): a fresh scratch database, Redis's check database flushed,
moto's S3 server with the bucket, the SMTP sink, migrations; then this command again (the inner
part) with the production environment of the instances, so it can seed and read the same
database. Inner part: seed, start two gunicorn instances and two RQ workers, drive the journey
through both instances, kill a worker mid-send, check, print PASS/FAIL per check. Every process is
stopped at the end, on failure and on Ctrl-C too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.benchmark import server
from reviews.scalecheck import checks, stack
from reviews.scalecheck.browser import FlowError, RequestLog
from reviews.scalecheck.delivery import deliver_with_kill
from reviews.scalecheck.journey import Journey, seed
from reviews.scalecheck.mailbox import Mailbox

INNER = "BCP_SCALE_INNER"
DEFAULT_DATABASE_URL = "mysql://bcp:bcp@127.0.0.1:3306/test_bcp_scale"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"


def _stop_on_sigterm() -> None:
    """SIGTERM (a CI timeout) ends the run like Ctrl-C: `finally` blocks stop the processes."""
    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up itself is not interrupted
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


class Command(BaseCommand):
    help = (
        "Scale-out check: on a scratch MariaDB database (dropped and created), moto's S3 server, Redis "
        "(its own database number, flushed) with RQ, start two gunicorn instances and two RQ workers, then "
        "drive submit -> approve -> acknowledge -> download alternately through both instances, killing a "
        "worker while it sends the acknowledgement links. Prints PASS/FAIL per check; exits 1 on any FAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database-url", default=os.environ.get("BCP_SCALE_DATABASE_URL") or DEFAULT_DATABASE_URL,
                            help="mysql://user:pass@host:port/name of the scratch database, DROPPED and created "
                                 f"(default $BCP_SCALE_DATABASE_URL or {DEFAULT_DATABASE_URL})")
        parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                            help=f"Redis with the database number the check owns: it is FLUSHED (default "
                                 f"{DEFAULT_REDIS_URL})")
        parser.add_argument("--members", type=int, default=300, help="members who each get a link (default 300)")
        parser.add_argument("--rate-limit-backend", choices=["redis", "database"], default="redis",
                            help="BCP_RATE_LIMIT_BACKEND of the instances (default redis)")
        parser.add_argument("--timeout", type=int, default=180, help="seconds to wait for the mail (default 180)")

    def handle(self, *args, **options):
        if not 1 <= options["members"] <= 100_000:
            raise CommandError("--members must be between 1 and 100000.")
        if not 10 <= options["timeout"] <= 3600:
            raise CommandError("--timeout must be between 10 and 3600 seconds.")
        _stop_on_sigterm()
        try:
            if os.environ.get(INNER) == "1":
                return self._inner(options)
            return self._outer(options)
        except KeyboardInterrupt:
            raise CommandError("Interrupted; every process the check started is stopped.", returncode=130) from None

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    # --- outer: the services and the database, then this command inside the instances' environment --

    def _outer(self, options):
        url = options["database_url"]
        if urlparse(url).scheme not in ("mysql", "mariadb"):
            raise CommandError(f"--database-url {url!r}: the check runs on MariaDB/MySQL (mysql://...).")
        if urlparse(options["redis_url"]).scheme not in ("redis", "rediss", "unix"):
            raise CommandError(f"--redis-url {options['redis_url']!r}: use redis://host:port/db.")
        var_dir = Path(settings.BASE_DIR) / "var" / "scale_check"
        var_dir.mkdir(parents=True, exist_ok=True)
        for old_log in var_dir.glob("*.log"):
            old_log.unlink()
        started = time.monotonic()
        server.prepare_database(url, scale="scale-check", rebuild=True)  # drop and create
        stack.redis_flush(options["redis_url"])
        processes = stack.Stack(var_dir)
        inner = None
        try:
            endpoint = processes.start_moto()
            smtp_port = processes.start_sink(var_dir / "mail")
            env = stack.scale_env(database_url=url, var_dir=var_dir, redis_url=options["redis_url"],
                                  s3_endpoint=endpoint, smtp_port=smtp_port,
                                  rate_limit_backend=options["rate_limit_backend"])
            self.say(f"Scale-out check: database {url.rsplit('@', 1)[-1]} (fresh), S3 {endpoint} (moto), Redis "
                     f"{options['redis_url']} (flushed), SMTP sink on port {smtp_port}; logs in {var_dir}")
            self.say("Migrating ...")
            server.migrate(env)
            self.say(f"  migrated in {time.monotonic() - started:.0f} s")
            env[INNER] = "1"
            env[INNER + "_STARTED"] = str(time.time() - (time.monotonic() - started))  # for the total time
            argv = [sys.executable, server.MANAGE, "scale_check", "--members", str(options["members"]),
                    "--timeout", str(options["timeout"]), "--rate-limit-backend", options["rate_limit_backend"]]
            inner = subprocess.Popen(argv, env=env)
            code = inner.wait()
        except BaseException as error:
            if inner is not None and inner.poll() is None:
                if not isinstance(error, KeyboardInterrupt):  # Ctrl-C reached the inner part already
                    inner.send_signal(signal.SIGTERM)
                try:
                    inner.wait(60)  # it stops its gunicorns and workers
                except subprocess.TimeoutExpired:
                    inner.kill()
                    inner.wait()
            raise
        finally:
            processes.stop()
        if code != 0:
            sys.exit(code)

    # --- inner: DATABASE_URL, storage, mail and tasks are the instances' own ---

    def _inner(self, options):
        started = time.monotonic()
        var_dir = Path(os.environ["BCP_VAR_DIR"])
        env = dict(os.environ)
        processes = stack.Stack(var_dir)
        log = RequestLog()
        results: list[checks.Check] = []
        try:
            results = self._run(options, processes, env, log, var_dir, started)
        except (FlowError, CommandError) as error:  # a step failed: say which, then the summary
            results.append(checks.Check("Journey", False, str(error)))
        finally:
            processes.stop()
        results.append(checks.errors_check(server_errors=log.server_errors, requests=log.count))
        total = time.time() - float(os.environ.get(INNER + "_STARTED") or time.time() - (time.monotonic() - started))
        text, ok = checks.summary(results, seconds=total)
        self.say("\n" + text)
        if not ok:
            sys.exit(1)

    def _run(self, options, processes, env, log, var_dir, started) -> list[checks.Check]:
        def step(text):
            self.say(f"[{time.monotonic() - started:5.1f} s] {text}")

        if stack.collect_static(var_dir):
            step("Static files collected")
        seeded = seed(options["members"])
        step(f"Seeded an editor, two reviewers and {options['members']} members; starting two gunicorn "
             f"instances and two RQ workers")
        instances = [processes.start_gunicorn(env, name) for name in ("gunicorn-a", "gunicorn-b")]
        workers = [processes.start_worker(env, f"worker-{n}") for n in (1, 2)]
        for instance in instances:
            instance.wait_ready()
        journey = Journey(bases=[instance.base for instance in instances], log=log, seeded=seeded)
        facts = journey.prepare_plan()
        step(f"Editor: plan {facts.plan_id} written, attachment uploaded, version {facts.version} submitted")
        journey.approve(facts.plan_id, seeded.reviewers[0])
        mailbox = Mailbox(var_dir / "mail")
        seconds = journey.approve(facts.plan_id, seeded.reviewers[1])
        step(f"Both reviewers approved (the final approval POST took {seconds:.2f} s); links are being sent")
        expected = set(seeded.people)
        delivery = deliver_with_kill(
            stack=processes, env=env, workers=workers, mailbox=mailbox, expected=expected,
            lease=float(env["BCP_OUTBOX_LEASE_SECONDS"]), kill_after=max(1, len(expected) // 3),
            timeout=options["timeout"], say=self.say,
        )
        links = mailbox.ack_links()
        step(f"{len({r for r, _ in links})} people have their link ({len(links)} link mails) after "
             f"{delivery.seconds:.1f} s" + ("" if delivery.done else " (timed out waiting for the rest)"))
        first_token = {}
        for recipient, token in links:
            first_token.setdefault(recipient, token)
        thanked, repeats, told_done = journey.acknowledge(sorted(first_token.items()))
        step(f"{thanked} people acknowledged through their links, alternating instances")
        downloads, verified = journey.exports(facts.plan_id, facts.version)
        step("PDF and DOCX downloaded from both instances and checked on the verify page")
        from reviews.ack_mail import RESEND_PER_IP_PER_HOUR  # the limit the instances apply

        answers = self._rate_limit(journey, next(iter(first_token.values()), ""), RESEND_PER_IP_PER_HOUR)
        step(f"'New link' pressed {len(answers)} times alternating instances")
        journey_check = checks.Check(
            "Journey through both instances", True,
            f"plan {facts.plan_id} v{facts.version}: written, attached, submitted, approved by 2 reviewers, "
            f"acknowledged by {thanked}, downloaded ({log.count:,} requests)")
        return [journey_check, *self._checks(
            facts=facts, seeded=seeded, links=links, delivery=delivery, thanked=thanked, repeats=repeats,
            told_done=told_done, downloads=downloads, verified=verified, answers=answers,
            limit=RESEND_PER_IP_PER_HOUR, journey=journey,
        )]

    @staticmethod
    def _rate_limit(journey: Journey, token: str, limit: int) -> list[tuple[str, int]]:
        """limit + 2 requests within one hourly window (again if the hour turned meanwhile)."""
        for _attempt in range(2):
            window = int(time.time()) // 3600
            answers = journey.new_link_requests(token, limit + 2)
            if int(time.time()) // 3600 == window:
                break
        return answers

    def _checks(self, *, facts, seeded, links, delivery, thanked, repeats, told_done, downloads, verified,
                answers, limit, journey) -> list[checks.Check]:
        from django.db.models import Count

        from plans.exports import EXPORT_KIND
        from plans.models import Attachment, IssuedFile, Notification
        from reviews.models import Ack, AckCount

        endpoint = os.environ["AWS_S3_ENDPOINT_URL"]
        # Every file issued for the version: the PDF and DOCX ("pdf"/"docx"), and the break-glass pack's files.
        rows = [{"kind": EXPORT_KIND.get(row.kind, row.kind), "marking": row.marking, "sha256": row.sha256,
                 "storage_path": row.storage_path}
                for row in IssuedFile.objects.filter(plan_id=facts.plan_id, version__version_number=facts.version)]
        approved = {row["kind"]: row["sha256"] for row in rows
                    if row["marking"] == IssuedFile.Marking.APPROVED and row["kind"] in ("pdf", "docx")}
        attachment = Attachment.objects.get(plan_id=facts.plan_id)
        stored = stack.s3_objects(endpoint, attachment.storage_path).get(attachment.storage_path)
        statuses = dict(Notification.objects.values_list("status").annotate(n=Count("id")).order_by())
        return [
            checks.links_check(expected=seeded.people, delivered=[recipient for recipient, _ in links]),
            checks.kill_check(killed_at_links=delivery.killed_at_links, total=len(seeded.people),
                              requeued=delivery.requeued, sweeps=delivery.sweeps),
            checks.outbox_check(statuses=statuses),
            checks.acks_check(
                expected_user_ids=seeded.people.values(),
                ack_user_ids=list(Ack.objects.filter(plan_id=facts.plan_id, ack_version_number=facts.version)
                                  .values_list("user_id", flat=True)),
                confirmed=thanked, repeats_told_done=told_done, repeats=repeats,
                stored_count=AckCount.objects.filter(plan_id=facts.plan_id, version_number=facts.version)
                .values_list("acknowledged", flat=True).first(),
            ),
            checks.issued_files_check(plan_id=facts.plan_id, version=facts.version, rows=rows,
                                      objects=stack.s3_objects(endpoint, f"exports/plan-{facts.plan_id}/")),
            checks.downloads_check(downloads=downloads, verified=verified, recorded=approved),
            checks.attachment_check(uploaded=facts.attachment, stored=stored, storage_path=attachment.storage_path,
                                    downloads=journey.attachment_downloads(facts.plan_id, attachment.pk)),
            checks.rate_limit_check(answers=answers, limit=limit),
        ]
