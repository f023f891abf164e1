"""The benchmark's surroundings: its own database, migrations, a gunicorn server, wrk.

Everything here runs outside Django's database connection: the bench database is created and
checked with a server-level MySQLdb connection, and migrations and gunicorn run as child
processes with `DATABASE_URL` pointing at it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from bcp_site.settings import database_from_url

DEFAULT_URL = "mysql://root@127.0.0.1:3306/bcp_bench"
MARKER_TABLE = "bcp_bench_marker"
# Bump when the data builder changes: a database built by an older builder is rebuilt.
DATA_VERSION = 1
MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
WRK_INSTALL = "apt-get install -y wrk"


def bench_url(option: str | None, *, quick: bool) -> str:
    """The bench database's URL: the option, else BCP_BENCH_DATABASE_URL, else DEFAULT_URL; `--quick`
    data lives in its own database (name + "_quick"), so it never replaces the full data set."""
    url = option or os.environ.get("BCP_BENCH_DATABASE_URL") or DEFAULT_URL
    db = database_from_url(url)
    if db["ENGINE"] != "django.db.backends.mysql":
        raise CommandError(f"The benchmark runs on MariaDB/MySQL; {url!r} is not a mysql:// URL.")
    if not db["NAME"]:
        raise CommandError(f"{url!r} names no database.")
    if quick:
        base, _, query = url.partition("?")
        url = base.rstrip("/") + "_quick" + (f"?{query}" if query else "")
    return url


def _server(url: str):
    import MySQLdb  # the MySQL driver is only needed here (requirements-mysql.txt)

    db = database_from_url(url)
    try:
        return MySQLdb.connect(host=db["HOST"], port=int(db["PORT"]), user=db["USER"], passwd=db["PASSWORD"],
                               charset="utf8mb4"), db["NAME"]
    except MySQLdb.Error as error:
        raise CommandError(f"Cannot connect to the database server of {url!r}: {error}") from None


def marker(url: str) -> dict | None:
    """The bench database's marker (`{"data_version", "scale", "info"}`), or None when it has none."""
    connection, name = _server(url)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                       (name, MARKER_TABLE))
        if cursor.fetchone()[0] == 0:
            return None
        cursor.execute(f"SELECT data_version, scale, info FROM `{name}`.`{MARKER_TABLE}` ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
        return {"data_version": row[0], "scale": row[1], "info": json.loads(row[2])} if row else None
    finally:
        connection.close()


def prepare_database(url: str, *, scale: str, rebuild: bool) -> bool:
    """Create the bench database, or drop and create it again when asked or when its data is missing,
    from another scale or from an older builder. True when the data is there already (cached)."""
    found = None if rebuild else marker(url)
    if found and found["data_version"] == DATA_VERSION and found["scale"] == scale:
        return True
    connection, name = _server(url)
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    except Exception as error:
        raise CommandError(f"Cannot create the database {name!r} (the user needs CREATE and DROP): {error}") from None
    finally:
        connection.close()
    return False


def write_marker(*, scale: str, info: dict) -> None:
    """Record that the data is complete (in the bench database, through Django's connection)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS `{MARKER_TABLE}` (id INT AUTO_INCREMENT PRIMARY KEY, "
                       "data_version INT NOT NULL, scale VARCHAR(20) NOT NULL, built_at DATETIME NOT NULL, "
                       "info LONGTEXT NOT NULL)")
        cursor.execute(f"INSERT INTO `{MARKER_TABLE}` (data_version, scale, built_at, info) VALUES (%s, %s, NOW(), %s)",
                       [DATA_VERSION, scale, json.dumps(info)])


def analyze_tables() -> int:
    """ANALYZE TABLE every table, so the optimiser's choices are those of a database that has lived."""
    from django.db import connection

    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for start in range(0, len(tables), 20):
            chunk = tables[start:start + 20]
            cursor.execute("ANALYZE TABLE " + ", ".join(f"`{t}`" for t in chunk))
            cursor.fetchall()
    return len(tables)


def bench_env(url: str, *, var_dir: Path) -> dict[str, str]:
    """The environment of the benchmark's processes: production settings on the bench database."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "DEBUG": "false",
        "SECRET_KEY": env.get("BCP_BENCH_SECRET_KEY") or secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "BCP_VAR_DIR": str(var_dir),
        "BCP_MEDIA_ROOT": str(var_dir / "files"), "STORAGE_BACKEND": "local", "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "PYTHONUNBUFFERED": "1",
    })
    env.pop("EMAIL_HOST", None)
    return env


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, MANAGE, "migrate", "--noinput", "-v", "0"], env=env)
    if done.returncode != 0:
        raise CommandError(f"manage.py migrate on the bench database failed (exit {done.returncode}).")


def wrk_path() -> str:
    """wrk's path, installing it with apt-get when running as root; else stop with the command to run."""
    found = shutil.which("wrk")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(WRK_INSTALL.split(), env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env)
            subprocess.run(WRK_INSTALL.split(), env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise CommandError(f"wrk is not installed. Install it (Debian/Ubuntu: `sudo {WRK_INSTALL}`) and run again.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, *, cookie: str = "", timeout: float = 120) -> tuple[int, int, float]:
    """(status, body bytes, seconds) of one GET."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, len(body), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, len(error.read()), time.perf_counter() - started


class Gunicorn:
    """`gunicorn bcp_site.wsgi` with 2 sync workers on a free port of 127.0.0.1."""

    def __init__(self, env: dict[str, str], *, log: Path, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bcp_site.wsgi", "--workers", str(workers), "--worker-class", "sync",
             "--bind", f"127.0.0.1:{self.port}", "--timeout", "300", "--graceful-timeout", "5"],
            cwd=settings.BASE_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.log = log

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn stopped (exit {self.process.returncode}); see {self.log}")
            try:
                if get(self.base + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise CommandError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log}")

    def wait_idle(self, timeout: float = 600) -> None:
        """Wait until requests left queued by wrk's last connections are served (three quick answers)."""
        deadline, quick = time.monotonic() + timeout, 0
        while quick < 3 and time.monotonic() < deadline:
            try:
                quick = quick + 1 if get(self.base + "/healthz", timeout=timeout)[2] < 0.05 else 0
            except OSError:
                quick = 0
                time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
