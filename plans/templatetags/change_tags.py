"""Linked changes panel on the plan page."""

from django import template

register = template.Library()


@register.inclusion_tag("plans/includes/plan_changes_panel.html", takes_context=True)
def plan_changes_panel(context, plan):
    """Changes linked to the plan, with the review-needed flag (fixed number of queries)."""
    return {"plan": plan, "request": context.get("request")}
