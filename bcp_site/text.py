"""Small text helpers shared by every app (the bottom of the dependency order)."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def display_name(user) -> str:
    """How a person is named on pages, mails and exports: full name, else username; "" for None."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ (or a
    tab / carriage return) is prefixed with a quote (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
