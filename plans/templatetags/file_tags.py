"""Exports and attachments panels on plan and version pages."""

from django import template

register = template.Library()


@register.inclusion_tag("plans/includes/plan_files_panel.html", takes_context=True)
def plan_files_panel(context, plan):
    """Export downloads and the attachment list of a plan (fixed number of queries)."""
    return {"plan": plan, "request": context.get("request")}


@register.inclusion_tag("plans/includes/version_export_links.html", takes_context=True)
def version_export_links(context, plan, version):
    """Download links for one version's PDF and DOCX."""
    return {"plan": plan, "version": version, "request": context.get("request")}
