"""Helpers for the outbox tests: a real SMTP server that can refuse, and workers in other processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bcp_site.mail import RenderedEmail
from bcp_site.pytest_plugin import _free_port

ROOT = Path(__file__).resolve().parents[2]


def plain_render(notification) -> RenderedEmail:
    """The test kind's renderer: the subject and text come from the row's context."""
    context = notification.context_json
    return RenderedEmail(context.get("subject", "Hello"), context.get("text", "Plain text"), "")


def register_plain_renderer() -> None:
    from plans.models import Notification
    from plans.outbox import register_renderer

    register_renderer(Notification.Kind.OTHER, plain_render)


class Sink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every accepted message.

    `refuse` maps an address to the reply its RCPT gets ("550 5.1.1 No such user",
    "451 4.3.0 Try again later"); `delay` slows every DATA down (seconds), so a test can
    kill a worker in the middle of a run.
    """

    def __init__(self, *, delay: float = 0.0):
        from aiosmtpd.controller import Controller

        server_log = logging.getLogger("mail.log")
        server_log.propagate = False
        server_log.handlers = [logging.NullHandler()]
        self.refuse: dict[str, str] = {}
        self.delay = delay
        self.received: list[tuple[str, str]] = []  # (recipient, subject)
        self.sessions = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                with sink.lock:
                    sink.sessions += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = sink.refuse.get(address)
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                message = email.message_from_bytes(envelope.content, policy=policy.default)
                with sink.lock:
                    for address in envelope.rcpt_tos:
                        sink.received.append((address, str(message["Subject"])))
                if sink.delay:
                    time.sleep(sink.delay)  # blocks the server's loop: one message at a time, slowly
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def to(self, address: str) -> list[str]:
        with self.lock:
            return [subject for rcpt, subject in self.received if rcpt == address]

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def use(self, settings) -> None:
        """Point Django's SMTP backend at this server."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", self.port
        settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
        settings.EMAIL_TIMEOUT = 5


# --- a project copy with its own database file, driven from other processes -------------------


def shared_database_url(tmp_path: Path) -> str:
    """A DATABASE_URL through which other processes see the test database (transaction=True tests).

    MariaDB: the test database itself (committed rows are visible to every connection). SQLite
    (in memory): a copy in a file, made with SQLite's backup API, shared from then on.
    """
    from django.db import connection

    connection.ensure_connection()
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        import sqlite3

        path = tmp_path / "outbox.sqlite3"
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{path}"
    return f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


class OtherProcesses:
    """The project run by separate Python processes against one database (a worker is one of them).

    Each `script` is Python run after django.setup() with `settings` overrides applied and the
    plain test renderer registered; it may print one JSON line, which `run` returns.
    """

    def __init__(self, database_url: str, *, email_port: int | None = None, overrides: dict | None = None):
        self.database_url = database_url
        self.email_port = email_port
        self.overrides = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"], **(overrides or {})}

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
        env.update({
            "DEBUG": "true", "SECRET_KEY": "outbox-test-key", "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "bcp_site.settings", "STORAGE_BACKEND": "local",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        })
        env.pop("EMAIL_HOST", None)
        if self.email_port is not None:
            env.update({"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.email_port)})
        return env

    def _code(self, script: str) -> str:
        return "\n".join([
            "import json, django",
            "django.setup()",
            "from django.conf import settings",
            *(f"settings.{name} = {value!r}" for name, value in self.overrides.items()),
            "from plans.tests.outbox_support import register_plain_renderer",
            "register_plain_renderer()",
            script,
        ])

    def start(self, script: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", self._code(script)], cwd=ROOT, env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def run(self, script: str, timeout: float = 120):
        proc = self.start(script)
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"subprocess failed ({proc.returncode}):\n{err[-4000:]}")
        lines = [line for line in out.splitlines() if line.startswith(("{", "["))]
        return json.loads(lines[-1]) if lines else None
