"""Acknowledgement panel on the plan page: distribution, coverage, acknowledge button."""

from django import template

register = template.Library()


@register.inclusion_tag("reviews/includes/plan_ack_panel.html", takes_context=True)
def plan_ack_panel(context, plan):
    return {"plan": plan, "request": context.get("request")}
