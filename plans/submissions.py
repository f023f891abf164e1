"""A double click never makes two of anything: one-time submission tokens.

Forms that create something (plan create, save revision, attachment upload, every admin
add form) carry a hidden `submission_token`, made when the form is rendered. The first POST
with a token records token -> result URL (`SubmissionToken`) in the same transaction as the
write; a second POST of the same token writes nothing and is redirected to that URL with
"This was already saved". Usage in a view::

    try:
        with submitted_once(user=request.user, token=form.cleaned_data[TOKEN_FIELD]) as submission:
            plan = services.plan_create(...)
            submission.result_url = plan.get_absolute_url()
    except AlreadySaved as saved:
        return already_saved_redirect(request, saved)

Rules:

- The token row is inserted *first* in the transaction, so the unique key decides between two
  simultaneous POSTs before either writes anything: the loser waits for the winner's commit,
  hits the key, writes nothing and is redirected to the winner's result.
- A write that fails (form error, service refusal, a form shown again) records nothing: the
  re-shown form keeps its token and the corrected POST saves.
- A POST without a token (an old form, a bookmark, a script) or with a malformed one still
  works as before, without deduplication: refusing it would break those clients for no gain.
- Tokens belong to the user who first saved with them: another user's token is ignored (the
  POST saves normally), so nobody is redirected to someone else's result or blocked by it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone

from bcp_site.errors import ServiceError

from .models import SubmissionToken

TOKEN_FIELD = "submission_token"
TOKEN_PATTERN = re.compile(r"^[0-9a-f]{64}$")
ALREADY_SAVED = "This was already saved: the form was sent again (a double click or a reload), so nothing new " \
    "was saved."


def new_submission_token() -> str:
    """A fresh token: 64 hex characters (256 random bits)."""
    return secrets.token_hex(32)


def clean_submission_token(value) -> str:
    """The token if it is well formed, else "" (a missing or tampered token means: no deduplication)."""
    value = str(value or "").strip()
    return value if TOKEN_PATTERN.match(value) else ""


class SubmissionTokenField(forms.CharField):
    """The hidden one-time token; a new one each time an unbound form is rendered.

    A form shown again after an error keeps the posted token (the failed POST recorded nothing).
    Never refuses a form: a missing or malformed token cleans to "".
    """

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("initial", new_submission_token)  # callable: evaluated at each render
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def clean(self, value):
        return clean_submission_token(value)


class SubmissionTokenForm(forms.Form):
    """Only the token: rendered by the admin's add forms (see `AdminSubmissionGuard`)."""

    submission_token = SubmissionTokenField()


class AlreadySaved(Exception):
    """The token was saved before by this user: nothing was written; go to `result_url`."""

    def __init__(self, result_url: str):
        super().__init__(result_url)
        self.result_url = result_url


@dataclass
class Submission:
    """What the body of `submitted_once` reports: the URL its success redirect goes to.

    Leaving `result_url` empty means nothing was saved (say, the form was shown again with
    errors): the token is not recorded and can be used again.
    """

    token: str
    result_url: str = ""


def _recorded(token: str) -> SubmissionToken | None:
    """The row of a token, if any (one query)."""
    return SubmissionToken.objects.filter(token=token).only("user_id", "result_url").first()


def _recorded_latest(token: str) -> SubmissionToken | None:
    """The committed row of a token after losing the race for it (one query).

    A locking read: on MariaDB a plain read inside an older transaction could still see the
    snapshot from before the winner committed.
    """
    with transaction.atomic():
        return SubmissionToken.objects.select_for_update().filter(token=token).only("user_id", "result_url").first()


@contextmanager
def submitted_once(*, user, token: str) -> Iterator[Submission]:
    """Run the body at most once per (user, token), in one transaction with the token's record.

    Raises `AlreadySaved` (before the body runs) when this user already saved with the token.
    The body sets `submission.result_url` once it has written; an exception from the body
    rolls back the body's writes and the token together. Queries: one look-up, then an insert
    and an update of the token row around the body.
    """
    token = clean_submission_token(token)
    if token and getattr(user, "is_authenticated", False):
        previous = _recorded(token)
        if previous is not None:
            if previous.user_id == user.pk:
                raise AlreadySaved(previous.result_url)
            token = ""  # another user's token: ignored
    else:
        token = ""
    submission = Submission(token=token)
    if not token:
        yield submission
        return
    try:
        with transaction.atomic():
            row = SubmissionToken.objects.create(token=token, user=user, result_url="",
                                                 created_at_utc=timezone.now())
            yield submission
            if submission.result_url:
                row.result_url = submission.result_url
                row.save(update_fields=["result_url"])
            else:
                row.delete()  # nothing was saved: the token stays usable
    except IntegrityError:
        winner = _recorded_latest(token)
        if winner is None:
            raise  # the body's own integrity error
        if winner.user_id != user.pk:
            # Another user posted this token at the same instant: nothing was saved here.
            raise ServiceError("This form was sent by someone else at the same moment. Open it again and "
                               "save once more.", code="conflict") from None
        raise AlreadySaved(winner.result_url) from None


def already_saved_redirect(request, saved: AlreadySaved) -> HttpResponseRedirect:
    """The answer to a repeated POST: an informational message and the first POST's result."""
    messages.info(request, ALREADY_SAVED)
    return HttpResponseRedirect(saved.result_url)


class AdminSubmissionGuard:
    """These tokens on every admin add form: `bcp_site.admin_base.BaseAdmin` calls this through its
    hook (`register_submission_guard`, done in `PlansConfig.ready`), since the shared layer imports no app."""

    field_name = TOKEN_FIELD

    def form(self, *, posted: str) -> SubmissionTokenForm:
        posted = clean_submission_token(posted)
        return SubmissionTokenForm(initial={TOKEN_FIELD: posted} if posted else None)

    def once(self, request, *, token: str, write: Callable[[], HttpResponse]) -> HttpResponse:
        try:
            with submitted_once(user=request.user, token=token) as submission:
                response = write()
                if isinstance(response, HttpResponseRedirect):  # saved (a form shown again saved nothing)
                    submission.result_url = response.url
        except AlreadySaved as saved:
            return already_saved_redirect(request, saved)
        return response


def submission_tokens_purge(*, older_than) -> int:
    """Delete the tokens recorded before `older_than` (found by their created-at index); returns how many."""
    deleted, _by_model = SubmissionToken.objects.filter(created_at_utc__lt=older_than).delete()
    return deleted
