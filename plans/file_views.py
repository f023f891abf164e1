"""Pages of the exports-and-attachments feature: downloads, uploads, deletion, export check.

Every page starts from `get_plan_for_user`, so another organisation's plan, version,
export or attachment answers 404; downloads are always `Content-Disposition: attachment`
with `X-Content-Type-Options: nosniff`, never rendered inline.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from .attachments import (
    SizeLimitUploadHandler,
    attachment_delete,
    attachment_open,
    attachment_upload,
    max_bytes,
    too_large_error,
)
from .exports import CONTENT_TYPES, KINDS, export_filename, export_find, hash_stream, version_export_get
from .file_forms import AttachmentUploadForm, VerifyExportForm
from .models import Attachment
from .selectors import get_plan_for_user, organisation_for
from .services import ServiceError, plan_edit_refusal
from .submissions import AlreadySaved, already_saved_redirect, submitted_once

ATTACHMENTS_PER_PAGE = 25


def _download(handle, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(request, error: ServiceError, *, status: int = 409):
    return render(request, "error.html", {
        "status": status, "title": "This file cannot be served", "message": error.message,
    }, status=status)


@login_required
def version_export(request, pk, number, kind):
    """The PDF or DOCX of a version: the stored file (hash checked), or rendered and stored on first use."""
    plan = get_plan_for_user(request.user, pk)
    if kind not in KINDS:
        raise Http404("Exports are PDF or DOCX.")
    version = get_object_or_404(plan.versions.select_related("plan", "authored_by_user"), version_number=number)
    try:
        data = version_export_get(version=version, kind=kind, actor=request.user)
    except ServiceError as error:
        return _refused(request, error)
    return _download(io.BytesIO(data), filename=export_filename(version, kind), content_type=CONTENT_TYPES[kind])


@login_required
@csrf_exempt  # CSRF is checked below, after the size-limit upload handler is in place
@require_http_methods(["GET", "POST"])
def attachment_list(request, pk):
    """All attachments of a plan (paginated) and, for editors, the upload form; POST uploads."""
    size_limit = SizeLimitUploadHandler(request)
    request.upload_handlers.insert(0, size_limit)
    return _attachment_list(request, pk, size_limit=size_limit)


@csrf_protect
def _attachment_list(request, pk, *, size_limit):
    perm = "plans.add_attachment" if request.method == "POST" else None
    plan = get_plan_for_user(request.user, pk, perm=perm)
    form = AttachmentUploadForm()
    status = 200
    if request.method == "POST":
        form = AttachmentUploadForm(request.POST, request.FILES)
        if size_limit.too_large:  # the handler dropped the file part way: say why it is missing
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error("file", too_large_error().message)
        elif form.is_valid():
            try:
                with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                    attachment = attachment_upload(plan=plan, actor=request.user,
                                                   uploaded_file=form.cleaned_data["file"])
                    submission.result_url = attachment.get_absolute_url()  # the plan's attachments
            except AlreadySaved as saved:  # a double click or a reload: the file is stored once
                return already_saved_redirect(request, saved)
            except ServiceError as error:
                form.add_error("file", error.message)
            else:
                messages.success(request, f"“{attachment.file_name}” was uploaded.")
                return redirect(reverse("plans:plan_detail", args=[plan.pk]) + "#attachments")
        status = 400
    attachments = plan.attachments.select_related("uploaded_by_user").order_by("-uploaded_at_utc", "-id")
    refusal = plan_edit_refusal(plan, attachments=True)
    page = Paginator(attachments, ATTACHMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "plans/attachments/list.html", {
        "plan": plan, "page": page, "form": form, "max_bytes": max_bytes(),
        "can_upload": request.user.has_perm("plans.add_attachment") and refusal is None,
        "upload_refusal": refusal.message if refusal is not None and request.user.has_perm("plans.add_attachment")
        else "",
        "can_delete": request.user.has_perm("plans.delete_attachment"),
    }, status=status)


def _attachment_for(request, pk, attachment_id, *, perm=None) -> Attachment:
    plan = get_plan_for_user(request.user, pk, perm=perm)
    attachment = get_object_or_404(plan.attachments.select_related("uploaded_by_user"), pk=attachment_id)
    attachment.plan = plan
    return attachment


@login_required
def attachment_download(request, pk, attachment_id):
    attachment = _attachment_for(request, pk, attachment_id)
    try:
        handle = attachment_open(attachment=attachment, actor=request.user)
    except ServiceError as error:
        return _refused(request, error)
    return _download(handle, filename=attachment.file_name, content_type=attachment.content_type)


@login_required
@require_http_methods(["GET", "POST"])
def attachment_delete_view(request, pk, attachment_id):
    """GET: a confirmation page; POST: delete (the stored file goes after the transaction commits)."""
    attachment = _attachment_for(request, pk, attachment_id, perm="plans.delete_attachment")
    if request.method == "POST":
        name = attachment.file_name
        attachment_delete(attachment=attachment, actor=request.user)
        messages.success(request, f"“{name}” was deleted.")
        return redirect(reverse("plans:plan_detail", args=[pk]) + "#attachments")
    return render(request, "plans/attachments/confirm_delete.html", {"plan": attachment.plan, "attachment": attachment})


@login_required
@require_http_methods(["GET", "POST"])
def verify_export(request):
    """Upload a PDF or DOCX and learn which export of the user's organisation it is, if any."""
    form = VerifyExportForm()
    match = None
    checked = False
    digest = ""
    if request.method == "POST":
        form = VerifyExportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            digest = hash_stream(upload.chunks())
            match = export_find(digest=digest, organisation=organisation_for(request.user))
            checked = True
    return render(request, "plans/exports/verify.html", {
        "form": form, "match": match, "checked": checked, "digest": digest,
    }, status=400 if request.method == "POST" and not form.is_valid() else 200)
