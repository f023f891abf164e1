"""Rate limits that hold across every application process.

A limit counts hits per subject (a client address, an email address) in fixed windows. The
count lives where every process sees it and is incremented atomically:

- `database` (default): one `bc_rate_counter` row per subject and window, inserted or incremented
  by one statement (``INSERT ... ON DUPLICATE KEY UPDATE count = count + 1`` on MariaDB, ``ON
  CONFLICT`` on SQLite; the database serialises concurrent increments);
- `redis` (``BCP_RATE_LIMIT_BACKEND=redis``): ``INCR`` with an expiry on ``REDIS_URL``.

Never get-then-set through a cache: two processes reading the same count would both allow.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .models import RateCounter

BACKENDS = ("database", "redis")


def rate_hit(*, name: str, subject: str, limit: int, window_seconds: int) -> bool:
    """Count one hit of `subject` against limit `name`; True while the hits in this window are within `limit`."""
    window_start = int(time.time()) // window_seconds * window_seconds
    key = _key(name, subject, window_start)
    if settings.BCP_RATE_LIMIT_BACKEND == "redis":
        count = _redis_incr(key, expires_in=window_seconds)
    else:
        count = _database_incr(key, expires_at=datetime.fromtimestamp(window_start + window_seconds, tz=UTC))
    return count <= limit


def _key(name: str, subject: str, window_start: int) -> str:
    """A short fixed-length key: subjects may be long (an email address, an IPv6 address)."""
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
    return f"bcp:rate:{name[:60]}:{digest}:{window_start}"


def _upsert_sql() -> str:
    """One statement that inserts the window's row or adds one hit to it: no read-then-write, and no
    gap lock taken by an UPDATE of a missing row (two of those then inserting deadlock on MariaDB)."""
    table = RateCounter._meta.db_table
    if connection.vendor == "mysql":
        return (f"INSERT INTO {table} (`key`, `count`, expires_at_utc) VALUES (%s, 1, %s) "
                "ON DUPLICATE KEY UPDATE `count` = `count` + 1")
    return (f'INSERT INTO {table} ("key", "count", expires_at_utc) VALUES (%s, 1, %s) '
            'ON CONFLICT ("key") DO UPDATE SET "count" = "count" + 1')


DEADLOCK_RETRIES = 3


def _database_incr(key: str, *, expires_at: datetime) -> int:
    """Add one hit and read the count, in one transaction; a deadlock with another process's cleanup is
    tried again (only outside a caller's transaction, which a deadlock would have ended)."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(_upsert_sql(), [key, expires_at])
                    created = cursor.rowcount == 1  # MariaDB: 1 inserted, 2 updated; SQLite: 1 either way
                count = RateCounter.objects.values_list("count", flat=True).get(key=key)
                if count == 1 and created:
                    # A new window started: forget the windows that have ended (indexed by expiry).
                    RateCounter.objects.filter(expires_at_utc__lt=expires_at - timedelta(days=1)).delete()
                return count
        except OperationalError as error:
            deadlock = error.args and error.args[0] in (1205, 1213)  # lock wait timeout, deadlock
            if not deadlock or connection.in_atomic_block or attempt == DEADLOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


@cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _redis_incr(key: str, *, expires_in: int) -> int:
    pipe = _redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, expires_in, nx=True)
    count, _ = pipe.execute()
    return int(count)
