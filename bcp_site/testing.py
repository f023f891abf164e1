"""Test data builders shared by every app's tests (the one place for factories)."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from plans.models import Contact, Membership, Organisation, Plan, Process, Risk
from plans.risk import risk_rating
from plans.services import plan_create
from templates_app.models import Template

_seq = itertools.count(1)

PASSWORD = "correct-horse-battery-staple"

# A small template exercising several field types; tests that need the shipped default
# template use `Template.objects.get(is_default=True)` instead.
SMALL_SCHEMA = {
    "sections": [
        {
            "key": "overview",
            "title": "Plan overview",
            "order": 1,
            "help": "What the plan covers.",
            "fields": [
                {"key": "purpose", "label": "Purpose", "type": "textarea", "required": True, "default": ""},
                {"key": "scope", "label": "Scope", "type": "text", "required": False, "default": "All sites"},
            ],
        },
        {
            "key": "maintenance",
            "title": "Maintenance and review",
            "order": 2,
            "fields": [
                {"key": "review_cadence", "label": "Review cadence", "type": "select", "required": True,
                 "choices": ["quarterly", "annually"], "default": "annually"},
                {"key": "next_review", "label": "Next review", "type": "date", "required": False},
            ],
        },
    ]
}


def make_org(name: str | None = None) -> Organisation:
    return Organisation.objects.create(name=name or f"Org {next(_seq)}")


def make_user(org: Organisation | None = None, *, username: str | None = None, groups=(), **extra):
    """A user in `org` (if given) and the named BCP groups, with password PASSWORD."""
    User = get_user_model()
    n = next(_seq)
    username = username or f"user{n}"
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=extra.pop("email", f"{username}@example.org"),
        first_name=extra.pop("first_name", username.capitalize()), **extra,
    )
    if org is not None:
        Membership.objects.create(user=user, organisation=org)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def make_template(*, name: str | None = None, schema: dict | None = None, is_default: bool = False,
                  org: Organisation | None = None, version: str = "1") -> Template:
    """A template: global unless `org` is given."""
    return Template.objects.create(
        org=org, name=name or f"Template {next(_seq)}", version=version, schema_json=schema or SMALL_SCHEMA,
        is_default=is_default,
    )


def make_plan(org: Organisation, owner, *, template: Template | None = None, title: str | None = None) -> Plan:
    return plan_create(
        organisation=org, template=template or make_template(), title=title or f"Plan {next(_seq)}",
        owner=owner, actor=owner,
    )


def add_children(plan: Plan, n: int) -> None:
    """Add n contacts, processes and risks to a plan (bulk, for query-count tests)."""
    Contact.objects.bulk_create(
        Contact(plan=plan, name=f"Contact {i}", role="Role", phone="+44 20 7946 0000", email=f"c{i}@example.org")
        for i in range(n)
    )
    Process.objects.bulk_create(
        Process(plan=plan, name=f"Process {i}", rto_minutes=60 + i, rpo_minutes=30, mtpd_minutes=240 + i,
                impact_rating=Process.Impact.HIGH, dependencies_json=[f"System {i}"])
        for i in range(n)
    )
    levels = list(zip(Risk.Likelihood.values, Risk.Impact.values, strict=True))
    Risk.objects.bulk_create(
        Risk(plan=plan, threat=f"Threat {i}", likelihood=levels[i % 5][0], impact=levels[(i + 2) % 5][1],
             rating=risk_rating(levels[i % 5][0], levels[(i + 2) % 5][1]), mitigation="Mitigate")
        for i in range(n)
    )


def admin_inline_data(response) -> dict[str, str]:
    """The inline formsets' management fields of an admin add/change page (what a browser posts back)."""
    data: dict[str, str] = {}
    for inline in response.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({form.add_prefix(name): str(form[name].value()) for name in form.fields})
    return data
