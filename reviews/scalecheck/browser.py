"""A person's browser for the scale-out check: cookies, forms with their CSRF token, two instances.

Each request goes to the next instance in turn (A, B, A, ...), with one cookie jar: a session or
CSRF cookie set by one instance is sent to the other, as behind a load balancer. Forms are read
from the page the way a browser reads them (hidden fields, selected options, textareas), so the
check posts exactly what a person would. Every 5xx answer is written down.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests

TIMEOUT = 120


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # select name -> (value, label)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons: (name, value)

    def names(self) -> set[str]:
        return {name for name, _ in self.fields} | set(self.options)

    def data(self, values: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """What the browser posts with `values` typed in (and the first named submit button pressed)."""
        values = dict(values or {})
        posted = [(name, values.pop(name) if name in values else value) for name, value in self.fields]
        posted = [(name, value) for name, value in posted if value is not None]
        posted += list(values.items())
        if self.buttons:
            posted.append(self.buttons[0])
        return posted

    def option(self, name: str, label_part: str) -> str:
        """The value of the option of select `name` whose label contains `label_part`."""
        for value, label in self.options.get(name, []):
            if label_part.lower() in label.lower():
                return value
        raise LookupError(f"no option containing {label_part!r} in {name!r}: {self.options.get(name)}")


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, bool] | None = None  # (name, multiple)
        self._chosen: list[str] = []
        self._option: list | None = None  # [value, label, selected]
        self._textarea: list | None = None  # [name, text]

    def handle_starttag(self, tag, attrs):
        a = {key: (value if value is not None else "") for key, value in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind == "submit":
                self._form.buttons.append((name, a.get("value", "")))
            elif kind not in {"file", "button", "reset", "image"}:
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name and a.get("type", "submit").lower() == "submit":
            self._form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select, self._chosen = (name, "multiple" in a), []
            self._form.options[name] = []
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "", "selected" in a]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            self._close_option()
        elif tag == "select" and self._select is not None and self._form is not None:
            self._close_option()
            name, multiple = self._select
            options = self._form.options[name]
            chosen = self._chosen if multiple else (self._chosen[-1:] or [v for v, _ in options[:1]])
            self._form.fields += [(name, value) for value in chosen]
            self._select = None
        elif tag == "form":
            self._form = None

    def _close_option(self):
        if self._option is None or self._select is None or self._form is None:
            return
        value, label, selected = self._option
        label = " ".join(label.split())
        value = label if value is None else value
        self._form.options[self._select[0]].append((value, label))
        if selected:
            self._chosen.append(value)
        self._option = None


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


class Browser:
    """One person's browser, sending each request to the next of `bases`, from `bases[start % n]` on."""

    def __init__(self, bases: list[str], log: RequestLog, *, name: str = "", start: int = 0):
        self.bases = bases
        self.log = log
        self.name = name
        self.session = requests.Session()
        self._turn = itertools.count(start)

    def next_base(self) -> str:
        return self.bases[next(self._turn) % len(self.bases)]

    def instance(self, base: str) -> str:
        return "ABCDEFGH"[self.bases.index(base)] if base in self.bases else base

    def request(self, method: str, path: str, *, base: str | None = None, **kwargs) -> requests.Response:
        """`path` on `base` (default: the next instance); an absolute URL's path is sent to that instance."""
        base = base or self.next_base()
        url = urljoin(base, urlsplit(path).path + (f"?{urlsplit(path).query}" if urlsplit(path).query else ""))
        kwargs.setdefault("timeout", TIMEOUT)
        response = self.session.request(method, url, **kwargs)
        for answer in [*response.history, response]:
            self.log.record(self.instance(base), method, answer)
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def form(self, path: str, *, where=None, base: str | None = None) -> tuple[Form, requests.Response]:
        """GET `path` and the first POST form for which `where(form)` holds (default: the first POST form
        other than the sign-out button)."""
        page = self.get(path, base=base)
        candidates = [f for f in forms_of(page.text) if f.method == "post" and "/logout/" not in f.action
                      and (where is None or where(f))]
        if page.status_code != 200 or not candidates:
            raise FlowError(f"{self.name}: {path} answered {page.status_code} without the expected form")
        return candidates[0], page

    def submit(self, path: str, values=None, *, where=None, files=None, redirects: bool = True) -> requests.Response:
        """Open the form at `path` on one instance and post it with `values` (a dict, or a function of the
        form returning one) to the next instance; the answer must be a redirect to a page (a saved form),
        or with `redirects=False` a page (200)."""
        form, page = self.form(path, where=where)
        if callable(values):
            values = values(form)
        target = urljoin(page.url, form.action) if form.action else page.url
        response = self.request("POST", target, data=form.data(values), files=files)
        if response.status_code != 200 or bool(response.history) != redirects:
            raise FlowError(f"{self.name}: posting {urlsplit(target).path} answered "
                            f"{response.history[0].status_code if response.history else response.status_code}"
                            f"{' then ' + str(response.status_code) if response.history else ''}: "
                            f"{_errors(response.text)}")
        return response

    def login(self, username: str, password: str) -> None:
        response = self.submit("/accounts/login/", {"username": username, "password": password})
        if "/accounts/login/" in response.url:
            raise FlowError(f"{username} could not sign in: {_errors(response.text)}")


class FlowError(Exception):
    """A step of the journey did not go as a person would expect."""


def _errors(html: str) -> str:
    """The error messages of a page (errorlists), short."""
    import re

    found = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, flags=re.S)
    text = " | ".join(" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found)
    return text[:500] or "(no form error shown)"


class RequestLog:
    """Every answer of every instance (thread-safe): counts and the 5xx answers."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0
        self.server_errors: list[str] = []

    def record(self, instance: str, method: str, response: requests.Response) -> None:
        with self._lock:
            self.count += 1
            if response.status_code >= 500:
                path = urlsplit(response.url).path
                self.server_errors.append(f"{response.status_code} on {instance}: {method} {path}")
