"""Benchmark the pages people use most on MariaDB with gunicorn and wrk (`make bench`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from reviews.benchmark import data, measure, report, server

INNER = "BCP_BENCH_INNER"


class Command(BaseCommand):
    help = (
        "Build a benchmark data set in its own MariaDB database (1,000 and 100,000 plans, a large plan, an "
        "organisation of 10,000 people; built once, then reused), serve it with gunicorn (2 sync workers, "
        "DEBUG off), measure each page with wrk beside a bare view and the admin login page, "
        "count queries, explain every query (MariaDB's ANALYZE), and print a markdown table. It is a report: it "
        "exits 0 whatever the figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database-url", help="mysql://user:pass@host:port/name of the bench database "
                            f"(default: $BCP_BENCH_DATABASE_URL or {server.DEFAULT_URL}); the user must be "
                            "allowed to create and drop it")
        parser.add_argument("--duration", type=int, help="seconds of wrk per page (default 10; 3 with --quick)")
        parser.add_argument("--quick", action="store_true",
                            help="a smoke run: smaller data (10,000 plans, 2,000 people) in <name>_quick")
        parser.add_argument("--rebuild", action="store_true", help="drop and build the data again")
        parser.add_argument("--keep-server", action="store_true",
                            help="leave gunicorn running afterwards (its address and cookies are printed)")

    def handle(self, *args, **options):
        if options["duration"] is None:
            options["duration"] = 3 if options["quick"] else 10
        if not 1 <= options["duration"] <= 600:
            raise CommandError("--duration must be between 1 and 600 seconds.")
        if os.environ.get(INNER) == "1":
            return self._inner(options)
        return self._outer(options)

    # --- outer: the database, migrations, then this command again inside the bench environment ---

    def _outer(self, options):
        scale = data.QUICK if options["quick"] else data.FULL
        url = server.bench_url(options["database_url"], quick=options["quick"])
        server.wrk_path()  # before minutes of building: without wrk nothing can be measured
        cached = server.prepare_database(url, scale=scale.name, rebuild=options["rebuild"])
        var_dir = Path(settings.BASE_DIR) / "var" / ("bench_quick" if options["quick"] else "bench")
        env = server.bench_env(url, var_dir=var_dir)
        env[INNER] = "1"
        self.stdout.write(f"Bench database {url.rsplit('@', 1)[-1]}: "
                          f"{'data found, reused (--rebuild builds it again)' if cached else 'building'}; migrating")
        server.migrate(env)
        argv = [sys.executable, server.MANAGE, "bench_pages", "--duration", str(options["duration"])]
        argv += [flag for flag in ("--quick", "--keep-server") if options[flag.lstrip("-").replace("-", "_")]]
        done = subprocess.run(argv, env=env)
        if done.returncode != 0:
            raise CommandError(f"The benchmark stopped (exit {done.returncode}).")

    # --- inner: DATABASE_URL is the bench database, settings are production's ---

    def _inner(self, options):
        scale = data.QUICK if options["quick"] else data.FULL
        duration = options["duration"]
        found = server.marker(os.environ["DATABASE_URL"])
        if found is None:
            started = time.monotonic()
            self.stdout.write(f"Building the {scale.name} data set…")
            info = data.build_bench_data(scale, say=self.stdout.write)
            server.write_marker(scale=scale.name, info=info)
            self.stdout.write(f"Built in {time.monotonic() - started:.0f} s.")
        else:
            info = found["info"]
        server.analyze_tables()
        call_command("collectstatic", "--noinput", verbosity=0)  # production settings serve hashed names
        wrk = server.wrk_path()
        pages = measure.pages(info, big_plans=scale.big_plans + 1, crowd_people=scale.crowd_people,
                              small_plans=scale.small_plans)
        clients = measure.sessions(info)
        results = []
        for page in pages:
            result = report.PageResult(key=page.key, label=page.label, url=page.path, allowed=page.allowed)
            measure.in_process(page, clients[page.who], result)
            results.append(result)
        self.stdout.write(f"Queries counted and explained; measuring {len(pages)} pages for {duration} s each…")
        load_before = os.getloadavg()[0]
        gunicorn = server.Gunicorn(dict(os.environ), log=Path(os.environ["BCP_VAR_DIR"]) / "gunicorn.log")
        try:
            gunicorn.wait_ready()
            for page, result in zip(pages, results, strict=True):
                if result.status == 200:
                    measure.over_http(page, result, base=gunicorn.base, cookie_header=measure.cookie(clients[page.who]),
                                      wrk=wrk, duration=duration, server=gunicorn)
                self.stdout.write(f"  {page.label}: {report.ms(result.time_ms)}")
        finally:
            if options["keep_server"]:
                self._kept(gunicorn, clients)
            else:
                gunicorn.stop()
        setup = (f"gunicorn, 2 sync workers, DEBUG off, MariaDB; wrk -t2 -c8 -d{duration}s; sessions of each "
                 f"organisation's BCP Admin; {os.cpu_count()} CPUs, load average {load_before:.1f} before the "
                 f"measurements and {os.getloadavg()[0]:.1f} after.")
        if max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1):
            setup += (" The machine was busy with other work: every figure is lower than on a quiet machine, "
                      "compare pages within this run.")
        self.stdout.write("\n" + report.render(results, counts=data.data_counts(), setup=setup))

    def _kept(self, gunicorn, clients):
        self.stdout.write(f"gunicorn keeps running at {gunicorn.base} (pid {gunicorn.process.pid}; "
                          f"stop it with `kill {gunicorn.process.pid}`). Session cookies:")
        for who, client in clients.items():
            if who:
                self.stdout.write(f"  {who}: {measure.cookie(client)}")
