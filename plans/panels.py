"""What the plan page's exports, attachments and linked-changes panels show, computed by the page.

The template tags in `plans.templatetags.file_tags` / `change_tags` only render these
answers: no queries in templates or tags.
"""

from __future__ import annotations

from django.db.models import Count, Q

from .attachments import max_bytes
from .changes import plan_changes
from .file_forms import AttachmentUploadForm
from .models import Plan, PlanVersion
from .services import plan_edit_refusal

PANEL_ATTACHMENTS = 20
PANEL_CHANGES = 20


def files_panel(plan: Plan, user) -> dict:
    """Export downloads (approved and active versions) and the latest attachments of a plan.

    One query for the newest attachments with their uploaders, and one for the two versions
    unless the plan was loaded with them (`plans.selectors.plan_detail_queryset`); plus the
    user's permissions, cached per request.
    """
    wanted = {pk for pk in (plan.approved_version_id, plan.current_version_id) if pk}
    loaded = plan._state.fields_cache
    versions = {v.pk: v for v in (loaded.get("approved_version"), loaded.get("current_version")) if v is not None}
    if wanted - set(versions):
        versions = {v.pk: v for v in PlanVersion.objects.filter(pk__in=wanted).defer("content_json")}
    attachments = list(
        plan.attachments.select_related("uploaded_by_user").order_by("-uploaded_at_utc", "-id")[: PANEL_ATTACHMENTS + 1]
    )
    unlocked = plan_edit_refusal(plan, attachments=True) is None
    can_upload = bool(user and user.has_perm("plans.add_attachment")) and unlocked
    return {
        "approved_version": versions.get(plan.approved_version_id),
        "current_version": versions.get(plan.current_version_id),
        "attachments": attachments[:PANEL_ATTACHMENTS],
        "more_attachments": len(attachments) > PANEL_ATTACHMENTS,
        "can_upload": can_upload,
        "can_delete": bool(user and user.has_perm("plans.delete_attachment")) and unlocked,
        "form": AttachmentUploadForm(auto_id="id_attachment_%s") if can_upload else None,
        "max_bytes": max_bytes(),
    }


def changes_panel(plan: Plan) -> dict:
    """Changes linked to the plan, newest first, with the review-needed flag.

    Two queries whatever the data size: the counts (all linked changes, and those after
    the last approval) and the newest PANEL_CHANGES changes.
    """
    approved_at = plan.approved_at_utc
    after_approval = Q(change__occurred_at_utc__gt=approved_at) if approved_at else Q(pk__in=[])
    counts = plan.change_links.filter(change__isnull=False).aggregate(
        total=Count("pk"), since_approval=Count("pk", filter=after_approval)
    )
    return {
        "changes": list(plan_changes(plan)[:PANEL_CHANGES]),
        "total": counts["total"],
        "since_approval": counts["since_approval"],
        "review_needed": bool(counts["since_approval"]),
        "limit": PANEL_CHANGES,
    }
