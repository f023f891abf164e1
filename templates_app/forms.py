"""Forms generated from a template section, and the admin forms that check template schemas.

`build_section_form(section, plan=..., data=..., initial=...)` makes a Django form whose
fields follow the section's field definitions (docs/template-schema.md). Values go in and
come out in the content_json shape (`form.section_values()`), so a working copy
round-trips through the form unchanged.

Table fields render their rows plus one blank row, each with a "remove" checkbox, and a
submit button named ``_add_row_<field html name>``. A POST made with that button sets
``form.wants_more_rows``: such a form is never valid and shows no errors; the view
re-renders it (without saving) and it shows one more blank row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.renderers import get_default_renderer
from django.forms.utils import ErrorDict
from django.utils.html import escape

from bcp_site.limits import (
    DECIMAL_MAX_PLACES,
    JSON_NUMBER_MAX,
    JSONField,
    datetime_problem,
)

from .models import SectionDefinition, Template
from .schema import (
    CONTACT_REF,
    PHONE_PATTERN,
    USER_REF,
    PatternTimeout,
    TemplateSchemaError,
    choice_pairs,
    is_empty,
    pattern_matches,
    validate_section_key,
    validate_section_schema,
    validate_template_schema,
)
from .values import DURATION_HINT, format_duration_input, format_minutes, parse_duration

EMPTY_CHOICE = ("", "—")
MAX_TABLE_ROWS = 500  # rows read from one POST, whatever the rows counter claims
ADD_ROW_PREFIX = "_add_row_"


# --- Field classes --------------------------------------------------------------------


class TelInput(forms.TextInput):
    input_type = "tel"


class DurationField(forms.CharField):
    """A duration typed as "4h", "90m", "1h 30m", "2d" or minutes; cleans to whole minutes (int)."""

    default_error_messages = {"invalid": DURATION_HINT}

    def __init__(self, *, min_minutes=None, max_minutes=None, **kwargs):
        self.min_minutes, self.max_minutes = min_minutes, max_minutes
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "e.g. 4h 30m", "autocomplete": "off"}))
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return format_duration_input(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_duration") from None

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.min_minutes is not None and value < self.min_minutes:
            raise ValidationError(
                "Enter at least %(limit)s.", code="min_value", params={"limit": format_minutes(self.min_minutes)}
            )
        if self.max_minutes is not None and value > self.max_minutes:
            raise ValidationError(
                "Enter at most %(limit)s.", code="max_value", params={"limit": format_minutes(self.max_minutes)}
            )


class PatternValidator:
    """The whole value must match an administrator's pattern, matched with a time limit (schema.pattern_matches)."""

    def __init__(self, pattern: str, *, message: str, code: str, label: str):
        self.pattern, self.message, self.code, self.label = pattern, message, code, label

    def __call__(self, value):
        try:
            matched = pattern_matches(self.pattern, value)
        except PatternTimeout as exc:
            raise ValidationError(f"{self.label}: {exc}.", code="pattern_timeout") from None
        if not matched:
            raise ValidationError(self.message, code=self.code)


class LimitedDateTimeField(forms.DateTimeField):
    """A date-time that UTC and every display time zone can hold (bcp_site.limits)."""

    def validate(self, value):
        super().validate(value)
        if value is not None and (problem := datetime_problem(value)):
            raise ValidationError(f"The date and time {problem}.", code="out_of_range")


class TriStateSelect(forms.NullBooleanSelect):
    """Yes / No / not answered ("—"): an unanswered question is not the same as "No"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", "Yes"), ("false", "No")]


class YesNoField(forms.NullBooleanField):
    """True, False or None (not answered); required means it must be answered."""

    widget = TriStateSelect

    def validate(self, value):
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")


class PostedRows(list):
    """Rows read from a POST (raw strings), as opposed to initial rows (content_json shape)."""


class TableWidget(forms.Widget):
    """Rows of cells (one sub-widget per column), a remove box per row and an add-row button."""

    template_name = "templates_app/widgets/table.html"
    use_fieldset = True

    def __init__(self, *, columns, subfields, add_button_name="", attrs=None):
        super().__init__(attrs)
        self.columns = columns
        self.subfields = subfields
        self.add_button_name = add_button_name
        self.extra_rows = 0

    def value_from_datadict(self, data, files, name):
        try:
            count = max(0, min(int(data.get(f"{name}-rows", 0)), MAX_TABLE_ROWS))
        except (TypeError, ValueError):
            count = 0
        rows = PostedRows()
        for index in range(count):
            if data.get(f"{name}-{index}-remove"):
                continue
            rows.append({
                column["key"]: self.subfields[column["key"]].widget.value_from_datadict(
                    data, files, f"{name}-{index}-{column['key']}"
                )
                for column in self.columns
            })
        return rows

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-rows" not in data

    def render(self, name, value, attrs=None, renderer=None):
        self._renderer = renderer or get_default_renderer()
        return super().render(name, value, attrs, renderer)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        renderer = getattr(self, "_renderer", None) or get_default_renderer()
        if isinstance(value, PostedRows):
            rows = [dict(row) for row in value]
            if not rows or not is_blank_row(rows[-1]):
                rows.append({})
        else:
            rows = [
                {c["key"]: from_json(c, row.get(c["key"])) for c in self.columns}
                for row in (value or []) if isinstance(row, dict)
            ]
            rows.append({})
        rows += [{} for _ in range(self.extra_rows)]
        base_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        rendered_rows = []
        for index, row in enumerate(rows):
            cells = []
            for column in self.columns:
                subfield = self.subfields[column["key"]]
                cell_attrs = {
                    "id": f"{base_id}_{index}_{column['key']}",
                    "aria-label": f"{column['label']}, row {index + 1}",
                }
                cells.append(subfield.widget.render(
                    f"{name}-{index}-{column['key']}", subfield.prepare_value(row.get(column["key"])),
                    attrs=cell_attrs, renderer=renderer,
                ))
            rendered_rows.append({
                "number": index + 1,
                "cells": cells,
                "remove_name": f"{name}-{index}-remove",
                "remove_id": f"{base_id}_{index}_remove",
            })
        table_attrs = {k: v for k, v in context["widget"]["attrs"].items() if k not in {"required", "id"}}
        context["widget"].update({
            "attrs": table_attrs,
            "id": base_id,
            "headers": [{"label": c["label"], "required": c.get("required", False)} for c in self.columns],
            "rows": rendered_rows,
            "rows_name": f"{name}-rows",
            "row_count": len(rows),
            "add_button_name": self.add_button_name,
        })
        return context

    def id_for_label(self, id_):
        return ""


def is_blank_row(row: dict) -> bool:
    return all(value in (None, "", [], "unknown") for value in row.values())


class TableField(forms.Field):
    """A list of rows; each non-blank row is cleaned column by column into a JSON row dict."""

    default_error_messages = {"max_rows": "Enter at most %(limit)s rows."}

    def __init__(self, *, definition, subfields, add_button_name, **kwargs):
        self.definition = definition
        self.columns = definition.get("columns", [])
        self.subfields = subfields
        self.max_rows = definition.get("max_rows")
        kwargs.setdefault("widget", TableWidget(
            columns=self.columns, subfields=subfields, add_button_name=add_button_name,
        ))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value

    def clean(self, value):
        rows = []
        errors = []
        for number, raw in enumerate(value or [], start=1):
            if not isinstance(raw, dict) or is_blank_row(raw):
                continue
            row = {}
            for column in self.columns:
                label = column["label"]
                try:
                    cleaned = self.subfields[column["key"]].clean(raw.get(column["key"]))
                except ValidationError as exc:
                    for error in exc.error_list:
                        message = error.message % error.params if error.params else error.message
                        errors.append(ValidationError(f"Row {number}, {label}: {message}", code=error.code))
                    continue
                if column.get("required") and (cleaned is None or cleaned == ""):
                    errors.append(ValidationError(
                        f"Row {number}, {label}: {self.error_messages['required']}", code="required",
                    ))
                row[column["key"]] = to_json(column, cleaned)
            rows.append(row)
        if errors:
            raise ValidationError(errors)
        if self.required and not rows:
            raise ValidationError(self.error_messages["required"], code="required")
        if self.max_rows and len(rows) > self.max_rows:
            raise ValidationError(self.error_messages["max_rows"], code="max_rows", params={"limit": self.max_rows})
        return rows

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (initial or [])
        except ValidationError:
            return True


# --- JSON <-> form values -------------------------------------------------------------


def from_json(field: dict[str, Any], value):
    """A content_json value as the form field's initial value."""
    kind = field.get("type")
    if value is None:
        return None
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if kind == "datetime" and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        return value if datetime_problem(parsed) else parsed  # out of range: shown as stored, not converted
    if kind in {USER_REF, CONTACT_REF} and isinstance(value, int):
        return str(value)
    return value


def to_json(field: dict[str, Any], value):
    """A cleaned form value in the content_json shape."""
    kind = field.get("type")
    if value is None:
        return [] if kind in {"multiselect", "table"} else None
    if kind == "decimal" and isinstance(value, Decimal):
        return str(value)
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if kind == "datetime" and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if kind in {"select", USER_REF, CONTACT_REF} and value == "":
        return None
    if kind == "multiselect":
        return list(value)
    return value


# --- Building a section form ----------------------------------------------------------


class ReferenceChoices:
    """Choices for user and contact reference fields, each loaded by one query on first use."""

    def __init__(self, plan):
        self.plan = plan
        self._users = None
        self._contacts = None

    def users(self) -> list[tuple[str, str]]:
        if self._users is None:
            self._users = []
            if self.plan is not None and self.plan.org_id is not None:
                rows = (get_user_model().objects
                        .filter(membership__organisation=self.plan.org_id, is_active=True)
                        .order_by("first_name", "last_name", "username")
                        .values_list("pk", "first_name", "last_name", "username"))
                self._users = [(str(pk), f"{first} {last}".strip() or username) for pk, first, last, username in rows]
        return self._users

    def contacts(self) -> list[tuple[str, str]]:
        if self._contacts is None:
            self._contacts = []
            if self.plan is not None:
                rows = self.plan.contacts.order_by("name", "id").values_list("pk", "name", "role")
                self._contacts = [(str(pk), f"{name} ({role})" if role else name) for pk, name, role in rows]
        return self._contacts


def _reference_field(field, references: ReferenceChoices, required: bool, keep_ids: set[int], **common):
    kind = field["type"]
    choices = list(references.users() if kind == USER_REF else references.contacts())
    known = {value for value, _label in choices}
    noun = "User" if kind == USER_REF else "Contact"
    # A value saved earlier whose user/contact is gone stays selectable, so nothing is lost silently.
    for missing in sorted(keep_ids - {int(v) for v in known}):
        choices.append((str(missing), f"{noun} #{missing} (no longer available)"))
    return forms.TypedChoiceField(
        choices=[EMPTY_CHOICE, *choices], coerce=int, empty_value=None, required=required, **common,
    )


def make_form_field(field: dict[str, Any], *, references: ReferenceChoices, required: bool | None = None,
                    keep_ids: set[int] = frozenset(), add_button_name: str = "") -> forms.Field:
    """The Django form field for one schema field (or table column)."""
    kind = field["type"]
    required = field.get("required", False) if required is None else required
    common = {"label": field.get("label") or field["key"], "help_text": escape(field.get("help", ""))}
    if kind in {"text", "textarea", "phone"}:
        validators = []
        if field.get("pattern"):
            validators.append(PatternValidator(
                field["pattern"], message="Enter a value in the expected format.", code="invalid_pattern",
                label=common["label"],
            ))
        elif kind == "phone":
            validators.append(PatternValidator(
                PHONE_PATTERN, message="Enter a telephone number such as +44 20 7946 0000.",
                code="invalid_phone", label=common["label"],
            ))
        widget = {"text": forms.TextInput(), "textarea": forms.Textarea(attrs={"rows": 4}), "phone": TelInput()}[kind]
        return forms.CharField(
            required=required, max_length=field.get("max_length"), validators=validators, widget=widget, **common
        )
    if kind == "email":
        return forms.EmailField(required=required, max_length=field.get("max_length"), **common)
    if kind == "url":
        return forms.URLField(required=required, max_length=field.get("max_length"), assume_scheme="https", **common)
    if kind == "integer":
        # Without min/max, a value is kept within the numbers JSON holds exactly (bcp_site.limits).
        return forms.IntegerField(required=required, min_value=field.get("min", -JSON_NUMBER_MAX),
                                  max_value=field.get("max", JSON_NUMBER_MAX), **common)
    if kind == "decimal":
        limits = {name: Decimal(str(field[name])) for name in ("min", "max") if name in field}
        return forms.DecimalField(
            required=required, min_value=limits.get("min", -JSON_NUMBER_MAX),
            max_value=limits.get("max", JSON_NUMBER_MAX),
            decimal_places=field.get("decimal_places", DECIMAL_MAX_PLACES), **common,
        )
    if kind == "date":
        return forms.DateField(
            required=required, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common
        )
    if kind == "datetime":
        return LimitedDateTimeField(
            required=required,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            **common,
        )
    if kind == "boolean":
        return YesNoField(required=required, **common)
    if kind == "select":
        return forms.ChoiceField(choices=[EMPTY_CHOICE, *choice_pairs(field)], required=required, **common)
    if kind == "multiselect":
        return forms.MultipleChoiceField(
            choices=choice_pairs(field), required=required, widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "duration":
        return DurationField(
            required=required, min_minutes=field.get("min", 0), max_minutes=field.get("max"), **common
        )
    if kind in {USER_REF, CONTACT_REF}:
        return _reference_field(field, references, required, keep_ids, **common)
    if kind == "table":
        subfields = {
            column["key"]: make_form_field(
                column, references=references, required=False,
                keep_ids=_table_ids(column, keep_ids),
            )
            for column in field.get("columns", [])
        }
        return TableField(definition=field, subfields=subfields, add_button_name=add_button_name,
                          required=required, **common)
    raise ValueError(f"Unknown field type {kind!r}")


def _table_ids(column, keep_ids):
    # keep_ids of a table field hold (column key, id) pairs; pick this column's ids.
    return {value for key, value in keep_ids if key == column["key"]} if keep_ids else set()


def _saved_ids(field: dict[str, Any], value) -> set:
    """Ids a saved value refers to (for reference fields), or (column, id) pairs for tables."""
    if field["type"] in {USER_REF, CONTACT_REF} and isinstance(value, int):
        return {value}
    if field["type"] == "table" and isinstance(value, list):
        return {
            (column["key"], row[column["key"]])
            for row in value if isinstance(row, dict)
            for column in field.get("columns", [])
            if column["type"] in {USER_REF, CONTACT_REF} and isinstance(row.get(column["key"]), int)
        }
    return set()


class SectionForm(forms.Form):
    """A form for one template section; see the module docstring for table rows and wants_more_rows."""

    required_css_class = "required"
    error_css_class = "has-error"

    def __init__(self, section: dict[str, Any], *, plan=None, data=None, initial: dict | None = None, prefix=None):
        self.section = section
        self.plan = plan
        self.saved_values = {
            field["key"]: (initial or {}).get(field["key"], field.get("default")) for field in section["fields"]
        }
        super().__init__(
            data=data, prefix=prefix,
            initial={f["key"]: self._initial(f, self.saved_values[f["key"]]) for f in section["fields"]},
        )
        references = ReferenceChoices(plan)
        self.add_row_buttons: dict[str, str] = {}
        for field in section["fields"]:
            button = ADD_ROW_PREFIX + self.add_prefix(field["key"])
            if field["type"] == "table":
                self.add_row_buttons[field["key"]] = button
            self.fields[field["key"]] = make_form_field(
                field, references=references, keep_ids=_saved_ids(field, self.saved_values[field["key"]]),
                add_button_name=button,
            )
        self.wants_more_rows = False
        if data is not None:
            for key, button in self.add_row_buttons.items():
                if button in data:
                    self.wants_more_rows = True
                    self.fields[key].widget.extra_rows = 1

    @staticmethod
    def _initial(field, value):
        if field["type"] == "table":
            return value if isinstance(value, list) else []
        return from_json(field, value)

    def full_clean(self):
        if self.wants_more_rows:
            # Adding a row is not a save: no errors shown, never valid.
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def is_valid(self) -> bool:
        return not self.wants_more_rows and super().is_valid()

    def section_values(self) -> dict[str, Any]:
        """Field key -> value in the content_json shape (call after is_valid()).

        An empty answer keeps the empty value it was opened with (None, "" or []), so an
        untouched form gives back exactly what it was given.
        """
        values = {}
        for field in self.section["fields"]:
            value = to_json(field, self.cleaned_data.get(field["key"]))
            saved = self.saved_values[field["key"]]
            if is_empty(value) and is_empty(saved):
                value = saved
            values[field["key"]] = value
        return values


def build_section_form(
    section: dict[str, Any], *, plan=None, data=None, initial: dict | None = None, prefix=None
) -> SectionForm:
    """A form for `section` (a dict from template_sections()).

    `initial` holds the section's saved values (content_json shape); fields missing from it
    start at their schema default. `plan` supplies the choices of user references (active
    members of plan.org) and contact references (plan.contacts): one query each, only
    when the section has such fields. `data` is request.POST for a bound form.
    """
    return SectionForm(section, plan=plan, data=data, initial=initial, prefix=prefix)


# --- Admin forms that check the schema ------------------------------------------------


def _schema_errors(exc: TemplateSchemaError) -> list[ValidationError]:
    return [ValidationError(message, code="schema") for message in exc.errors]


class TemplateAdminForm(forms.ModelForm):
    """Template form for the admin: the schema must pass the validator; one default template."""

    class Meta:
        model = Template
        fields = ["name", "version", "description", "is_default", "schema_json"]
        field_classes = {"schema_json": JSONField}  # too deep, too large, NaN: a form error (bcp_site.limits)

    def clean_schema_json(self):
        schema = self.cleaned_data.get("schema_json")
        if schema is None:
            schema = {}
        if not isinstance(schema, dict):
            raise ValidationError("The schema must be a JSON object with a \"sections\" list.", code="schema")
        try:
            validate_template_schema(schema)
        except TemplateSchemaError as exc:
            raise ValidationError(_schema_errors(exc)) from None
        return schema

    def clean(self):
        cleaned = super().clean()
        # One default, and one name + version, per owner (global, or one organisation).
        org = cleaned["org"] if "org" in cleaned else self.instance.org
        same_owner = Template.objects.filter(org=org).exclude(pk=self.instance.pk)
        if cleaned.get("is_default"):
            other = same_owner.filter(is_default=True).first()
            if other is not None:
                self.add_error("is_default", ValidationError(
                    f"“{other}” is the default template. Only one template can be the default: "
                    "untick it there first.",
                    code="one_default",
                ))
        # Read-only fields (a frozen template's version) are not in the form: use the stored value.
        name = cleaned.get("name", self.instance.name if "name" not in self.fields else None)
        version = cleaned.get("version", self.instance.version if "version" not in self.fields else None)
        if name and version and same_owner.filter(name=name, version=version).exists():
            self.add_error("name" if "version" not in self.fields else "version", ValidationError(
                f"“{name}” already has a version {version}.", code="version_exists",
            ))
        return cleaned


class SectionDefinitionAdminForm(forms.ModelForm):
    """A section row: its key must be valid and not reserved; its schema must pass the validator."""

    class Meta:
        model = SectionDefinition
        fields = ["template", "key", "title", "order_index", "schema_json"]
        field_classes = {"schema_json": JSONField}

    def clean_key(self):
        key = self.cleaned_data.get("key", "")
        try:
            validate_section_key(key)
        except TemplateSchemaError as exc:
            raise ValidationError(_schema_errors(exc)) from None
        return key

    def clean_schema_json(self):
        schema = self.cleaned_data.get("schema_json")
        if schema is None:
            schema = {}
        if not isinstance(schema, dict):
            raise ValidationError("The schema must be a JSON object with \"help\" and \"fields\".", code="schema")
        try:
            validate_section_schema(schema)
        except TemplateSchemaError as exc:
            raise ValidationError(_schema_errors(exc)) from None
        return schema
