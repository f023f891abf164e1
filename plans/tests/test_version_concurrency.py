"""Concurrent revisions of one plan: sequential numbers, one active version (real row locks)."""

import threading

import pytest
from django.db import connection, connections

from plans.models import Plan, PlanVersion
from plans.services import version_create


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration rows (groups)
def test_parallel_version_creation_is_gap_free_with_one_active(plan, owner):
    workers = 6
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            version_create(plan=Plan.objects.get(pk=plan.pk), actor=owner, note=f"thread {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    numbers = sorted(plan.versions.values_list("version_number", flat=True))
    assert numbers == list(range(1, workers + 2))
    active = list(plan.versions.filter(status=PlanVersion.Status.ACTIVE))
    assert len(active) == 1 and active[0].version_number == workers + 1
    plan.refresh_from_db()
    assert plan.current_version_id == active[0].pk


def test_sequential_versions_supersede_the_previous(db, plan, owner):
    v2 = version_create(plan=plan, actor=owner, note="second")
    v3 = version_create(plan=plan, actor=owner, note="third")
    assert (v2.version_number, v3.version_number) == (2, 3)
    statuses = dict(plan.versions.values_list("version_number", "status"))
    assert statuses == {1: "superseded", 2: "superseded", 3: "active"}
    assert connection.vendor in {"sqlite", "mysql"}
