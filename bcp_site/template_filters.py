"""Template filters every page, admin screen and email uses, loaded as builtins (settings TEMPLATES).

    {{ review.reviewer_user|display_name }}   -> "Maria Lopez", else "mlopez"; "" for nobody
"""

from django import template

from .text import display_name as _display_name

register = template.Library()


@register.filter
def display_name(user) -> str:
    """How a person is named (`bcp_site.text.display_name`). A missing user, or a variable that does
    not resolve (the engine passes ""), names nobody."""
    return _display_name(user or None)
