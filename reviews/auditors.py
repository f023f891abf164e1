"""Auditors: people who read everything of their organisation and change nothing.

The "BCP Auditor" group (made by the migration `reviews.0008_auditor_group`) holds every view
permission the other BCP groups hold, and the KPI dashboard's, and nothing that writes. Being
readers of the record rather than of the plans, auditors are on no plan's distribution
(`reviews.distribution.distribution_users`) and do not acknowledge plans (`ack_record`
refuses them), so their reading never changes coverage.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

AUDITOR_GROUP = "BCP Auditor"
AUDITOR_ACK_REFUSAL = "Auditors read plans without acknowledging them, so nothing was recorded."


def auditor_membership(user_ref=None) -> Exists:
    """EXISTS: the user (`user_ref`, by default the outer query's primary key) is in the auditor group."""
    memberships = get_user_model().groups.through.objects.filter(
        user_id=OuterRef("pk") if user_ref is None else user_ref, group__name=AUDITOR_GROUP,
    )
    return Exists(memberships)


def is_auditor(user) -> bool:
    """Whether `user` is in the auditor group (one query; False for anonymous visitors)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.groups.filter(name=AUDITOR_GROUP).exists()
