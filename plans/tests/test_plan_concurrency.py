"""Two people saving the same plan at the same moment from forms opened at the same revision."""

import threading

import pytest
from django.db import connections

from plans.models import Audit, Plan
from plans.services import ServiceError, plan_section_update


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_saves_of_one_revision_let_exactly_one_through(plan, owner, editor):
    revision = plan.edit_revision
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(user, purpose):
        try:
            barrier.wait(timeout=10)
            plan_section_update(plan=Plan.objects.get(pk=plan.pk), section_key="overview",
                                values={"purpose": purpose, "scope": "All sites"}, actor=user,
                                expected_revision=revision)
            outcomes[purpose] = "saved"
        except ServiceError as error:
            outcomes[purpose] = error.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=args) for args in ((owner, "Owner's"), (editor, "Editor's"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(purpose for purpose, outcome in outcomes.items() if outcome == "saved")
    plan.refresh_from_db()
    assert plan.draft_content_json["overview"]["purpose"] == winner
    assert plan.edit_revision == revision + 1
    assert Audit.objects.filter(plan=plan, action="section_updated").count() == 1
