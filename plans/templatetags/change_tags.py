"""Linked changes panel on the plan page."""

from django import template
from django.db.models import Count, Q

from plans.changes import plan_changes

register = template.Library()

PANEL_LIMIT = 20


@register.inclusion_tag("plans/includes/plan_changes_panel.html", takes_context=True)
def plan_changes_panel(context, plan):
    """Changes linked to the plan, newest first, with the review-needed flag.

    Two queries whatever the data size: the counts (all linked changes, and those after
    the last approval) and the newest PANEL_LIMIT changes.
    """
    approved_at = plan.approved_at_utc
    after_approval = Q(change__occurred_at_utc__gt=approved_at) if approved_at else Q(pk__in=[])
    counts = plan.change_links.filter(change__isnull=False).aggregate(
        total=Count("pk"), since_approval=Count("pk", filter=after_approval)
    )
    changes = list(plan_changes(plan)[:PANEL_LIMIT])
    return {
        "plan": plan,
        "request": context.get("request"),
        "changes": changes,
        "total": counts["total"],
        "since_approval": counts["since_approval"],
        "review_needed": bool(counts["since_approval"]),
        "limit": PANEL_LIMIT,
    }

