"""Acknowledgement panel on the plan page: distribution, coverage, acknowledge button."""

from django import template

from reviews.ack_coverage import ack_coverage
from reviews.ack_records import acknowledgeable
from reviews.models import PlanDistribution

register = template.Library()

OUTSTANDING_PREVIEW = 10


@register.inclusion_tag("reviews/includes/plan_ack_panel.html", takes_context=True)
def plan_ack_panel(context, plan):
    """The panel's data in a fixed number of queries: the approved version's number (unless
    loaded with the plan), the distribution users, the version's acknowledgements, the
    distribution rows, and the user's permissions (cached per request)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    coverage = ack_coverage(plan)
    rows = list(PlanDistribution.objects.filter(plan_id=plan.pk).select_related("user", "group"))
    my_ack_at = coverage.ack_at_by_user.get(user.pk) if user is not None and user.is_authenticated else None
    can_view = bool(user and user.is_authenticated and user.has_perm("plans.view_plan"))
    return {
        "plan": plan,
        "request": request,
        "coverage": coverage,
        "distribution_users": [r.user for r in rows if r.user_id],
        "distribution_groups": [r.group for r in rows if r.group_id],
        "my_ack_at": my_ack_at,
        "can_ack": bool(can_view and acknowledgeable(plan, coverage.version_number, user=user) is None),
        "can_view_coverage": can_view,
        "can_edit_distribution": bool(user and user.is_authenticated and user.has_perm("plans.change_plan")),
        "outstanding_preview": coverage.outstanding[:OUTSTANDING_PREVIEW],
        "outstanding_more": max(coverage.outstanding_count - OUTSTANDING_PREVIEW, 0),
    }
