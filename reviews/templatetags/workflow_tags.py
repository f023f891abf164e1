"""Workflow panel on the plan page: status, approved vs drafted version, reviewers, notes, buttons.

`{% load workflow_tags %}{% plan_workflow_panel plan workflow %}` renders what the page computed
once for the request (`reviews.panels.plan_workflow`, which also says how many queries it runs);
the tag itself runs none.
"""

from django import template

register = template.Library()


@register.inclusion_tag("reviews/includes/plan_workflow_panel.html", takes_context=True)
def plan_workflow_panel(context, plan, workflow):
    return {**workflow, "plan": plan, "request": context.get("request")}
