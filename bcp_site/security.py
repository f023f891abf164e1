"""Sign-in throttling hooks for django-axes, and the client address every limit counts by.

Axes locks a username *from one address* (`AXES_LOCKOUT_PARAMETERS = [["username",
"ip_address"]]` in settings), so nobody can lock a colleague out from elsewhere. These
functions are named in settings (`AXES_CLIENT_IP_CALLABLE`, `AXES_USERNAME_CALLABLE`,
`AXES_LOCKOUT_CALLABLE`); the audit row of a lockout is written by `plans.people`.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: `REMOTE_ADDR`, or behind `BCP_TRUSTED_PROXY_COUNT` proxies the
    address the outermost one saw.

    Each trusted proxy appends the address it received the request from to
    `X-Forwarded-For`, so with N proxies the client is the N-th entry from the right;
    anything further left was written by the client and is ignored. With no proxy
    configured the header is never read (a client could write anything in it).
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.BCP_TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count and _is_ip(hops[-count]):
            return hops[-count]
    return remote


def login_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a sign-in attempt is counted under: trimmed and lower-cased.

    Usernames are unique whatever their case (`plans.people.person_create`), and MariaDB
    compares them without case: "Alice" and "alice" are one account, so they share one
    failure count. Cut to the longest possible username.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if username is None:
        return None
    # No account has a longer name (User.username holds 150); the attempt table would refuse it.
    return str(username).strip().lower()[:150]


def cool_off_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """The page a locked-out sign-in gets, on the site's and the admin's login alike (429)."""
    minutes = cool_off_minutes()
    response = render(request, "registration/lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
