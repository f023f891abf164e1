"""`make run PORT=8080`: the server listens on that port, and the login address printed by the demo
and the links in emails (SITE_URL) follow it, unless SITE_URL is set."""

import os
import re
import shlex
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from bcp_site import devrun

BASE_DIR = Path(__file__).resolve().parents[2]


def make_run_dry(*args: str, **environ: str) -> dict[str, str]:
    """`make -n run ARGS`: the recipe's command for each step (migrate, seed_demo, devrun)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SITE_URL", "HOST", "PORT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update(environ)
    result = subprocess.run(["make", "-n", "run", *args], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    steps = {}
    for line in result.stdout.splitlines():
        for step in ("migrate", "seed_demo", "bcp_site.devrun"):
            if re.search(rf"(manage\.py|-m) {re.escape(step)}\b", line):
                steps[step] = line
    assert set(steps) == {"migrate", "seed_demo", "bcp_site.devrun"}, result.stdout
    return steps


def site_url_of(line: str) -> str:
    words = shlex.split(line.replace("${DEBUG:-true}", "true"))
    return dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=.*", word))["SITE_URL"]


def settings_site_url(site_url: str) -> str:
    """SITE_URL as the application reads it (a fresh process, as `make run` starts it)."""
    code = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bcp_site.settings", "DEBUG": "true", "SITE_URL": site_url}
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()


def test_make_run_port_reaches_the_server_and_the_site_url():
    steps = make_run_dry("PORT=8080")
    assert shlex.split(steps["bcp_site.devrun"].split("#")[0])[-1] == "127.0.0.1:8080"
    for line in steps.values():
        assert site_url_of(line) == "http://127.0.0.1:8080"

    steps = make_run_dry("PORT=8080", "HOST=0.0.0.0")
    assert shlex.split(steps["bcp_site.devrun"].split("#")[0])[-1] == "0.0.0.0:8080"

    # Without PORT: the usual address.
    steps = make_run_dry()
    assert shlex.split(steps["bcp_site.devrun"].split("#")[0])[-1] == "127.0.0.1:8000"
    assert site_url_of(steps["seed_demo"]) == "http://127.0.0.1:8000"


def test_site_url_set_by_the_user_wins_over_the_port():
    steps = make_run_dry("PORT=8080", SITE_URL="https://bcp.example.org")
    assert shlex.split(steps["bcp_site.devrun"].split("#")[0])[-1] == "127.0.0.1:8080"
    for line in steps.values():
        assert site_url_of(line) == "https://bcp.example.org"


@pytest.mark.django_db
@pytest.mark.parametrize("make_args, environ, login", [
    (["PORT=8080"], {}, "http://127.0.0.1:8080/accounts/login/"),
    (["PORT=8080"], {"SITE_URL": "https://bcp.example.org/"}, "https://bcp.example.org/accounts/login/"),
])
def test_the_demo_prints_the_login_address_make_run_serves(monkeypatch, make_args, environ, login):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    site_url = settings_site_url(site_url_of(make_run_dry(*make_args, **environ)["seed_demo"]))
    out = StringIO()
    with override_settings(SITE_URL=site_url):
        call_command("seed_demo", stdout=out)
    assert f"Demo users (log in at {login}):" in out.getvalue()
    assert ":8000" not in out.getvalue()


class FakeProcess:
    """Stands in for a child: records its command and the SITE_URL it would inherit, then 'exits'."""

    started: list = []

    def __init__(self, args, start_new_session):
        self.args, self.pid = args, -1
        FakeProcess.started.append((args, os.environ.get("SITE_URL")))

    def poll(self):
        return 0


@pytest.mark.parametrize("site_url, expected", [
    ("", "http://127.0.0.1:8080"),
    ("https://bcp.example.org", "https://bcp.example.org"),
])
def test_devrun_serves_the_address_and_gives_both_processes_the_site_url(monkeypatch, capsys, site_url, expected):
    FakeProcess.started = []
    monkeypatch.setenv("SITE_URL", site_url)  # restored after the test, whatever devrun sets
    monkeypatch.setenv("BCP_TASKS_BACKEND", "database")
    monkeypatch.setattr(devrun.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(devrun, "_signal_group", lambda process, sig: None)
    monkeypatch.setattr(devrun.signal, "signal", lambda signum, handler: signal.getsignal(signum))
    assert devrun.main(["127.0.0.1:8080"]) == 0
    (server, server_site), (worker, worker_site) = FakeProcess.started
    assert server[-2:] == ["runserver", "127.0.0.1:8080"]
    assert worker[-2:] == ["db_worker", "--no-startup-delay"]
    assert server_site == worker_site == expected
    assert "Starting the web server on http://127.0.0.1:8080/" in capsys.readouterr().out


def test_devrun_reads_a_bare_port_as_runserver_does():
    assert devrun.site_url_for("8080") == "http://127.0.0.1:8080"
    assert devrun.site_url_for("0.0.0.0:9000") == "http://0.0.0.0:9000"
    assert devrun.build_commands("127.0.0.1:8080", "immediate")[0][-2:] == ["runserver", "127.0.0.1:8080"]
    assert len(devrun.build_commands("127.0.0.1:8080", "immediate")) == 1
