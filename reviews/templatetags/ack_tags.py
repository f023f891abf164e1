"""Acknowledgement panel on the plan page: coverage numbers, distribution, acknowledge button.

`{% plan_ack_panel plan panel %}` renders what the page computed once for the request
(`reviews.panels.plan_ack_panel`, which says how many queries it runs); the tag runs none.
"""

from django import template

register = template.Library()


@register.inclusion_tag("reviews/includes/plan_ack_panel.html", takes_context=True)
def plan_ack_panel(context, plan, panel):
    return {**panel, "plan": plan, "request": context.get("request")}
