"""Emails as a trio of templates: `<prefix>_subject.txt`, `<prefix>.txt` and `<prefix>.html`."""

from __future__ import annotations

from typing import NamedTuple

from django.template import Context
from django.template.loader import get_template, render_to_string


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


def render_plain(template_name: str, context: dict) -> str:
    """Render a template that is not HTML (a subject, a plain-text body) without HTML escaping.

    Django escapes every variable by default, which is right for HTML only: a plan titled
    "R&D <Ops>" must reach a mail subject as typed, not as "R&amp;D &lt;Ops&gt;".
    """
    return get_template(template_name).template.render(Context(context, autoescape=False))


def render_email(prefix: str, context: dict) -> RenderedEmail:
    """The subject (one line), plain text and HTML of one email, e.g. `reviews/email/ack_link`."""
    return RenderedEmail(
        subject=" ".join(render_plain(f"{prefix}_subject.txt", context).split()),
        text=render_plain(f"{prefix}.txt", context),
        html=render_to_string(f"{prefix}.html", context),
    )
