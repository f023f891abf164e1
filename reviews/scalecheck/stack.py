"""The processes of the scale-out check and their environment.

Reuses the benchmarks' pieces: `reviews.benchmark.server` (free ports, `Gunicorn`, the production
environment `bench_env`) and the SMTP sink script of `bench_outbox`. Every process started here is
remembered and stopped by `Stack.stop()`, which the command calls in a `finally` (failure, Ctrl-C).
Gunicorn and the RQ workers run in sessions of their own, so a worker and the work horse it forks
(in the worker's session, in a process group of its own) are killed together, as when a machine dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.core.management.base import CommandError

from reviews.benchmark import server
from reviews.management.commands.bench_outbox import SINK

BUCKET = "bcp-scale-check"
REGION = "us-east-1"
# The address the acknowledgement links name: a load balancer in front of both instances. The
# check opens each link on one instance or the other, as a load balancer would send it.
SITE_URL = "http://bcp.scale-check.invalid"
# Small batches and a short lease, so two workers share the mail and the sweeper's wait is short.
OUTBOX = {"BCP_MAIL_BATCH_SIZE": "20", "BCP_OUTBOX_ROWS_PER_TASK": "40", "BCP_OUTBOX_MAX_TASKS": "4",
          "BCP_OUTBOX_LEASE_SECONDS": "5"}
SINK_DELAY = 0.01  # seconds the SMTP sink takes per message: sending lasts long enough to be interrupted


def scale_env(*, database_url: str, var_dir: Path, redis_url: str, s3_endpoint: str, smtp_port: int,
              rate_limit_backend: str) -> dict[str, str]:
    """Production settings on the scratch database, S3 (moto), RQ on Redis, SMTP to the sink."""
    env = server.bench_env(database_url, var_dir=var_dir)
    env.update({
        "STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": REGION, "AWS_ACCESS_KEY_ID": "scale-check", "AWS_SECRET_ACCESS_KEY": "scale-check",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port), "BCP_TASKS_BACKEND": "rq", "REDIS_URL": redis_url,
        "BCP_RATE_LIMIT_BACKEND": rate_limit_backend, "SITE_URL": SITE_URL,
        # Plain HTTP on 127.0.0.1: cookies must not be HTTPS-only.
        "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false", "SECURE_SSL_REDIRECT": "false",
        **OUTBOX,
    })
    return env


def redis_flush(url: str) -> None:
    """Empty the check's own Redis database (its number is in the URL)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
        client.flushdb()
    except redis.RedisError as error:
        raise CommandError(f"Redis at {url} does not answer ({error}); start it (`redis-server`).") from None


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="scale-check",
                        aws_secret_access_key="scale-check")


def s3_objects(endpoint: str, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix` in the bucket: key -> bytes."""
    client = s3_client(endpoint)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return found


def collect_static(var_dir: Path) -> bool:
    """`collectstatic` (production settings serve hashed names) unless nothing changed since the last
    run here (the sources' names, sizes and times are remembered); True when it ran. It takes half a
    minute, most of it compressing files that are already there."""
    import hashlib

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.core.management import call_command

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    stamp = var_dir / "staticfiles.sha256"
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return False
    call_command("collectstatic", "--noinput", verbosity=0)
    stamp.write_text(digest.hexdigest())
    return True


class Stack:
    """The processes of one run; `stop()` ends every one still running."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.children: list[subprocess.Popen] = []
        self.gunicorns: list[server.Gunicorn] = []
        self._logs: list = []

    def _log(self, name: str):
        handle = open(self.var_dir / f"{name}.log", "ab")  # closed in stop()
        self._logs.append(handle)
        return handle

    # --- services --------------------------------------------------------------------------

    def start_moto(self) -> str:
        """moto's S3 server on a free port, with the bucket; returns its endpoint URL."""
        port = server.free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=self._log("moto"), stderr=subprocess.STDOUT)
        self.children.append(moto)
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            if moto.poll() is not None:
                raise CommandError(f"moto's server stopped (exit {moto.returncode}); see {self.var_dir}/moto.log")
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise CommandError("moto's server did not answer within 30 s.") from None
                time.sleep(0.2)
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        return endpoint

    def start_sink(self, folder: Path) -> int:
        """The SMTP sink (aiosmtpd, its own process) saving every message in `folder`; returns its port."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()
        port = server.free_port()
        sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(folder / "sink.tsv"), str(folder),
                                 str(SINK_DELAY)], stdout=subprocess.PIPE, stderr=self._log("sink"), text=True)
        self.children.append(sink)
        if sink.stdout.readline().strip() != "ready":
            raise CommandError(f"The SMTP sink did not start; see {self.var_dir}/sink.log")
        return port

    # --- the application -------------------------------------------------------------------

    def start_gunicorn(self, env: dict[str, str], name: str) -> server.Gunicorn:
        instance = server.Gunicorn(env, log=self.var_dir / f"{name}.log")
        self.gunicorns.append(instance)
        return instance

    def start_worker(self, env: dict[str, str], name: str) -> subprocess.Popen:
        """`manage.py rqworker default --with-scheduler` in a session of its own."""
        worker = subprocess.Popen([sys.executable, server.MANAGE, "rqworker", "default", "--with-scheduler"],
                                  env=env, stdout=self._log(name), stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append(worker)
        return worker

    def manage(self, env: dict[str, str], *args: str) -> str:
        """Run a management command with `env`; its output (CommandError when it fails)."""
        done = subprocess.run([sys.executable, server.MANAGE, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(f"manage.py {' '.join(args)} failed (exit {done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")
        return done.stdout.strip()

    @staticmethod
    def kill_group(process: subprocess.Popen) -> None:
        """SIGKILL the process and everything in its session, as when its machine dies: an RQ worker, its
        scheduler and its work horse (which RQ puts in a process group of its own, in the same session)."""
        members = [process.pid]
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if int(entry.name) != process.pid and os.getsid(int(entry.name)) == process.pid:
                    members.append(int(entry.name))
            except (ProcessLookupError, PermissionError, ValueError):
                continue
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    @staticmethod
    def _signal(child: subprocess.Popen, number: int) -> None:
        """Signal a child; a session leader (worker) with its whole session, so no work horse outlives it."""
        if child.poll() is not None:
            return
        try:
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, number)
            else:
                child.send_signal(number)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for instance in self.gunicorns:
            try:
                instance.stop()
            except OSError:
                pass
        for child in self.children:
            self._signal(child, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                self.kill_group(child)
        for handle in self._logs:
            handle.close()
        self.children.clear()
        self.gunicorns.clear()
