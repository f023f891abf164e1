"""Saving revisions, the version history, old versions rendered from their content, and diffs."""

import pytest
from django.urls import reverse

from bcp_site.testing import make_plan
from plans.charts import recovery_chart_svg, risk_heatmap
from plans.diff import version_diff
from plans.models import Audit, Contact, Plan, PlanVersion, Process, Risk
from plans.services import plan_snapshot, process_snapshot, version_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org, owner, template):
    """These tests write revisions of a plan from scratch: what `plan_create` makes (the template's defaults, no
    contacts, processes or risks), not the ready-for-review plan of the shared fixture."""
    return make_plan(org, owner, template=template, title="Head office plan", ready=False)


def _fill_required(plan, purpose="Keep payroll running"):
    plan.draft_content_json["overview"]["purpose"] = purpose
    plan.save()


def test_save_revision_needs_a_change_note(client, plan, owner):
    _fill_required(plan)
    client.force_login(owner)
    response = client.post(reverse("plans:version_create", args=[plan.pk]),
                           {"note": "   ", "edit_revision": plan.edit_revision})
    assert "note" in response.context["form"].errors
    assert plan.versions.count() == 1


def test_save_revision_is_refused_while_the_content_does_not_fit_the_template(client, plan, owner):
    client.force_login(owner)
    url = reverse("plans:version_create", args=[plan.pk])
    assert "Plan overview › Purpose: is required" in client.get(url).content.decode()  # warned up front
    response = client.post(url, {"note": "First real draft", "edit_revision": plan.edit_revision})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Plan overview › Purpose: is required" in page and "First real draft" in page
    assert plan.versions.count() == 1


def test_save_revision_creates_the_next_active_version(client, plan, owner):
    _fill_required(plan)
    Contact.objects.create(plan=plan, name="Alice Duty")
    client.force_login(owner)
    response = client.post(reverse("plans:version_create", args=[plan.pk]),
                           {"note": "Added purpose and Alice", "edit_revision": plan.edit_revision})
    v2 = plan.versions.get(version_number=2)
    assert response.status_code == 302 and response.url == v2.get_absolute_url()
    assert v2.status == PlanVersion.Status.ACTIVE and v2.summary_change_note == "Added purpose and Alice"
    assert plan.versions.get(version_number=1).status == PlanVersion.Status.SUPERSEDED
    assert v2.content_json["overview"]["purpose"] == "Keep payroll running"
    assert [c["name"] for c in v2.content_json["contacts"]] == ["Alice Duty"]
    plan.refresh_from_db()
    assert plan.current_version == v2
    assert Audit.objects.filter(plan=plan, action="version_created", details_json__version=2).exists()
    assert "Unsaved changes" not in client.get(plan.get_absolute_url()).content.decode()


def test_save_revision_form_shows_what_will_change(client, plan, owner):
    _fill_required(plan)
    client.force_login(owner)
    page = client.get(reverse("plans:version_create", args=[plan.pk])).content.decode()
    assert "Purpose" in page and "Keep payroll running" in page and "Added" in page


def test_version_page_renders_from_its_content_even_after_live_rows_change(client, plan, owner):
    _fill_required(plan, "Original purpose")
    process = Process.objects.create(plan=plan, name="Payroll", rto_minutes=240, mtpd_minutes=480)
    risk = Risk.objects.create(plan=plan, threat="Flood", likelihood="possible", impact="major", rating="high")
    version_create(plan=plan, actor=owner, note="v2")

    process.name, process.rto_minutes = "Renamed process", 30
    process.save()
    risk.delete()
    Contact.objects.create(plan=plan, name="New contact")
    plan.draft_content_json["overview"]["purpose"] = "Changed purpose"
    plan.save()

    client.force_login(owner)
    page = client.get(reverse("plans:version_detail", args=[plan.pk, 2])).content.decode()
    assert "Original purpose" in page and "Payroll" in page and "4 h" in page and "Flood" in page
    assert "Changed purpose" not in page and "Renamed process" not in page and "New contact" not in page
    live = client.get(plan.get_absolute_url()).content.decode()
    assert "Changed purpose" in live and "Unsaved changes since version 2" in live


def test_version_history_lists_every_version_with_notes(client, plan, owner):
    version_create(plan=plan, actor=owner, note="Second pass")
    client.force_login(owner)
    page = client.get(reverse("plans:version_list", args=[plan.pk])).content.decode()
    assert "Version 2" in page and "Version 1" in page and "Second pass" in page and "Created from template" in page
    assert client.get(reverse("plans:version_detail", args=[plan.pk, 9])).status_code == 404


def test_diff_page_is_readable(client, plan, owner):
    payroll = Process.objects.create(plan=plan, name="Payroll", rto_minutes=240, mtpd_minutes=480)
    Contact.objects.create(plan=plan, name="Alice Duty", role="Lead")
    version_create(plan=plan, actor=owner, note="v2")
    _fill_required(plan, "Keep payroll running")
    payroll.rto_minutes = 120
    payroll.save()
    Contact.objects.all().delete()
    Risk.objects.create(plan=plan, threat="Flood", likelihood="possible", impact="major", rating="high")
    version_create(plan=plan, actor=owner, note="v3")

    client.force_login(owner)
    page = client.get(reverse("plans:version_compare", args=[plan.pk]), {"old": 2, "new": 3}).content.decode()
    assert "Changes from version 2 to version 3" in page
    assert "Purpose" in page and "Keep payroll running" in page
    assert "RTO (recovery time objective)" in page and "4 h" in page and "2 h" in page
    assert "Alice Duty" in page and "Removed" in page and "Flood" in page and "Added" in page
    assert "3 Possible" in page and "Scope" not in page  # unchanged fields are not listed
    default = client.get(reverse("plans:version_compare", args=[plan.pk])).content.decode()
    assert "Changes from version 2 to version 3" in default
    assert client.get(reverse("plans:version_compare", args=[plan.pk]), {"old": "x"}).status_code == 400
    assert client.get(reverse("plans:version_compare", args=[plan.pk]), {"old": 7}).status_code == 404


def test_diff_against_the_working_copy(client, plan, owner):
    _fill_required(plan, "Unsaved purpose")
    client.force_login(owner)
    page = client.get(reverse("plans:version_compare", args=[plan.pk]), {"old": 1, "new": "working"}).content.decode()
    assert "to the working copy" in page and "Unsaved purpose" in page


def test_version_diff_shape(plan):
    old = {"overview": {"purpose": "", "scope": "All sites"}, "maintenance": {"review_cadence": "annually"},
           "contacts": [{"id": 1, "name": "Alice", "role": "Lead", "phone": "", "email": "", "notes": ""}],
           "processes": [{"id": 5, "name": "Payroll", "rto_minutes": 240, "mtpd_minutes": 480, "dependencies": []}],
           "risks": []}
    new = {"overview": {"purpose": "Keep going", "scope": "All sites"}, "maintenance": {"review_cadence": "quarterly"},
           "contacts": [],
           "processes": [{"id": 5, "name": "Payroll", "rto_minutes": 120, "mtpd_minutes": 480,
                          "dependencies": ["Bank"]}],
           "risks": [{"id": 9, "threat": "Flood", "likelihood": "rare", "impact": "minor", "rating": "low"}]}
    diff = version_diff(plan.template, old, new)
    assert [(e["key"], e["kind"]) for e in diff] == [
        ("overview", "section"), ("maintenance", "section"), ("contacts", "list"), ("processes", "list"),
        ("risks", "list")]
    assert diff[0]["changes"] == [{"label": "Purpose", "key": "purpose", "change": "added", "old": "",
                                   "new": "Keep going", "fields": []}]
    assert diff[1]["changes"][0]["change"] == "changed"
    assert diff[2]["changes"][0]["change"] == "removed" and diff[2]["changes"][0]["label"] == "Alice"
    assert diff[3]["changes"][0]["fields"] == [
        {"label": "RTO (recovery time objective)", "old": "4 h", "new": "2 h"},
        {"label": "Dependencies", "old": "", "new": "Bank"},
    ]
    assert diff[4]["changes"][0]["change"] == "added"
    assert {"label": "Likelihood", "old": "", "new": "1 Rare"} in diff[4]["changes"][0]["fields"]
    assert version_diff(plan.template, new, new) == []


def test_risk_heatmap_counts_and_bands():
    risks = [{"threat": "Flood", "likelihood": "likely", "impact": "severe"},
             {"threat": "Fire", "likelihood": "likely", "impact": "severe"},
             {"threat": "Odd", "likelihood": "sometimes", "impact": "minor"}]
    heatmap = risk_heatmap(risks)
    assert [row["likelihood"] for row in heatmap["rows"]][0] == "almost_certain"
    cell = heatmap["rows"][1]["cells"][4]  # likely (4) x severe (5)
    assert (cell["count"], cell["score"], cell["band"], cell["threats"]) == (2, 20, "extreme", ["Flood", "Fire"])
    assert heatmap["rows"][4]["cells"][0]["band"] == "low" and heatmap["rows"][2]["cells"][2]["band"] == "medium"
    assert (heatmap["total"], heatmap["unplaced"]) == (2, 1)
    assert sum(c["count"] for row in heatmap["rows"] for c in row["cells"]) == 2


def test_recovery_chart_scales_bars_and_escapes_names(plan):
    process = Process.objects.create(plan=plan, name="<script>alert(1)</script>", rto_minutes=120, mtpd_minutes=480)
    svg = recovery_chart_svg([process_snapshot(process), {"name": "No objectives", "rto_minutes": None,
                                                          "mtpd_minutes": None}])
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert "RTO 2 h" in svg and "MTPD 8 h" in svg and "not set" in svg
    assert recovery_chart_svg([]) == ""


def test_plan_snapshot_matches_the_plan_page_comparison(plan, owner):
    Process.objects.create(plan=plan, name="Payroll", rto_minutes=10, mtpd_minutes=20, dependencies_json=["A"])
    version = version_create(plan=plan, actor=owner, note="x")
    assert version.content_json == {**Plan.objects.get(pk=plan.pk).draft_content_json, **plan_snapshot(plan)}
