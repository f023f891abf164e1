"""The demo data holds resources, a vendor register with a vendor that recovers after its process's RTO, and
collaborators."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from plans.models import Plan
from plans.vendor_models import PlanCollaborator, Vendor
from reviews.management.commands.seed_demo import PLAN_TITLE

pytestmark = pytest.mark.django_db


def test_the_demo_has_resources_vendors_with_a_gap_and_collaborators(client, monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)  # rendering is tested elsewhere
    call_command("seed_demo", stdout=StringIO())
    plan = Plan.objects.get(title=PLAN_TITLE)
    approved = plan.approved_version.content_json
    assert {r["name"] for r in approved["resources"]} >= {"Customer support agents", "Office seats"}
    support = next(p for p in approved["processes"] if p["name"] == "Customer support line")
    assert [v["name"] for v in support["vendors"]] == ["Skyline Cloud Telephony"]
    assert Vendor.objects.filter(org=plan.org).count() == 4
    roles = set(plan.collaborators.values_list("user__username", "role"))
    assert roles == {("admin", PlanCollaborator.Role.CO_AUTHOR), ("reviewer2", PlanCollaborator.Role.SECTION_OWNER),
                     ("reviewer", PlanCollaborator.Role.DEFAULT_REVIEWER)}

    client.force_login(plan.owner_user)
    page = client.get(plan.get_absolute_url()).content.decode()
    vendors = page.split('data-testid="plan-vendors"')[1].split("</section>")[0]
    assert "Skyline Cloud Telephony" in vendors and "Recovers after the RTO" in vendors
    assert "Continuity evidence is 420 days old" in vendors  # Fastlane Couriers
    listing = client.get(reverse("vendors:vendor_list") + "?flag=gap").content.decode()
    assert "Skyline Cloud Telephony" in listing and "PayWise" not in listing

    call_command("seed_demo", stdout=StringIO())  # a second run adds nothing
    assert Vendor.objects.filter(org=plan.org).count() == 4
