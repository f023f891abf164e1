"""The demo: `seed_demo` makes a full sample plan (approved, then a draft revision), upgrades an empty one
left by an earlier run, and is harmless to run again."""

from io import StringIO

import pytest
from django.core.management import call_command

from plans.models import Incident, Organisation, Plan
from plans.readiness import plan_readiness, version_readiness
from plans.services import plan_create
from reviews.management.commands.seed_demo import DEMO_USERS, ORGANISATION, PLAN_TITLE
from templates_app.models import Template
from templates_app.schema import is_empty, template_sections

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def issued(monkeypatch) -> list[int]:
    """The versions whose files the seed issued (rendering is tested elsewhere)."""
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    versions = []
    monkeypatch.setattr("reviews.management.commands.seed_demo.version_exports_store",
                        lambda *, version_id: versions.append(version_id))
    return versions


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def sample_plan() -> Plan:
    return Plan.objects.select_related("template", "approved_version", "current_version").get(title=PLAN_TITLE)


def check_full_plan(plan: Plan) -> None:
    assert plan.status == Plan.Status.DRAFT
    approved, draft = plan.approved_version, plan.current_version
    assert (approved.version_number, draft.version_number) == (2, 3)
    assert approved.approved_at_utc is not None and draft.approved_at_utc is None
    assert plan.versions.count() == 3

    content = approved.content_json
    for section in template_sections(approved.template):  # realistic content in every field of every section
        empty = [f["key"] for f in section["fields"] if is_empty(content[section["key"]].get(f["key"]))]
        assert empty == [], section["key"]
    contacts, processes, risks = content["contacts"], content["processes"], content["risks"]
    assert len(contacts) >= 5 and all(c["name"] and c["role"] and c["phone"] and c["email"] for c in contacts)
    assert len(processes) >= 5
    assert all(p["rto_minutes"] is not None and p["rpo_minutes"] is not None and p["mtpd_minutes"] is not None
               and p["rto_minutes"] <= p["mtpd_minutes"] for p in processes)
    cells = {(r["likelihood"], r["impact"]) for r in risks}
    assert len(cells) >= 10  # spread across the heat map
    assert {r["likelihood"] for r in risks} == {"rare", "unlikely", "possible", "likely", "almost_certain"}
    assert {r["impact"] for r in risks} == {"insignificant", "minor", "moderate", "major", "severe"}
    assert {r["rating"] for r in risks} == {"low", "medium", "high", "extreme"}

    # The draft revision changed something after the approval.
    assert "Heatwave overheats the server room" in {r["threat"] for r in draft.content_json["risks"]}
    assert "Heatwave overheats the server room" not in {r["threat"] for r in risks}
    assert draft.content_json["recovery_strategies"]["alternate_site_seats"] == 40

    for readiness in (version_readiness(approved), version_readiness(draft)):
        # Only the demo's vendor warnings: one vendor recovers after its process's RTO, one's evidence is stale.
        assert readiness.ready and {item.check for item in readiness.warnings} == {"vendor_recovery", "vendor_evidence"}
    readiness = plan_readiness(plan)
    assert readiness.ready and readiness.warnings == []


def test_seed_demo_makes_a_full_plan_and_a_second_run_changes_nothing(client, django_user_model, issued):
    out = seed()
    plan = sample_plan()
    assert f"sample plan #{plan.pk} created: version 2 approved, version 3 a draft revision." in out
    check_full_plan(plan)
    # Every version's PDF and DOCX issued by the seed: a demo's first download is the file itself.
    assert sorted(issued) == sorted(plan.versions.values_list("pk", flat=True))
    for username, password, *_rest in DEMO_USERS:
        assert django_user_model.objects.get(username=username).check_password(password)
        assert f"{username:<10} password: {password}" in out
    assert "log in at http://" in out

    second = seed()
    assert f"sample plan #{plan.pk} already there." in second
    assert Plan.objects.filter(title=PLAN_TITLE).count() == 1
    assert sample_plan().versions.count() == 3 and sample_plan().audit_entries.count() == plan.audit_entries.count()

    client.force_login(plan.owner_user)
    page = client.get(plan.get_absolute_url())
    assert page.status_code == 200
    assert "Priya Shah" in page.content.decode()


def test_seed_demo_fills_the_empty_sample_plan_of_an_earlier_run_in_place(django_user_model):
    # What the earlier seed_demo left: the users and an empty plan made from the default template.
    seed()
    Incident.objects.all().delete()  # the demo's incident activated the plan, which is then never deleted
    Plan.objects.filter(title=PLAN_TITLE).delete()
    editor = django_user_model.objects.get(username="editor")
    empty = plan_create(organisation=Organisation.objects.get(name=ORGANISATION),
                        template=Template.objects.get(is_default=True), title=PLAN_TITLE, owner=editor, actor=editor)

    out = seed()
    assert f"sample plan #{empty.pk} was empty, now filled: version 2 approved, version 3 a draft revision." in out
    assert Plan.objects.filter(title=PLAN_TITLE).count() == 1
    check_full_plan(sample_plan())
    assert "already there" in seed()
