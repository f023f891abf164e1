"""Workflow panel on the plan page: status, approved vs draft version, submit/withdraw."""

from django import template

register = template.Library()


@register.inclusion_tag("reviews/includes/plan_workflow_panel.html", takes_context=True)
def plan_workflow_panel(context, plan):
    return {"plan": plan, "request": context.get("request")}
