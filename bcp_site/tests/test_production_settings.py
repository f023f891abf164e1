"""Production hardening: HTTPS settings from the environment, and the security headers of every page."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "x7Qp9vLm2R" * 6,  # 64 characters, not all alike
    "ALLOWED_HOSTS": "bcp.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://bcp.example.org",
    "SECURE_PROXY_SSL_HEADER": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def manage(*args, tmp_path, code=None, **env):
    """Run manage.py (or `python -c code`) with only the given configuration: no test overrides."""
    base = {
        k: v for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE",
                     "CSRF_COOKIE_SECURE", "DJANGO_ALLOW_ASYNC_UNSAFE"} and not k.startswith("SECURE_")
    }
    base.update({"BCP_VAR_DIR": str(tmp_path), **env})
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def test_deploy_check_passes_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_deploy_check_names_what_production_lacks(tmp_path):
    env = {**PRODUCTION, "SECURE_HSTS_SECONDS": "0", "SECURE_SSL_REDIRECT": "false"}
    result = manage("check", "--deploy", tmp_path=tmp_path, **env)
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W008" in result.stderr  # no redirect to HTTPS


PRINT_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bcp_site.settings'; django.setup(); "
    "from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
    "getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
)


def test_https_settings_come_from_the_environment(tmp_path):
    result = manage(tmp_path=tmp_path, code=PRINT_SETTINGS, **PRODUCTION)
    assert result.stdout.split("\n")[-2] == (
        "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https') True True"
    ), result.stderr
    defaults = manage(tmp_path=tmp_path, code=PRINT_SETTINGS, DEBUG="false", SECRET_KEY="x" * 50)
    assert defaults.stdout.split("\n")[-2] == "False 0 False False None True True", defaults.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS=-1 must be 0"),
        ({"SECURE_SSL_REDIRECT": "sometimes"}, "SECURE_SSL_REDIRECT='sometimes' is not a boolean"),
        ({"BCP_LOGIN_FAILURE_LIMIT": "0"}, "BCP_LOGIN_FAILURE_LIMIT=0 must be 1 or more"),
        ({"BCP_LOGIN_COOLOFF_MINUTES": "soon"}, "BCP_LOGIN_COOLOFF_MINUTES='soon' is not a whole number"),
        ({"BCP_TRUSTED_PROXY_COUNT": "-2"}, "BCP_TRUSTED_PROXY_COUNT=-2 must be 0 or more"),
    ],
)
def test_bad_security_values_fail_with_a_message_naming_the_variable(tmp_path, env, message):
    result = manage("check", tmp_path=tmp_path, DEBUG="true", **env)
    assert result.returncode != 0
    assert message in result.stderr


# --- headers of every page -------------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def csp_directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_pages_and_the_admin_send_the_security_headers(plan, owner, reviewer):
    site, admin = Client(), Client()
    site.force_login(owner)
    admin.force_login(reviewer)
    for client, url in [
        (Client(), reverse("login")),
        (site, reverse("plans:plan_detail", args=[plan.pk])),
        (admin, reverse("admin:index")),
        (admin, reverse("admin:plans_plan_change", args=[plan.pk])),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert csp_directives(response["Content-Security-Policy"]) == csp_directives(CSP), url
        permissions = response["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
            assert feature in permissions, url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["X-Content-Type-Options"] == "nosniff", url
