"""Display helpers of the plan pages (also usable by exports): durations, risk labels, charts.

    {% load plan_tags %}
    {{ process.rto_minutes|minutes }}            -> "4 h" ("—" when not set)
    {{ risk.likelihood|risk_likelihood }}        -> "3 Possible"
    {% risk_heatmap_grid risks %}                -> plans/includes/risk_heatmap.html
    {% recovery_chart processes %}               -> plans/includes/recovery_chart.html

`risks` / `processes` are snapshot dicts (`plans.services.risk_snapshot` / `process_snapshot`).
"""

from django import template

from templates_app.values import format_minutes

from ..audit_actions import audit_action_label
from ..charts import recovery_chart_svg, risk_heatmap
from ..models import Process, Risk
from ..risk import IMPACT_SCORES, LIKELIHOOD_SCORES

register = template.Library()

_LIKELIHOOD = dict(Risk.Likelihood.choices)
_IMPACT = dict(Risk.Impact.choices)
_RATING = dict(Risk.Rating.choices)
_PROCESS_IMPACT = dict(Process.Impact.choices)



@register.filter
def minutes(value):
    """Minutes in human units ("1 d 4 h"); an em dash when not set."""
    if value is None or value == "":
        return "—"
    return format_minutes(int(value))


@register.filter
def risk_likelihood(value):
    return _LIKELIHOOD.get(value, value or "—")


@register.filter
def risk_impact(value):
    return _IMPACT.get(value, value or "—")


@register.filter
def risk_rating_label(value):
    return _RATING.get(value, value or "—")


@register.filter
def process_impact(value):
    return _PROCESS_IMPACT.get(value, value or "—")


@register.filter
def risk_score(risk):
    """likelihood x impact (1..25) of a risk snapshot dict; empty when off the scales."""
    try:
        return LIKELIHOOD_SCORES[risk["likelihood"]] * IMPACT_SCORES[risk["impact"]]
    except (KeyError, TypeError):
        return ""


@register.filter
def audit_action(action):
    """The action in words (plans.audit_actions)."""
    return audit_action_label(action)


@register.inclusion_tag("plans/includes/risk_heatmap.html")
def risk_heatmap_grid(risks):
    return {"heatmap": risk_heatmap(risks)}


@register.inclusion_tag("plans/includes/recovery_chart.html")
def recovery_chart(processes):
    return {"recovery_svg": recovery_chart_svg(processes), "processes": processes}
