"""Settings fail loudly on bad configuration."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env):
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_production_mode_without_secret_key_refuses_to_start():
    result = run_check(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_mode_with_secret_key_starts():
    result = run_check(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="bcp.example.org")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "true", "DATABASE_URL": "postgres://x/y"}, "unsupported scheme 'postgres'"),
        ({"DEBUG": "true", "BCP_ATTACHMENT_MAX_BYTES": "lots"}, "BCP_ATTACHMENT_MAX_BYTES='lots' is not a whole"),
        ({"DEBUG": "true", "STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND='ftp'"),
    ],
)
def test_bad_values_fail_with_a_message_naming_the_variable(env, message):
    result = run_check(**env)
    assert result.returncode != 0
    assert message in result.stderr
