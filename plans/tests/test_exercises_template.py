"""Version 2 of the shipped default template: its testing section drops the hand-kept exercises table, and the
plan page shows the plan's exercises in that section instead (templates_app migration 0006)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from bcp_site.testing import make_plan, make_template
from plans.services import plan_section_update, plan_template_change
from templates_app.models import Template
from templates_app.schema import template_roles, template_sections

from .exercise_support import held_exercise

pytestmark = pytest.mark.django_db

NAME = "ISO 22301 Business Continuity Plan"
install_version = import_module("templates_app.migrations.0006_default_template_v2").install_version


def test_the_default_template_is_version_2_without_the_exercises_table():
    default = Template.objects.get(is_default=True)
    assert (default.name, default.version, default.org_id) == (NAME, "2", None)
    testing = next(s for s in template_sections(default) if s["key"] == "testing")
    assert [f["key"] for f in testing["fields"]] == ["exercise_frequency", "next_exercise"]
    assert template_roles(default)["exercise_interval"] == "testing.exercise_frequency"
    assert default.schema_json["readiness"]["required_for_approval"]


def test_the_migration_adds_version_2_beside_a_used_version_1_and_makes_it_the_default(org, owner):
    installed = Template.objects.get(name=NAME, version="2")
    old_schema = {**installed.schema_json, "sections": [
        {**s, "fields": [*s["fields"], {"key": "exercises", "label": "Exercises", "type": "textarea"}]}
        if s["key"] == "testing" else s for s in installed.schema_json["sections"]]}
    installed.delete()  # a database installed before version 2: version 1 is the default, and in use
    version_1 = make_template(name=NAME, version="1", schema=old_schema, is_default=True)
    plan = make_plan(org, owner, template=version_1, title="Older plan")

    install_version(apps, None)
    install_version(apps, None)  # twice: harmless
    version_2 = Template.objects.get(name=NAME, version="2", org=None)
    assert Template.objects.get(is_default=True) == version_2
    version_1.refresh_from_db()
    assert not version_1.is_default and version_1.schema_json == old_schema  # frozen, still used
    plan.refresh_from_db()
    assert plan.template == version_1

    # Moving it to version 2 (an editor's choice, in a revision) shows the hand-kept exercises it drops.
    testing = {**plan.draft_content_json["testing"], "exercises": "Tabletop in March"}
    plan_section_update(plan=plan, section_key="testing", values=testing, actor=owner, expected_revision=None)
    dropped = plan_template_change(plan=plan, actor=owner, template=version_2, expected_revision=None)
    assert [(d["section"], d["field"], d["value"]) for d in dropped] == [
        ("Testing and exercises", "Exercises", "Tabletop in March")]


def test_another_chosen_default_is_kept(org):
    Template.objects.filter(is_default=True).update(is_default=False)
    chosen = make_template(name="Our own plan template", is_default=True)
    install_version(apps, None)
    assert Template.objects.get(is_default=True) == chosen


def test_the_plan_page_shows_the_exercises_in_the_testing_section(client, org, owner):
    plan = make_plan(org, owner, template=Template.objects.get(is_default=True), title="Head office")
    held_exercise(plan, actor=owner, title="Evacuation walkthrough")
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    testing = page.split('id="section-testing"')[1].split("</section>")[0]
    assert 'data-testid="plan-exercises"' in testing and "Evacuation walkthrough" in testing
    assert page.count('data-testid="plan-exercises"') == 1


def test_a_template_without_the_role_shows_the_exercises_after_the_sections(client, plan, owner):
    held_exercise(plan, actor=owner, title="Evacuation walkthrough")
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert page.count('data-testid="plan-exercises"') == 1
    assert page.index('data-testid="plan-exercises"') > page.index('id="section-maintenance"')
    version_page = client.get(plan.current_version.get_absolute_url()).content.decode()
    assert "Evacuation walkthrough" not in version_page and "bcp:exercises" not in version_page
