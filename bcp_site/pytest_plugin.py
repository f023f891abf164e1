"""Test set-up loaded by pytest before Django (see pytest.ini `-p bcp_site.pytest_plugin`).

Sets the environment the settings need for tests, then provides the shared fixtures:
an organisation with an owner (editor), a member (viewer), a reviewer and an admin,
and an outsider from another organisation.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ["DATABASE_URL"] = os.environ.get("BCP_TEST_DATABASE_URL") or "sqlite:///var/test.sqlite3"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.pop("EMAIL_HOST", None)
os.environ.setdefault("STORAGE_BACKEND", "local")
# Tasks run inside the request that enqueues them, unless a test runs a real worker
# (bcp_site.tasks_support.run_db_worker, or an RQ worker): unrelated tests stay quick.
os.environ.setdefault("BCP_TASKS_BACKEND", "immediate")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test stores files in its own folder, and hashes passwords with a fast hasher.

    Password hashing with the production hasher was most of the suite's time; MD5 is fine
    for throwaway test users (as healthchecks does, "for speed").
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "files"


def _logging_state():
    import logging

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    return {logger: (list(logger.handlers), logger.level, logger.propagate) for logger in loggers}


def _pytest_handler(handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture(autouse=True)
def _logging_restored():
    """Undo the logging changes a test makes, so no handler outlives the stream it writes to.

    A test that runs `manage.py` in-process (ManagementUtility.execute() calls django.setup()
    again) rebuilds the settings' StreamHandlers on that test's captured stderr, which pytest
    closes after the test: every later record (a task's log line, the SMTP server's threads)
    then printed "Logging error ... I/O operation on closed file". pytest's own capture
    handlers, attached per phase, are left alone.
    """
    before = _logging_state()
    yield
    for logger in _logging_state():
        # A logger created during the test keeps no handler it was given there.
        handlers, level, propagate = before.get(logger, ([], logger.level, logger.propagate))
        logger.handlers = [h for h in handlers if not _pytest_handler(h)] + [
            h for h in logger.handlers if _pytest_handler(h)
        ]
        logger.propagate = propagate
        if logger.level != level:
            logger.setLevel(level)


@pytest.fixture
def org(db):
    from bcp_site.testing import make_org

    return make_org("Acme Ltd")


@pytest.fixture
def other_org(db):
    from bcp_site.testing import make_org

    return make_org("Other Corp")


@pytest.fixture
def owner(org):
    """An editor who owns the plan fixture."""
    from bcp_site.testing import make_user

    return make_user(org, username="owner", groups=["BCP Editor"])


@pytest.fixture
def editor(org):
    from bcp_site.testing import make_user

    return make_user(org, username="editor2", groups=["BCP Editor"])


@pytest.fixture
def member(org):
    """A read-only member of the organisation."""
    from bcp_site.testing import make_user

    return make_user(org, username="member", groups=["BCP Viewer"])


@pytest.fixture
def reviewer(org):
    from bcp_site.testing import make_user

    return make_user(org, username="reviewer", groups=["BCP Reviewer"], is_staff=True)


@pytest.fixture
def reviewer2(org):
    from bcp_site.testing import make_user

    return make_user(org, username="reviewer2", groups=["BCP Reviewer"], is_staff=True)


@pytest.fixture
def bcp_admin(org):
    from bcp_site.testing import make_user

    return make_user(org, username="bcpadmin", groups=["BCP Admin"], is_staff=True)


@pytest.fixture
def outsider(other_org):
    """An editor of another organisation: must never see the plan fixture."""
    from bcp_site.testing import make_user

    return make_user(other_org, username="outsider", groups=["BCP Editor", "BCP Reviewer"], is_staff=True)


@pytest.fixture
def template(db):
    from bcp_site.testing import make_template

    return make_template(name="Small template")


@pytest.fixture
def plan(org, owner, template):
    from bcp_site.testing import make_plan

    return make_plan(org, owner, template=template, title="Head office plan")


@pytest.fixture
def empty_database(django_db_setup, django_db_blocker, tmp_path):
    """An empty database of the suite's engine as the default connection, for the test's own
    migrations: a data migration's test migrates forward from nothing to the state before it,
    plants rows, then applies it.

    The suite's database is left alone, so nothing has to migrate backwards through every later
    migration and forward again (Django re-renders its model states at each step: about 50 s a
    test) or reload the suite's data after. The default connection is swapped rather than a second
    alias added, so the migrations' own code (`create_permissions` and the like writes to
    "default") lands in the empty database too.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db import DEFAULT_DB_ALIAS, connections

    with django_db_blocker.unblock():
        main = connections[DEFAULT_DB_ALIAS]
        mysql = main.vendor == "mysql"
        if mysql:  # made on a connection of its own: DDL would commit the test's transaction
            name = f"{main.settings_dict['NAME']}_migrations"[:64]
            with main._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {main.ops.quote_name(name)}")
                cursor.execute(f"CREATE DATABASE {main.ops.quote_name(name)} "
                               "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        else:
            name = str(tmp_path / "migrations.sqlite3")
        empty = main.__class__({**main.settings_dict, "NAME": name}, alias=DEFAULT_DB_ALIAS)
        connections[DEFAULT_DB_ALIAS] = empty
        try:
            yield empty
        finally:
            empty.close()
            connections[DEFAULT_DB_ALIAS] = main
            ContentType.objects.clear_cache()  # ids read from the empty database mean nothing here
            if mysql:
                with main._nodb_cursor() as cursor:
                    cursor.execute(f"DROP DATABASE IF EXISTS {main.ops.quote_name(name)}")


def pytest_sessionstart(session):
    """Stop before the first test when the system lacks a library or tool the suite needs.

    `make test` installs them first when run as root (bcp_site/system_check.py); this catches
    `pytest` run directly, with the same command to run instead of a screen of failures.
    """
    from bcp_site import system_check

    if os.environ.get("BCP_SKIP_SYSTEM_CHECK") == "1":
        return
    lacking = [need for need in system_check.missing(["run", "test"]) if not need.skippable]
    if lacking:
        names = system_check.packages(lacking)
        command = system_check.install_command(names, root=os.geteuid() == 0) if names else ""
        pytest.exit(
            f"the test suite needs what this system lacks: {', '.join(need.what for need in lacking)}. "
            + (f"Install it with `{command}` (or run `make test` as root, which does), " if command else "")
            + "or set BCP_SKIP_SYSTEM_CHECK=1 to run the tests anyway.",
            returncode=4,
        )


def pytest_runtest_setup(item):
    if item.get_closest_marker("mysql_only"):
        from django.conf import settings

        if "mysql" not in settings.DATABASES["default"]["ENGINE"]:
            pytest.skip("needs MariaDB/MySQL row locks: run with BCP_TEST_DATABASE_URL=mysql://...")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

    def __init__(self):
        import logging

        from aiosmtpd.controller import Controller

        # The server's threads log connections after a test's output capture has closed
        # ("Logging error ... I/O operation on closed file"); what tests check is the mail.
        server_log = logging.getLogger("mail.log")
        server_log.propagate = False
        server_log.handlers = [logging.NullHandler()]

        self.messages = []  # email.message.EmailMessage objects, in arrival order
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                message = email.message_from_bytes(envelope.content, policy=policy.default)
                message.envelope_rcpt_tos = list(envelope.rcpt_tos)
                sink.messages.append(message)
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def to(self, address: str):
        return [m for m in self.messages if address in m.envelope_rcpt_tos]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        body = message.get_body(preferencelist=("html",))
        return body.get_content() if body is not None else ""


@pytest.fixture
def smtp_server(settings):
    """Deliver the test's mail to a real local SMTP server; `smtp_server.messages` holds what arrived."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        sink.stop()


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "artifacts")


def _chromium(pw) -> str | None:
    """Debian's Chromium, else the one Playwright downloaded (Ubuntu has no Chromium package); None: neither."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    bundled = pw.chromium.executable_path
    return bundled if bundled and os.path.exists(bundled) else None


@pytest.fixture
def browser_page(live_server, settings):
    """A Playwright page in Debian's headless Chromium, pointed at the live server.

    `page.base_url` is the live server address; `page.shot(name)` saves a screenshot
    under artifacts/ (ignored by git).
    """
    from playwright.sync_api import sync_playwright

    from bcp_site.system_check import library_loads

    if not library_loads("libatomic.so.1"):
        pytest.skip("Playwright's driver needs libatomic.so.1: `apt-get install libatomic1` (make test does it as "
                    "root)")
    settings.SITE_URL = live_server.url
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as pw:
        executable = _chromium(pw)
        if executable is None:
            pytest.skip("Chromium is not installed: on Debian `apt-get install chromium` (make test does it as "
                        "root); elsewhere `.venv/bin/python -m playwright install --with-deps chromium`")
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(15000)
        page = context.new_page()
        page.base_url = live_server.url
        page.shot = lambda name: page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def browser_login(page, username: str, password: str | None = None) -> None:
    """Log in through the login form."""
    from bcp_site.testing import PASSWORD

    page.goto(f"{page.base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
