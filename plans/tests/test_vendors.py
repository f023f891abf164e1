"""The vendor register: flags at their boundaries, snapshots that vendors changed later leave alone, audit,
the pages (list, detail, add, edit, remove) with their permissions and query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import NAVIGATION_COUNTS, make_plan, make_user
from plans.models import Audit, Plan
from plans.readiness import plan_readiness, version_readiness
from plans.services import ServiceError, working_copy_content
from plans.vendor_models import ProcessVendor, Vendor
from plans.vendors import evidence_stale, recovery_gap, vendor_delete, vendor_save

from .exercise_support import approve
from .vendor_support import add_vendor, days_ago, link_vendors

pytestmark = pytest.mark.django_db

RTO = 240  # "Customer service", the process make_ready gives every plan


def plan_page(client, user, plan) -> str:
    client.force_login(user)
    response = client.get(plan.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# --- the flags at their boundaries ------------------------------------------------------------------------


def test_flag_boundaries():
    today = timezone.localdate()
    assert not evidence_stale(days_ago(365), today)
    assert evidence_stale(days_ago(366), today)
    assert evidence_stale(None, today)  # no evidence at all is flagged too
    assert not recovery_gap(RTO, RTO)  # the vendor is back exactly when needed: fine
    assert recovery_gap(RTO + 1, RTO)
    assert not recovery_gap(None, RTO) and not recovery_gap(RTO + 1, None)


@pytest.mark.parametrize(("recovery", "flagged"), [(RTO, False), (RTO + 1, True)])
def test_a_vendor_recovering_after_the_rto_is_flagged_on_the_plan_and_the_vendor_page(
        client, plan, owner, recovery, flagged):
    vendor = add_vendor(plan.org, owner, "Northwind Hosting", recovery=recovery)
    link_vendors(plan, owner, [vendor])
    page = plan_page(client, owner, plan)
    assert ("Recovers after the RTO" in page) is flagged
    assert ("the supplier comes back after you need it" in page) is flagged  # the readiness warning
    detail = client.get(vendor.get_absolute_url()).content.decode()
    assert ("Vendor recovers after the RTO" in detail) is flagged
    assert "Customer service" in detail  # the dependent process is listed either way


@pytest.mark.parametrize(("days", "flagged"), [(365, False), (366, True)])
def test_evidence_older_than_365_days_is_flagged(client, plan, owner, days, flagged):
    vendor = add_vendor(plan.org, owner, "Northwind Hosting", recovery=60, evidence_days=days)
    link_vendors(plan, owner, [vendor])
    page = plan_page(client, owner, plan)
    assert (f"Continuity evidence is {days} days old" in page) is flagged
    detail = client.get(vendor.get_absolute_url()).content.decode()
    assert (f"Continuity evidence is {days} days old" in detail) is flagged
    listing = client.get(reverse("vendors:vendor_list")).content.decode()
    assert ("Evidence stale" in listing) is flagged


def test_vendor_flags_are_warnings_that_never_block_a_review(plan, owner, reviewer):
    from plans.services import revision_save
    from reviews.services import plan_submit_for_review

    vendor = add_vendor(plan.org, owner, "Slow Cloud", recovery=8 * 60, evidence_days=None)
    link_vendors(plan, owner, [vendor])
    readiness = plan_readiness(plan, content=working_copy_content(plan),
                               evidence={vendor.pk: None}, today=timezone.localdate())
    assert readiness.ready
    messages = [item.message for item in readiness.warnings]
    assert any("“Slow Cloud” commits to recover in 8 h, after the RTO of “Customer service” (4 h)" in m
               for m in messages)
    assert any("no continuity evidence recorded" in m for m in messages)
    version = revision_save(plan=plan, actor=owner, note="Slow Cloud linked")
    assert len(version_readiness(version).warnings) == 2  # the version's own snapshot, evidence as of today
    [review] = plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    assert review.version == version


# --- snapshots -----------------------------------------------------------------------------------------


def test_a_vendor_changed_after_approval_leaves_the_approved_version_alone(client, plan, owner, reviewer, bcp_admin):
    from plans.services import revision_save

    vendor = add_vendor(plan.org, bcp_admin, "Northwind Hosting", recovery=120)
    link_vendors(plan, owner, [vendor])
    revision_save(plan=plan, actor=owner, note="Vendor linked")
    approve(plan, submitter=owner, approver=reviewer)
    approved = plan.approved_version
    before = approved.content_json

    vendor_save(org=plan.org, actor=bcp_admin, vendor_id=vendor.pk, values={
        "name": "Northwind Cloud", "recovery_minutes": 600, "criticality": "critical", "evidence_on": days_ago(1)})

    approved.refresh_from_db()
    assert approved.content_json == before
    [process] = [p for p in approved.content_json["processes"] if p["name"] == "Customer service"]
    assert process["vendors"] == [{"id": vendor.pk, "name": "Northwind Hosting", "recovery_minutes": 120}]
    client.force_login(owner)
    version_page = client.get(approved.get_absolute_url()).content.decode()
    assert "Northwind Hosting (recovers in 2 h)" in version_page and "Northwind Cloud" not in version_page
    plan.refresh_from_db()
    assert plan.status == Plan.Status.APPROVED  # the register is not the plan: nothing was edited
    # The working copy now differs from the approved version: the plan page says so, and the diff names it.
    page = plan_page(client, owner, plan)
    assert 'data-testid="unsaved"' in page and "Northwind Cloud" in page
    compare = client.get(reverse("plans:version_compare", args=[plan.pk]) + f"?old={approved.version_number}"
                         "&new=working").content.decode()
    assert "Northwind Hosting (2 h)" in compare and "Northwind Cloud (10 h)" in compare


def test_a_plan_unchanged_since_a_version_written_before_vendors_is_still_unchanged(client, plan, owner):
    """Versions written before resources and vendors were kept lack both lists: no spurious unsaved changes."""
    from plans.models import PlanVersion
    from plans.services import revision_save

    old = dict(plan.current_version.content_json)
    old.pop("resources")
    old["processes"] = [{k: v for k, v in p.items() if k != "vendors"} for p in old["processes"]]
    PlanVersion.objects.filter(pk=plan.current_version_id).update(content_json=old)
    assert 'data-testid="unsaved"' not in plan_page(client, owner, plan)
    with pytest.raises(ServiceError) as refusal:
        revision_save(plan=plan, actor=owner, note="Nothing new")
    assert refusal.value.code == "unchanged"


# --- the process form links vendors ------------------------------------------------------------------------


def test_the_process_form_links_vendors_of_the_organisation_only(client, plan, owner, outsider):
    ours = add_vendor(plan.org, owner, "Northwind Hosting")
    theirs = add_vendor(outsider.membership.organisation, outsider, "Zebra Freight")
    process = plan.processes.get()
    url = reverse("plans:process_edit", args=[plan.pk, process.pk])
    client.force_login(owner)
    form = client.get(url).content.decode()
    assert "Northwind Hosting (recovers in 2 h)" in form and "Zebra Freight" not in form
    data = {"name": process.name, "rto_minutes": "4h", "rpo_minutes": "1h", "mtpd_minutes": "1d",
            "impact_rating": "high", "edit_revision": str(Plan.objects.get(pk=plan.pk).edit_revision),
            "depends_on_vendors": [str(theirs.pk)]}
    response = client.post(url, data)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ProcessVendor.objects.exists()
    data["depends_on_vendors"] = [str(ours.pk)]
    assert client.post(url, data).status_code == 302
    assert list(process.vendors.all()) == [ours]
    entry = Audit.objects.filter(plan=plan, action="process_changed").latest("id")
    assert entry.details_json["changes"] == {"vendors": [[], ["Northwind Hosting"]]}


def test_the_service_refuses_another_organisations_vendor(plan, owner, outsider):
    theirs = add_vendor(outsider.membership.organisation, outsider, "Zebra Freight")
    with pytest.raises(ServiceError) as refusal:
        link_vendors(plan, owner, [theirs])
    assert refusal.value.code == "other_organisation"
    assert not ProcessVendor.objects.exists()


# --- writes: audit and history -------------------------------------------------------------------------------


def test_vendor_changes_are_organisation_audit_rows_with_history(org, bcp_admin):
    from plans.audit_actions import audit_action_label, audit_sentence

    vendor = add_vendor(org, bcp_admin, "Northwind Hosting", recovery=120)
    vendor_save(org=org, actor=bcp_admin, vendor_id=vendor.pk, values={
        "name": "Northwind Hosting", "recovery_minutes": 480, "criticality": "high",
        "evidence_on": vendor.evidence_on, "service": "Hosting"})
    rows = list(Audit.objects.filter(org=org, action__startswith="vendor_").order_by("id"))
    assert [(r.action, r.plan_id) for r in rows] == [("vendor_added", None), ("vendor_changed", None)]
    assert audit_action_label("vendor_changed") == "Vendor changed"
    assert audit_sentence(rows[1].action, rows[1].details_json) == (
        "Committed recovery time of Northwind Hosting changed from 2 h to 8 h.")
    assert vendor.history.count() == 2
    vendor.refresh_from_db()
    vendor_delete(vendor=vendor, actor=bcp_admin)
    assert Audit.objects.filter(org=org, plan=None, action="vendor_removed").exists()


def test_a_vendor_still_depended_on_is_not_removed(plan, owner, bcp_admin):
    vendor = add_vendor(plan.org, bcp_admin, "Northwind Hosting")
    link_vendors(plan, owner, [vendor])
    with pytest.raises(ServiceError) as refusal:
        vendor_delete(vendor=vendor, actor=bcp_admin)
    assert "still a dependency of “Customer service” (Head office plan)" in refusal.value.message
    assert Vendor.objects.filter(pk=vendor.pk).exists()


# --- pages ----------------------------------------------------------------------------------------------------


def test_vendor_pages_for_each_role(client, org, owner, member, bcp_admin, outsider):
    vendor = add_vendor(org, owner, "Northwind Hosting")
    list_url, add_url = reverse("vendors:vendor_list"), reverse("vendors:vendor_create")
    edit_url = reverse("vendors:vendor_edit", args=[vendor.pk])
    remove_url = reverse("vendors:vendor_delete", args=[vendor.pk])
    for url in (list_url, add_url, vendor.get_absolute_url(), edit_url, remove_url):
        assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(member)  # a viewer reads, changes nothing
    assert "Northwind Hosting" in client.get(list_url).content.decode()
    assert client.get(vendor.get_absolute_url()).status_code == 200
    assert client.get(add_url).status_code == 403 and client.get(edit_url).status_code == 403
    assert client.post(remove_url).status_code == 403
    client.force_login(outsider)  # another organisation: nothing of ours
    assert "Northwind Hosting" not in client.get(list_url).content.decode()
    for url in (vendor.get_absolute_url(), edit_url, remove_url):
        assert client.get(url).status_code == 404
    client.force_login(owner)  # an editor adds and changes, does not remove
    assert client.get(add_url).status_code == 200 and client.get(edit_url).status_code == 200
    assert client.get(remove_url).status_code == 403
    client.force_login(bcp_admin)
    assert client.post(remove_url).status_code == 302
    assert not Vendor.objects.exists()


def test_adding_and_editing_a_vendor_on_its_pages(client, org, owner):
    client.force_login(owner)
    add_url = reverse("vendors:vendor_create")
    response = client.post(add_url, {"name": "  Acme   GmbH ", "service": "Payroll bureau", "criticality": "critical",
                                     "recovery_minutes": "1d", "evidence_on": days_ago(10).isoformat(),
                                     "contract_reference": "C-77", "contacts": "Desk: +44 20 7946 0999"})
    vendor = Vendor.objects.get()
    assert response["Location"] == vendor.get_absolute_url()
    assert (vendor.name, vendor.recovery_minutes, vendor.criticality) == ("Acme GmbH", 1440, "critical")
    response = client.post(add_url, {"name": "Açme gmbh", "criticality": "low"})
    assert response.status_code == 400
    assert "“Acme GmbH” is in the vendor register already" in response.content.decode()
    future = timezone.localdate() + timezone.timedelta(days=1)
    response = client.post(reverse("vendors:vendor_edit", args=[vendor.pk]), {
        "name": "Acme GmbH", "criticality": "critical", "recovery_minutes": "-2h", "evidence_on": future.isoformat()})
    text = response.content.decode()
    assert response.status_code == 400 and "cannot be negative" in text and "cannot arrive in the future" in text
    response = client.post(reverse("vendors:vendor_edit", args=[vendor.pk]), {
        "name": "ACME GmbH", "criticality": "critical", "recovery_minutes": "6h"})
    assert response.status_code == 302
    vendor.refresh_from_db()
    assert (vendor.name, vendor.recovery_minutes, vendor.evidence_on) == ("ACME GmbH", 360, None)


def test_the_vendor_list_filters_by_warning(client, plan, owner):
    slow = add_vendor(plan.org, owner, "Slow Cloud", recovery=RTO + 60)
    add_vendor(plan.org, owner, "Old Paper", recovery=30, evidence_days=500)
    add_vendor(plan.org, owner, "Fine Freight", recovery=30, evidence_days=5)
    link_vendors(plan, owner, [slow])
    client.force_login(owner)
    url = reverse("vendors:vendor_list")

    def names(query):
        page = client.get(url + query).content.decode()
        return [name for name in ("Slow Cloud", "Old Paper", "Fine Freight") if name in page]

    assert names("") == ["Slow Cloud", "Old Paper", "Fine Freight"]
    assert names("?flag=gap") == ["Slow Cloud"]
    assert names("?flag=stale") == ["Old Paper"]
    assert names("?q=freight") == ["Fine Freight"]
    assert names("?criticality=low") == []


VENDOR_LIST_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the user's membership (the organisation's id)
    + 1  # one page of vendors + 1 row, each with its recovery-gap subquery; no count
    + 2  # permissions of the user (the "Add vendor" button; cached for the request)
    + NAVIGATION_COUNTS
)
VENDOR_DETAIL_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the vendor within the user's organisation
    + 1  # the processes that depend on it (+ plan), shortest RTO first, at most DEPENDENTS_SHOWN
    + 2  # permissions of the user (Edit / Remove; cached for the request)
    + NAVIGATION_COUNTS
)


@pytest.mark.parametrize("n", [3, 60])
def test_vendor_pages_run_a_fixed_number_of_queries(client, org, owner, template, n, django_assert_num_queries):
    vendors = [add_vendor(org, owner, f"Vendor {i}", recovery=60 + i) for i in range(n)]
    plan = make_plan(org, owner, template=template)
    for process_number in range(n):
        process = plan.processes.create(name=f"Process {process_number}", rto_minutes=30 + process_number,
                                        mtpd_minutes=600)
        ProcessVendor.objects.create(process=process, vendor=vendors[-1])
    client.force_login(owner)
    with django_assert_num_queries(VENDOR_LIST_QUERIES):
        response = client.get(reverse("vendors:vendor_list"))
    assert response.status_code == 200 and f"Vendor {n - 1}" in response.content.decode()
    # Many dependents: the first DEPENDENTS_SHOWN and a count of them all.
    with django_assert_num_queries(VENDOR_DETAIL_QUERIES + (1 if n >= 50 else 0)):
        response = client.get(vendors[-1].get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200 and "Process 0" in page
    assert (f"The 50 with the shortest RTO of {n} are shown" in page) is (n > 50)


@pytest.mark.parametrize("n", [2, 40])
def test_the_plan_page_costs_the_same_with_few_or_many_vendors_and_resources(
        client, plan, owner, n, django_assert_num_queries, django_assert_max_num_queries):
    from .test_plan_pages import PLAN_DETAIL_QUERIES, _panel_queries
    from .vendor_support import add_resource

    vendors = [add_vendor(plan.org, owner, f"Vendor {i}", recovery=RTO + i) for i in range(n)]
    link_vendors(plan, owner, vendors)
    for i in range(n):
        add_resource(plan, owner, f"Resource {i}", quantities=[(0, i), (60, i + 1)])
    panels = _panel_queries(django_assert_max_num_queries, owner, plan.pk)
    client.force_login(owner)
    with django_assert_num_queries(PLAN_DETAIL_QUERIES + panels + 1):  # + the resources' quantities
        response = client.get(plan.get_absolute_url())
    page = response.content.decode()
    assert f"Resource {n - 1}" in page and f"Vendor {n - 1}" in page and "after 1 h: " in page


def test_a_user_without_an_organisation_has_an_empty_register(client, org, owner):
    add_vendor(org, owner, "Northwind Hosting")
    loner = make_user(None, username="loner", groups=["BCP Editor"])
    client.force_login(loner)
    assert "Northwind Hosting" not in client.get(reverse("vendors:vendor_list")).content.decode()
    assert client.get(reverse("vendors:vendor_create")).status_code == 403
