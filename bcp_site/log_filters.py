"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


def _escaped(value) -> str:
    """As Django escapes what it logs of a request: no line breaks or control characters from outside."""
    return str(value).encode("unicode_escape").decode("ascii")


def _who(record: logging.LogRecord) -> str:
    request = getattr(record, "request", None)
    try:
        user = getattr(request, "user", None)
        if user is None:
            return "unknown"
        if not user.is_authenticated:
            return "anonymous"
        return f"{user.get_username()} (id {user.pk})"
    except Exception:  # noqa: BLE001 - a log line never fails because the person could not be read
        return "unknown"


class RefusalFilter(logging.Filter):
    """A refusal (403) is one warning naming the path and the person, without a traceback.

    Django logs a 403 on `django.request` (a view raised PermissionDenied: with its traceback)
    or on `django.security.csrf` (a CSRF failure). A refusal is the product keeping its rules,
    not a fault: the traceback says nothing the message does not. This filter, on both loggers,
    drops it and adds who was refused and, when the refusal says why, the reason:

        Forbidden (Permission denied): /plans/new/ (user alice (id 7)): You are not a member ...
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403 or not isinstance(record.args, tuple):
            return True
        if getattr(record, "refusal_named", False):  # a second filter on the same record (logging set up twice)
            return True
        record.refusal_named = True
        exception = record.exc_info[1] if record.exc_info else None
        reason = str(exception) if exception is not None else ""
        record.exc_info = None
        record.exc_text = None
        record.msg = f"{record.msg} (user %s)" + (": %s" if reason else "")
        record.args = (*record.args, _escaped(_who(record)), *((_escaped(reason),) if reason else ()))
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
