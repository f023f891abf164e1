"""Showing section values in pages: `{% load template_values %}`.

- ``{{ process.rto_minutes|minutes }}`` -> "4 h 30 min" (format_minutes).
- ``{% field_display field value contacts users %}`` -> the value as text (display_value);
  contacts and users are optional id -> name maps (templates_app.values.reference_names).
- ``{% field_table field value contacts users as table %}`` -> ``table.headers``,
  ``table.rows`` (table_display) for a table field.
"""

from django import template

from templates_app.values import display_value, format_minutes, table_display

register = template.Library()


@register.filter
def minutes(value) -> str:
    return format_minutes(value)


@register.simple_tag
def field_display(field, value, contacts=None, users=None) -> str:
    return display_value(field, value, contacts=contacts or None, users=users or None)


@register.simple_tag
def field_table(field, value, contacts=None, users=None) -> dict:
    headers, rows = table_display(field, value, contacts=contacts or None, users=users or None)
    return {"headers": headers, "rows": rows}
