"""Rate limits hold across application processes: the count is shared and incremented atomically."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from plans.models import RateCounter
from plans.ratelimit import rate_hit

ROOT = Path(__file__).resolve().parents[2]
HITS_PER_PROCESS = 15
LIMIT = 20

# One process: hit the limit HITS_PER_PROCESS times and print how many were allowed.
WORKER = f"""
import django
django.setup()
from plans.ratelimit import rate_hit
print(sum(rate_hit(name="{{name}}", subject="203.0.113.9", limit={LIMIT}, window_seconds=3600)
          for _ in range({HITS_PER_PROCESS})))
"""


def _allowed_in_two_processes(env: dict, *, name: str = "t") -> list[int]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bcp_site.settings", **env}
    script = WORKER.replace("{name}", name)
    runs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        results.append(int(out.strip().splitlines()[-1]))
    return results


@pytest.mark.django_db
def test_limit_counts_each_subject_and_window_separately():
    assert [rate_hit(name="new-link", subject="198.51.100.1", limit=3, window_seconds=3600) for _ in range(5)] == [
        True, True, True, False, False,
    ]
    assert rate_hit(name="new-link", subject="198.51.100.2", limit=3, window_seconds=3600)  # another address
    assert rate_hit(name="reset", subject="198.51.100.1", limit=3, window_seconds=3600)  # another limit
    assert RateCounter.objects.count() == 3


@pytest.mark.django_db
def test_a_very_long_subject_is_counted_under_a_short_key():
    subject = "x" * 5000 + "@example.org"
    assert rate_hit(name="reset", subject=subject, limit=1, window_seconds=60)
    assert not rate_hit(name="reset", subject=subject, limit=1, window_seconds=60)
    assert max(len(key) for key in RateCounter.objects.values_list("key", flat=True)) < 191


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_database_counter_holds_across_two_processes():
    settings_dict = connection.settings_dict
    url = (f"mysql://{settings_dict['USER']}:{settings_dict['PASSWORD']}@{settings_dict['HOST']}:"
           f"{settings_dict['PORT']}/{settings_dict['NAME']}")
    allowed = _allowed_in_two_processes({"DATABASE_URL": url, "BCP_RATE_LIMIT_BACKEND": "database"})
    assert sum(allowed) == LIMIT  # 30 hits in all: exactly the limit allowed, not 15 + 15
    assert RateCounter.objects.get().count == 2 * HITS_PER_PROCESS


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - no Redis server here
        return False


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379 (.ci/run starts it)")
def test_redis_counter_holds_across_two_processes():
    import redis

    db = "redis://127.0.0.1:6379/15"
    name = f"t-{uuid.uuid4().hex}"
    allowed = _allowed_in_two_processes({"BCP_RATE_LIMIT_BACKEND": "redis", "REDIS_URL": db}, name=name)
    assert sum(allowed) == LIMIT
    keys = redis.Redis.from_url(db).keys(f"bcp:rate:{name}:*")
    assert len(keys) == 1 and 0 < redis.Redis.from_url(db).ttl(keys[0]) <= 3600
