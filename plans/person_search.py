"""Person pickers that never list everyone: a search field for one person or several.

API (used by the plan, audit and review forms):

- ``PersonField(org_id=<int>, required=True, label=..., queryset=None)``: a text input
  (``data-person-search`` holds the JSON endpoint's URL for static/js/person-search.js)
  showing the chosen person as "Name (username)". ``clean()`` resolves the typed text
  within the organisation: ``#<id>`` or a bare id (as a hidden input posts it; a numeric
  username wins), "Name (username)" as the autocomplete offers it, an exact username, email
  or full name, else a unique case-insensitive match on first, last or full name, username
  or email. No match and several matches are form errors
  (the latter lists up to 10 candidates and asks for the username). Returns the User.
  ``queryset`` narrows who may be chosen (default: active members of the organisation);
  it is always limited to members of ``org_id``, which may also be set after init
  (``form.fields["owner"].org_id = ...``). A clean reads at most about a dozen rows.
- ``PeopleField(...)``: the same for several people, one per line or separated by commas
  or semicolons; returns a list of Users (duplicates dropped, order kept); the error
  names every entry that matched nobody or several people.
- ``person_search(request)``: ``GET people/search/?q=...`` (``plans:person_search``) answers
  ``{"results": [{"id": 1, "label": "Name (username)"}]}``, at most 20 people of the
  requesting user's organisation whose name, username or email starts with each typed word.
- ``person_label(user)``: "Name (username)", the text the field shows and accepts back.

Without JavaScript the field is a plain search box: type part of a name, submit, and an
ambiguous answer lists the candidates to choose from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.http import JsonResponse
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from .models import Membership

MAX_CANDIDATES = 10  # listed in an "several people match" error
MAX_RESULTS = 20  # suggestions the endpoint returns
MAX_TEXT = 300  # longer input is not a name
_LABEL = re.compile(r"^(?P<name>.*)\((?P<username>[^()]+)\)\s*$")
_ID = re.compile(r"^#\s*(?P<id>\d{1,18})$")
_SEPARATORS = re.compile(r"[\n\r;,]+")


def person_label(user) -> str:
    """How a person is offered and shown in a person field: "Full Name (username)"."""
    full = user.get_full_name()
    username = user.get_username()
    return f"{full} ({username})" if full else username


def _members(org_id, queryset: QuerySet | None) -> QuerySet:
    """Who may be chosen: `queryset` (default: active users), always only members of `org_id`."""
    if org_id is None:
        return get_user_model().objects.none()
    base = queryset if queryset is not None else get_user_model().objects.filter(is_active=True)
    return base.filter(membership__organisation_id=org_id)


class PersonInput(forms.TextInput):
    """A text input the person-search script enhances with suggestions."""

    def __init__(self, attrs=None):
        defaults = {"data-person-search": reverse_lazy("plans:person_search"), "autocomplete": "off",
                    "spellcheck": "false", "placeholder": "Type a name, username or email"}
        super().__init__({**defaults, **(attrs or {})})


class PeopleInput(forms.Textarea):
    """A text area (one person per line) the person-search script enhances with suggestions."""

    def __init__(self, attrs=None):
        defaults = {"data-person-search": reverse_lazy("plans:person_search"), "autocomplete": "off",
                    "spellcheck": "false", "rows": 3, "placeholder": "One name, username or email per line"}
        super().__init__({**defaults, **(attrs or {})})


class _PersonResolver:
    """Shared by both fields: find one member of the organisation from typed text."""

    def __init__(self, *, org_id=None, queryset=None):
        self.org_id = org_id
        self.queryset = queryset

    def eligible(self) -> QuerySet:
        return _members(self.org_id, self.queryset)

    def resolve(self, text: str):
        """The one person `text` names, or a ValidationError saying why not (at most 3 small queries)."""
        if len(text) > MAX_TEXT:
            raise ValidationError("Type a name, username or email (at most %(max)s characters).",
                                  code="too_long", params={"max": MAX_TEXT})
        people = self.eligible()
        by_id = _ID.match(text)
        if by_id:
            found = list(people.filter(pk=int(by_id["id"]))[:1])
            if found:
                return found[0]
            raise _nobody(text)
        if text.isascii() and text.isdigit() and len(text) <= 18:  # a hidden input's id, or a numeric username
            found = sorted(people.filter(Q(pk=int(text)) | Q(username__iexact=text))[:2],
                           key=lambda p: p.get_username().lower() != text.lower())
            if found:
                return found[0]
        label = _LABEL.match(text)
        if label:  # "Name (username)": what the suggestions and the field itself show
            found = list(people.filter(username__iexact=label["username"].strip())[:2])
            if len(found) == 1:
                return found[0]
        people = people.alias(bcp_full_name=Concat("first_name", Value(" "), "last_name"))
        exact = list(
            people.filter(Q(username__iexact=text) | Q(email__iexact=text) | Q(bcp_full_name__iexact=text))
            .order_by("first_name", "last_name", "username")[:MAX_CANDIDATES + 1]
        )
        if len(exact) == 1:
            return exact[0]
        if exact:
            raise _several(text, exact)
        matches = list(
            people.filter(
                Q(first_name__icontains=text) | Q(last_name__icontains=text) | Q(bcp_full_name__icontains=text)
                | Q(username__icontains=text) | Q(email__icontains=text)
            ).order_by("first_name", "last_name", "username")[:MAX_CANDIDATES + 1]
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _several(text, matches)
        raise _nobody(text)

    def labels_for(self, values: Iterable) -> list[str]:
        """Labels for initial values: users as they are, ids read from the organisation (one query)."""
        values = list(values)
        ids = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        users = {u.pk: u for u in self.eligible().filter(pk__in=ids)} if ids else {}
        labels = []
        for value in values:
            if hasattr(value, "get_username"):
                labels.append(person_label(value))
            elif value in users:
                labels.append(person_label(users[value]))
            elif value not in (None, ""):
                labels.append(str(value))
        return labels


def _nobody(text: str) -> ValidationError:
    return ValidationError("Nobody in your organisation matches “%(text)s”.", code="no_match",
                           params={"text": text})


def _several(text: str, people: list) -> ValidationError:
    shown = ", ".join(person_label(p) for p in people[:MAX_CANDIDATES])
    more = " and others" if len(people) > MAX_CANDIDATES else ""
    return ValidationError(
        "Several people match “%(text)s”: %(people)s%(more)s. Type the username of the one you mean.",
        code="ambiguous", params={"text": text, "people": shown, "more": more},
    )


class _PersonFieldBase(forms.Field):
    """What both fields share: the organisation, the eligible people, and their resolver."""

    def __init__(self, *, org_id=None, queryset=None, **kwargs):
        super().__init__(**kwargs)
        self._resolver = _PersonResolver(org_id=org_id, queryset=queryset)

    @property
    def org_id(self):
        return self._resolver.org_id

    @org_id.setter
    def org_id(self, value):
        self._resolver.org_id = value

    @property
    def queryset(self):
        return self._resolver.queryset

    @queryset.setter
    def queryset(self, value):
        self._resolver.queryset = value

    def __deepcopy__(self, memo):
        # Each form instance gets its own resolver: setting org_id on one form's field
        # must not change the class's field or another form's.
        result = super().__deepcopy__(memo)
        result._resolver = _PersonResolver(org_id=self.org_id, queryset=self.queryset)
        return result


class PersonField(_PersonFieldBase):
    """One person of an organisation, typed (and suggested) by name, username or email."""

    widget = PersonInput

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return value
        labels = self._resolver.labels_for([value])
        return labels[0] if labels else ""

    def to_python(self, value):
        text = " ".join(str(value or "").split())
        if not text:
            return None
        return self._resolver.resolve(text)


class PeopleField(_PersonFieldBase):
    """Several people of an organisation, one per line (or separated by commas or semicolons)."""

    widget = PeopleInput
    max_entries = 200

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return value
        values = value if isinstance(value, list | tuple | QuerySet) else [value]
        return "\n".join(self._resolver.labels_for(values))

    def to_python(self, value):
        entries = [" ".join(part.split()) for part in _SEPARATORS.split(str(value or ""))]
        entries = [e for e in entries if e]
        if len(entries) > self.max_entries:
            raise ValidationError("Name at most %(max)s people at a time.", code="too_many",
                                  params={"max": self.max_entries})
        people, problems = [], []
        for entry in entries:
            try:
                person = self._resolver.resolve(entry)
            except ValidationError as error:
                problems.extend(error.error_list)
                continue
            if all(p.pk != person.pk for p in people):
                people.append(person)
        if problems:
            raise ValidationError(problems)
        return people


# --- the suggestions endpoint ------------------------------------------------------------------

@login_required
@require_GET
def person_search(request):
    """Up to 20 people of the user's organisation whose name, username or email starts with each word.

    Prefix matches (LIKE 'word%') within the organisation's memberships (bc_membership's
    organisation index), ordered by name and cut at 20: two queries (the organisation, the
    people). No organisation (including a superuser without membership): no suggestions.
    """
    words = str(request.GET.get("q", ""))[:MAX_TEXT].split()[:4]
    org_id = Membership.objects.filter(user_id=request.user.pk).values_list("organisation_id", flat=True).first()
    if not words or org_id is None:
        return JsonResponse({"results": []})
    people = get_user_model().objects.filter(membership__organisation_id=org_id, is_active=True)
    for word in words:
        word = word.strip("()#")
        if word:
            people = people.filter(
                Q(username__istartswith=word) | Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
                | Q(email__istartswith=word)
            )
    people = people.only("id", "username", "first_name", "last_name").order_by(
        "first_name", "last_name", "username")[:MAX_RESULTS]
    return JsonResponse({"results": [{"id": p.pk, "label": person_label(p)} for p in people]})
