"""Small query-building helpers shared by the apps (no app imports here)."""

from __future__ import annotations

from django.db.models import F, Func, IntegerField, QuerySet, Subquery


def count_subquery(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY), to read several counts in one query."""
    return Subquery(
        queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"), output_field=IntegerField()
    )
