"""Pages of the exports-and-attachments feature: downloads, uploads, deletion, export check.

Every page starts from `get_plan_for_user`, so another organisation's plan, version,
export or attachment answers 404; downloads are always `Content-Disposition: attachment`
with `X-Content-Type-Options: nosniff`, never rendered inline.

Downloads carry `ETag: "<sha256>"` (the recorded hash) and `Cache-Control: private, no-cache`:
the browser keeps its copy and asks again each time; a request whose `If-None-Match` names
the recorded hash gets 304 without the file being read, after the walls and permissions
were checked as for the download itself. Pages stay uncached.

An export that is not issued yet is rendered by a background task: the page says "being
prepared" and refreshes itself (a meta refresh, no JavaScript) until the file is there.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from bcp_site.security import client_ip

from .attachments import (
    SizeLimitUploadHandler,
    attachment_delete,
    attachment_open,
    attachment_upload,
    max_bytes,
    too_large_error,
)
from .exports import (
    CONTENT_TYPES,
    KIND_LABELS,
    KINDS,
    export_filename,
    export_find,
    hash_stream,
    issued_file_read,
    version_file_request,
)
from .exports.pending import WORKER_GRACE
from .file_forms import AttachmentUploadForm, VerifyExportForm
from .models import Attachment
from .ratelimit import rate_hit
from .selectors import get_plan_for_user, organisation_for
from .services import ServiceError, plan_edit_refusal
from .submissions import AlreadySaved, already_saved_redirect, submitted_once

ATTACHMENTS_PER_PAGE = 25


# Browsers keep a download and ask again before using it (no-cache): the walls are checked each time.
DOWNLOAD_CACHE_CONTROL = "private, no-cache"
PREPARING_REFRESH_SECONDS = 3
STUCK_REFRESH_SECONDS = 15


def _etag(digest: str) -> str:
    return f'"{digest}"'


def _not_modified(request, digest: str):
    """304 when the request's If-None-Match names this hash (weak or strong, or `*`); else None."""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return None
    tags = parse_etags(header)
    if "*" in tags or _etag(digest) in {tag.removeprefix("W/") for tag in tags}:
        response = HttpResponseNotModified()
        response["ETag"] = _etag(digest)
        response["Cache-Control"] = DOWNLOAD_CACHE_CONTROL
        return response
    return None


def _download(handle, *, filename: str, content_type: str, digest: str) -> FileResponse:
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = _etag(digest)
    response["Cache-Control"] = DOWNLOAD_CACHE_CONTROL
    return response


def _refused(request, error: ServiceError, *, status: int = 409):
    return render(request, "error.html", {
        "status": status, "title": "This file cannot be served", "message": error.message,
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def version_export(request, pk, number, kind):
    """The PDF or DOCX of a version: the issued file (hash checked), or "being prepared" until a task issued it.

    POST is the page's "Try again" (a request that failed or that no worker picked up).
    """
    plan = get_plan_for_user(request.user, pk)
    if kind not in KINDS:
        raise Http404("Exports are PDF or DOCX.")
    version = get_object_or_404(plan.versions.select_related("plan", "authored_by_user"), version_number=number)
    if request.method == "POST":
        version_file_request(version=version, kind=kind, actor=request.user, retry=True)
        return redirect(request.path)
    state = version_file_request(version=version, kind=kind, actor=request.user)
    if state.issued is None:
        return _preparing(request, version=version, kind=kind, state=state)
    issued = state.issued
    not_modified = _not_modified(request, issued.sha256)
    if not_modified is not None:
        return not_modified
    try:
        data = issued_file_read(issued=issued, version=version, actor=request.user)
    except ServiceError as error:
        return _refused(request, error)
    return _download(io.BytesIO(data), filename=export_filename(version, kind), content_type=CONTENT_TYPES[kind],
                     digest=issued.sha256)


def _preparing(request, *, version, kind, state):
    """The "being prepared" page (202): refreshes itself; says plainly when no worker came or the task failed."""
    if state.failed:
        refresh = None  # nothing will change by itself: the person decides to try again
    elif state.stuck:
        refresh = STUCK_REFRESH_SECONDS
    else:
        refresh = PREPARING_REFRESH_SECONDS
    response = render(request, "plans/exports/preparing.html", {
        "plan": version.plan, "version": version, "kind": kind, "kind_label": KIND_LABELS[kind],
        "state": state, "refresh": refresh, "worker_grace_seconds": int(WORKER_GRACE.total_seconds()),
    }, status=202)
    response["Cache-Control"] = "no-store"
    return response


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
        "can_delete": request.user.has_perm("plans.delete_attachment") and refusal is None,
    }, status=status)


def _attachment_for(request, pk, attachment_id, *, perm=None) -> Attachment:
    plan = get_plan_for_user(request.user, pk, perm=perm)
    attachment = get_object_or_404(plan.attachments.select_related("uploaded_by_user"), pk=attachment_id)
    attachment.plan = plan
    return attachment


@login_required
@require_http_methods(["GET", "HEAD"])
def attachment_download(request, pk, attachment_id):
    attachment = _attachment_for(request, pk, attachment_id)
    not_modified = _not_modified(request, attachment.hash)
    if not_modified is not None:
        return not_modified
    try:
        handle = attachment_open(attachment=attachment, actor=request.user)
    except ServiceError as error:
        return _refused(request, error)
    return _download(handle, filename=attachment.file_name, content_type=attachment.content_type,
                     digest=attachment.hash)


@login_required
@require_http_methods(["GET", "POST"])
def attachment_delete_view(request, pk, attachment_id):
    """GET: a confirmation page; POST: delete (the stored file goes after the transaction commits)."""
    attachment = _attachment_for(request, pk, attachment_id, perm="plans.delete_attachment")
    try:
        refusal = plan_edit_refusal(attachment.plan)  # the service asks again: this spares a useless form
        if refusal is not None:
            raise refusal
        if request.method == "POST":
            name = attachment.file_name
            attachment_delete(attachment=attachment, actor=request.user)
            messages.success(request, f"“{name}” was deleted.")
            return redirect(reverse("plans:plan_detail", args=[pk]) + "#attachments")
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(reverse("files:attachment_list", args=[pk]))
    return render(request, "plans/attachments/confirm_delete.html", {"plan": attachment.plan, "attachment": attachment})


# Checks of files by people who are not signed in, per client address and hour (plans.ratelimit).
VERIFY_ANONYMOUS_LIMIT = 30
VERIFY_WINDOW_SECONDS = 3600


@require_http_methods(["GET", "POST"])
def verify_export(request):
    """Upload a PDF or DOCX and learn which issued file it is, if any.

    Signed in: the files of the person's organisation, described in full (approval, marking, a link
    to the version). Not signed in: any issued file, named only ("the PDF of plan X, version N,
    issued on D"), or "no match": nothing is revealed without the file itself. Those checks are
    limited to VERIFY_ANONYMOUS_LIMIT per client address and hour (429 past it).
    """
    form = VerifyExportForm()
    match = None
    checked = False
    digest = ""
    signed_in = request.user.is_authenticated
    if request.method == "POST":
        if not signed_in and not rate_hit(name="verify-anonymous", subject=client_ip(request) or "",
                                          limit=VERIFY_ANONYMOUS_LIMIT, window_seconds=VERIFY_WINDOW_SECONDS):
            return render(request, "error.html", {
                "status": 429, "title": "Too many checks",
                "message": "Files have been checked from your address too often. Please wait an hour and try "
                           "again, or sign in.",
            }, status=429)
        form = VerifyExportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            digest = hash_stream(upload.chunks())
            if signed_in:
                match = export_find(digest=digest, organisation=organisation_for(request.user))
            else:
                match = export_find(digest=digest, all_organisations=True)
            checked = True
    return render(request, "plans/exports/verify.html", {
        "form": form, "match": match, "checked": checked, "digest": digest, "signed_in": signed_in,
    }, status=400 if request.method == "POST" and not form.is_valid() else 200)
