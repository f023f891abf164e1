"""Exports and attachments panels on plan and version pages."""

from django import template

from ..attachments import max_bytes
from ..file_forms import AttachmentUploadForm
from ..models import PlanVersion
from ..services import plan_edit_refusal

register = template.Library()

PANEL_ATTACHMENTS = 20


@register.inclusion_tag("plans/includes/plan_files_panel.html", takes_context=True)
def plan_files_panel(context, plan):
    """Export downloads (approved and active versions) and the latest attachments of a plan.

    Two queries whatever the data size (plus the user's permissions, cached per request):
    the two versions without their content, and the newest attachments with uploaders.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    ids = [pk for pk in (plan.approved_version_id, plan.current_version_id) if pk]
    versions = {v.pk: v for v in PlanVersion.objects.filter(pk__in=ids).defer("content_json")} if ids else {}
    attachments = list(
        plan.attachments.select_related("uploaded_by_user").order_by("-uploaded_at_utc", "-id")[: PANEL_ATTACHMENTS + 1]
    )
    can_upload = (bool(user and user.has_perm("plans.add_attachment"))
                  and plan_edit_refusal(plan, attachments=True) is None)
    return {
        "plan": plan,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "approved_version": versions.get(plan.approved_version_id),
        "current_version": versions.get(plan.current_version_id),
        "attachments": attachments[:PANEL_ATTACHMENTS],
        "more_attachments": len(attachments) > PANEL_ATTACHMENTS,
        "can_upload": can_upload,
        "can_delete": bool(user and user.has_perm("plans.delete_attachment")),
        "form": AttachmentUploadForm(auto_id="id_attachment_%s") if can_upload else None,
        "max_bytes": max_bytes(),
    }


@register.inclusion_tag("plans/includes/version_export_links.html", takes_context=True)
def version_export_links(context, plan, version):
    """Download links for one version's PDF and DOCX, with the recorded hashes (no query)."""
    return {"plan": plan, "version": version, "request": context.get("request")}
