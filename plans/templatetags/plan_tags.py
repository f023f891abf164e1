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

from ..charts import recovery_chart_svg, risk_heatmap
from ..models import Process, Risk
from ..risk import IMPACT_SCORES, LIKELIHOOD_SCORES

register = template.Library()

_LIKELIHOOD = dict(Risk.Likelihood.choices)
_IMPACT = dict(Risk.Impact.choices)
_RATING = dict(Risk.Rating.choices)
_PROCESS_IMPACT = dict(Process.Impact.choices)

AUDIT_ACTIONS = {
    "plan_created": "Plan created",
    "section_updated": "Section updated",
    "contact_added": "Contact added", "contact_changed": "Contact changed", "contact_removed": "Contact removed",
    "process_added": "Process added", "process_changed": "Process changed", "process_removed": "Process removed",
    "risk_added": "Risk added", "risk_changed": "Risk changed", "risk_removed": "Risk removed",
    "version_created": "Version saved",
    "revision_started": "New revision started",
}


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
    return AUDIT_ACTIONS.get(action, str(action).replace("_", " ").capitalize())


@register.filter
def audit_summary(details):
    """A short human description of an audit row's details."""
    if not isinstance(details, dict):
        return ""
    parts = []
    for key in ("contact", "process", "risk", "title"):
        if details.get(key):
            parts.append(f"“{details[key]}”")
    if details.get("section"):
        fields = ", ".join(details.get("fields") or [])
        parts.append(f"section {details['section']}" + (f" ({fields})" if fields else ""))
    if details.get("changes"):
        parts.append("changed: " + ", ".join(details["changes"]))
    if details.get("version"):
        parts.append(f"version {details['version']}")
    if details.get("note"):
        parts.append(f"note: {details['note']}")
    return "; ".join(parts)


@register.inclusion_tag("plans/includes/risk_heatmap.html")
def risk_heatmap_grid(risks):
    return {"heatmap": risk_heatmap(risks)}


@register.inclusion_tag("plans/includes/recovery_chart.html")
def recovery_chart(processes):
    return {"recovery_svg": recovery_chart_svg(processes), "processes": processes}
