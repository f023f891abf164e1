"""Linked changes panel on the plan page.

`{% plan_changes_panel plan panel %}` renders what the page computed (`plans.panels.changes_panel`);
the tag itself runs no query.
"""

from django import template

register = template.Library()


@register.inclusion_tag("plans/includes/plan_changes_panel.html", takes_context=True)
def plan_changes_panel(context, plan, panel):
    return {**panel, "plan": plan, "request": context.get("request")}
