"""Rate limits that hold across every application process.

A limit counts hits per subject (a client address, an email address) in fixed windows. The
count lives where every process sees it and is incremented atomically:

- `database` (default): one `bc_rate_counter` row per subject and window, incremented with
  ``UPDATE ... SET count = count + 1`` (the database serialises concurrent increments);
- `redis` (``BCP_RATE_LIMIT_BACKEND=redis``): ``INCR`` with an expiry on ``REDIS_URL``.

Never get-then-set through a cache: two processes reading the same count would both allow.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

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


def _database_incr(key: str, *, expires_at: datetime) -> int:
    with transaction.atomic():
        if not RateCounter.objects.filter(key=key).update(count=F("count") + 1):
            try:
                with transaction.atomic():  # a savepoint: another process may create the row first
                    RateCounter.objects.create(key=key, count=1, expires_at_utc=expires_at)
            except IntegrityError:
                RateCounter.objects.filter(key=key).update(count=F("count") + 1)
            else:
                # A new window started: forget the windows that have ended (indexed by expiry).
                RateCounter.objects.filter(expires_at_utc__lt=expires_at - timedelta(days=1)).delete()
        return RateCounter.objects.select_for_update().values_list("count", flat=True).get(key=key)


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
