"""A refusal (403) is logged once, as a warning naming the path and the person, without a traceback;
and the site's icon is there for every browser."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from bcp_site.testing import make_user

pytestmark = pytest.mark.django_db


def _records_of(caplog, path: str) -> list[logging.LogRecord]:
    """Every record of the request: what mentions its path, and anything at WARNING or above."""
    return [r for r in caplog.records if path in r.getMessage() or r.levelno >= logging.WARNING]


def test_a_permission_denied_is_one_warning_without_a_traceback(client, caplog):
    nomad = make_user(None, username="nomad", groups=["BCP Editor"])  # may create plans, but has no organisation
    client.force_login(nomad)
    path = reverse("plans:plan_create")
    with caplog.at_level(logging.DEBUG):
        response = client.get(path)

    assert response.status_code == 403
    assert "You are not a member of an organisation" in response.content.decode()  # the site's 403 page
    [record] = _records_of(caplog, path)
    assert record.levelno == logging.WARNING and record.exc_info is None and record.exc_text is None
    assert record.getMessage() == (
        f"Forbidden (Permission denied): {path} (user nomad (id {nomad.pk})): "
        "You are not a member of an organisation, so you cannot create plans."
    )


def test_a_refusal_without_a_reason_names_the_person(client, member, caplog):
    client.force_login(member)  # a viewer: no permission to create plans (the decorator refuses)
    path = reverse("plans:plan_create")
    with caplog.at_level(logging.DEBUG):
        assert client.get(path).status_code == 403
    [record] = _records_of(caplog, path)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == f"Forbidden (Permission denied): {path} (user member (id {member.pk}))"


def test_a_csrf_failure_is_one_warning_naming_the_person(member, caplog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    path = reverse("plans:search")
    with caplog.at_level(logging.DEBUG):
        assert client.post(path, {"q": "x"}).status_code == 403
    [record] = _records_of(caplog, path)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == f"Forbidden (CSRF cookie not set.): {path} (user member (id {member.pk}))"


def test_an_anonymous_csrf_failure_says_so(caplog):
    path = reverse("password_reset")
    with caplog.at_level(logging.DEBUG):
        assert Client(enforce_csrf_checks=True).post(path, {"email": "a@example.org"}).status_code == 403
    [record] = _records_of(caplog, path)
    assert record.getMessage() == f"Forbidden (CSRF cookie not set.): {path} (user anonymous)"


def test_other_request_warnings_are_left_as_they_are(client, member, caplog):
    client.force_login(member)
    path = "/no-such-page/"
    with caplog.at_level(logging.DEBUG):
        assert client.get(path).status_code == 404
    [record] = _records_of(caplog, path)
    assert record.getMessage() == f"Not Found: {path}"


def test_a_request_warning_reaches_the_console_once(settings):
    """Django gives its own logger a console handler in debug mode; with the root's, every line was printed twice."""
    settings.DEBUG = True  # Django's handler printed only in debug mode
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x/",), None)
    consoles = []
    logger = logging.getLogger("django.request")
    while logger is not None:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue  # the test's own log capture
            prints = isinstance(handler, logging.StreamHandler) and record.levelno >= handler.level
            if prints and handler.filter(record):
                consoles.append(handler)
        logger = logger.parent if logger.propagate else None
    assert len(consoles) == 1, consoles


# --- the icon ----------------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_icon_and_pages_link_it(client, bcp_admin):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content) if icon.streaming else b"<svg" in icon.content

    assert f'<link rel="icon" href="{response["Location"]}" type="image/svg+xml">' in (
        client.get(reverse("login")).content.decode())
    client.force_login(bcp_admin)
    assert f'<link rel="icon" href="{response["Location"]}" type="image/svg+xml">' in (
        client.get(reverse("admin:index")).content.decode())
