"""Exports and attachments panels on plan and version pages (render only: no queries).

    {% plan_files_panel plan panel %}        panel = plans.panels.files_panel(plan, user)
    {% version_export_links plan version %}  download links of one version, with its recorded hashes
"""

from django import template

register = template.Library()


@register.inclusion_tag("plans/includes/plan_files_panel.html", takes_context=True)
def plan_files_panel(context, plan, panel):
    """Export downloads and the latest attachments, as `plans.panels.files_panel` computed them."""
    return {**panel, "plan": plan, "request": context.get("request"), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("plans/includes/version_export_links.html", takes_context=True)
def version_export_links(context, plan, version):
    """Download links for one version's PDF and DOCX, with the recorded hashes (no query)."""
    return {"plan": plan, "version": version, "request": context.get("request")}
