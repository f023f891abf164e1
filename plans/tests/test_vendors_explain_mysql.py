"""On MariaDB: the vendor list's page query uses its index for the filter and the order (no filesort, no full
scan), on the first page and deep down, with each row's recovery-gap subquery served by the link index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from bcp_site.paging import KeysetPaginator
from bcp_site.testing import make_org, make_plan, make_user
from plans.models import Process
from plans.vendor_models import ProcessVendor, Vendor
from plans.vendors import vendor_list_queryset

from .test_explain_mysql import assert_served_by, deep_cursor

# ANALYZE TABLE commits: see test_explain_mysql.
pytestmark = [pytest.mark.mysql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ORGS = 4
VENDORS_PER_ORG = 1000
PER_PAGE = 25


@pytest.fixture
def world(template):
    orgs = [make_org(f"Vendor org {n}") for n in range(ORGS)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    Vendor.objects.bulk_create(
        Vendor(org=org, name=f"Vendor {n}-{i}", name_key=f"vendor {n}-{i}",
               criticality=Vendor.Criticality.values[i % 4], recovery_minutes=30 * (i % 20), created_at_utc=start,
               updated_at_utc=start + timedelta(seconds=i))
        for n, org in enumerate(orgs) for i in range(VENDORS_PER_ORG)
    )
    owner = make_user(orgs[0], username="vendor-explain-owner")
    plan = make_plan(orgs[0], owner, template=template)
    processes = Process.objects.bulk_create(
        Process(plan=plan, name=f"Process {i}", rto_minutes=60 * (i % 10), mtpd_minutes=6000) for i in range(300))
    vendors = list(Vendor.objects.filter(org=orgs[0]).order_by("id").values_list("id", flat=True))
    ProcessVendor.objects.bulk_create(
        ProcessVendor(process=process, vendor_id=vendors[(i * 7 + k) % len(vendors)])
        for i, process in enumerate(processes) for k in range(5))
    with connection.cursor() as cursor:
        for table in ("bc_vendor", "bc_process_vendor", "bc_process"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    return orgs


def test_vendor_list_first_and_deep_pages_use_the_index(world):
    org = world[0]
    for filters, index in [({}, "idx_bc_vendor_org_updated"),
                           ({"criticality": Vendor.Criticality.HIGH}, "idx_bc_vendor_org_crit")]:
        vendors = vendor_list_queryset(org.pk, **filters)
        paginator = KeysetPaginator(vendors, keys=("updated_at_utc", "id"), per_page=PER_PAGE)
        assert_served_by(paginator.page_query(None), table="bc_vendor", index=index)
        deep = deep_cursor(paginator, vendors, 150)
        assert_served_by(paginator.page_query(deep), table="bc_vendor", index=index)
        assert len(paginator.page(deep).object_list) == PER_PAGE
