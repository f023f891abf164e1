"""Writes on templates: new versions, import and export. Each write is atomic."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from bcp_site.errors import ServiceError

from .models import SectionDefinition, Template
from .schema import TemplateSchemaError, template_sections, validate_template_schema

FILE_KEYS = {"name", "version", "description", "sections", "readiness", "roles"}
SCHEMA_KEYS = ("readiness", "roles", "sections")  # what of a file goes to schema_json


def template_in_use(template: Template) -> bool:
    """Whether a plan uses the template or a plan version was written with it (one or two queries).

    A template in use has a frozen layout (decision 7): only its name, description and
    default flag may change; anything else makes a new template version.
    """
    return template.plans.exists() or template.plan_versions.exists()


FROZEN_MESSAGE = (
    "“{template}” is used by plans, so its layout is frozen: plan versions written with it must always "
    "read the same. Only its name, description and default flag can change; make a new version to change "
    "its sections or fields."
)


def template_check_editable(template: Template) -> None:
    """Refuse a layout change (schema, sections, version label, owner) of a template in use."""
    if template.pk is not None and template_in_use(template):
        raise ServiceError(FROZEN_MESSAGE.format(template=template), code="template_frozen")


def _with_actor(instance, actor):
    # django-simple-history records who made the change when told.
    if getattr(actor, "is_authenticated", False):
        instance._history_user = actor
    return instance


def next_version_label(template: Template, *, org_id: int | None = None) -> str:
    """The next free version label: "1" -> "2", "2.3" -> "2.4", "draft" -> "draft.2" (one query per try).

    Free among the templates of the owner the new version will have (`org_id`; default:
    the template's own owner).
    """
    owner = template.org_id if org_id is None else org_id
    match = re.fullmatch(r"(.*?)(\d+)", template.version)
    prefix, number = (match[1], int(match[2])) if match else (f"{template.version}.", 1)
    while True:
        number += 1
        label = f"{prefix}{number}"
        if not Template.objects.filter(org_id=owner, name=template.name, version=label).exists():
            return label


def template_new_version(*, template: Template, version: str, actor=None, org_id: int | None = None) -> Template:
    """Copy a template (schema and section rows) as a new version with the same name.

    The copy belongs to the template's owner, or to organisation `org_id` when given (an
    organisation's own version of a global template, which its plans may then move to).
    The copy is never the default template; plans keep using the template they were made from.
    """
    owner = template.org_id if org_id is None else org_id
    version = (version or "").strip()
    if not version:
        raise ServiceError("Give the new version a label, e.g. \"2\".", code="version_required")
    if len(version) > Template._meta.get_field("version").max_length:
        raise ServiceError("The version label is too long.", code="version_too_long")
    with transaction.atomic():
        if Template.objects.filter(org_id=owner, name=template.name, version=version).exists():
            raise ServiceError(
                f"“{template.name}” already has a version {version}.", code="version_exists"
            )
        copy = _with_actor(Template(
            org_id=owner,
            name=template.name,
            version=version,
            description=template.description,
            is_default=False,
            schema_json=template.schema_json,
        ), actor)
        copy.save()
        for row in template.section_definitions.all():
            _with_actor(SectionDefinition(
                template=copy, key=row.key, title=row.title, order_index=row.order_index,
                schema_json=row.schema_json,
            ), actor).save()
    return copy


def template_export(*, template: Template) -> dict[str, Any]:
    """The template as an import file: name, version, description and all its sections.

    Section rows are written into `sections` with the schema's own sections (the merged
    view of template_sections()), so the file alone describes the template.
    """
    sections = []
    for section in template_sections(template):
        item = {"key": section["key"], "title": section["title"], "order": section["order"]}
        if section.get("help"):
            item["help"] = section["help"]
        item["fields"] = section["fields"]
        sections.append(item)
    data = {
        "name": template.name,
        "version": template.version,
        "description": template.description,
        "sections": sections,
    }
    for key in ("readiness", "roles"):
        if (template.schema_json or {}).get(key):
            data[key] = template.schema_json[key]
    return data


def template_file_errors(data) -> list[str]:
    """Mistakes in an import file ([] when it is good), each naming its path."""
    if not isinstance(data, dict):
        return ["(top level): the file must hold a JSON object with name, version and sections"]
    errors = []
    for key in ("name", "version"):
        value = data.get(key)
        limit = Template._meta.get_field(key).max_length
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{key}: is required (a non-empty string)")
        elif len(value) > limit:
            errors.append(f"{key}: is longer than {limit} characters")
    if "description" in data and not isinstance(data["description"], str):
        errors.append("description: must be a string")
    for key in sorted(set(data) - FILE_KEYS):
        errors.append(f"{key}: is not allowed here (a template file has {', '.join(sorted(FILE_KEYS))})")
    if "sections" not in data:
        errors.append("sections: is required")
    else:
        try:
            validate_template_schema(_file_schema(data))
        except TemplateSchemaError as exc:
            errors += exc.errors
    return errors


def _file_schema(data: dict) -> dict:
    """The `schema_json` an import file describes: its sections, readiness declaration and roles."""
    return {key: data[key] for key in SCHEMA_KEYS if key in data}


def template_import(*, data: dict, replace: bool = False, actor=None, org=None) -> tuple[Template, bool]:
    """Create a template from an import file's data; returns (template, created).

    `org` None makes a global template; an organisation makes one of its own. A template
    with the same owner, name and version is refused unless `replace`, and is never
    replaced while it is in use. Raises TemplateSchemaError for a bad file.
    """
    org_id = getattr(org, "pk", None)
    errors = template_file_errors(data)
    if errors:
        raise TemplateSchemaError(errors)
    name, version = data["name"].strip(), data["version"].strip()
    with transaction.atomic():
        existing = Template.objects.select_for_update().filter(org_id=org_id, name=name, version=version).first()
        if existing is not None and not replace:
            raise ServiceError(
                f"A template “{name}” version {version} already exists (#{existing.pk}). "
                "Use --replace to overwrite it, or import it under a new version.",
                code="template_exists",
            )
        if existing is not None and template_in_use(existing):
            raise ServiceError(
                f"Template “{name}” version {version} (#{existing.pk}) is used by plans, so it cannot be "
                "replaced. Import it under a new version instead.",
                code="template_in_use",
            )
        template = existing or Template(org_id=org_id, name=name, version=version)
        template.description = data.get("description", "")
        template.schema_json = _file_schema(data)
        _with_actor(template, actor).save()
        if existing is not None:
            for row in template.section_definitions.all():
                row.delete()  # one by one, so history records each
    return template, existing is None
