"""Nobody waits for a file: files not issued yet are rendered by a background task.

A download of a file that is not issued yet records an `IssuedFileRequest` (unique per
version, kind and marking) and enqueues one render task; concurrent first downloads find the
row and share that task. The page then says "being prepared" and refreshes itself until the
file is issued. The task notes when it starts and, on failure, why; a request no worker has
started within `WORKER_GRACE`, or that failed, can be tried again (a new task; the task is
idempotent, so a duplicate only finds the file issued).

The approval asks for both files of the approved version the same way, after its commit, and for its
break-glass packs (`plans.exports.breakglass`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import IssuedFile, IssuedFileRequest, PlanVersion
from .issued import ISSUED_KIND, issued_file_find, version_file_issue
from .marking import markings_up_to, version_marking
from .render import KINDS

logger = logging.getLogger(__name__)

# A request no worker has started within this time is reported as stuck ("is a worker running?").
WORKER_GRACE = timedelta(minutes=1)
# A render that started this long ago and has not finished is reported as stuck too.
RENDER_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class FileState:
    """Where a requested file is: issued (`issued`), or on its way (`request`)."""

    issued: IssuedFile | None = None
    request: IssuedFileRequest | None = None

    @property
    def failed(self) -> bool:
        return self.request is not None and self.request.failed_at_utc is not None

    @property
    def waiting_for_worker(self) -> bool:
        """No worker has started the task within WORKER_GRACE of the request."""
        request = self.request
        return (request is not None and not self.failed and request.started_at_utc is None
                and timezone.now() - request.requested_at_utc > WORKER_GRACE)

    @property
    def stuck(self) -> bool:
        """Waiting for a worker (see above), or started longer than RENDER_GRACE ago and not done."""
        request = self.request
        if request is None or self.failed:
            return False
        if request.started_at_utc is not None:
            return timezone.now() - request.started_at_utc > RENDER_GRACE
        return self.waiting_for_worker

    @property
    def can_retry(self) -> bool:
        return self.failed or self.stuck


def _enqueue(request: IssuedFileRequest, kind: str) -> None:
    """Enqueue the render task for `request` (after its row is committed, so a worker sees it).

    A queue that cannot be reached is recorded on the request as its failure, so the page
    says so instead of waiting forever.
    """
    from .tasks import issue_version_file  # the task module imports this one

    try:
        result = issue_version_file.enqueue(version_id=request.version_id, kind=kind)
    except Exception as error:  # noqa: BLE001 - shown on the page; the download can be tried again
        logger.exception("the render task of version %s (%s) could not be enqueued", request.version_id, kind)
        IssuedFileRequest.objects.filter(pk=request.pk).update(
            failed_at_utc=timezone.now(), error=f"The background queue could not be reached ({type(error).__name__})."
        )
        return
    IssuedFileRequest.objects.filter(pk=request.pk).update(task_id=str(result.id)[:64])


def version_file_request(*, version: PlanVersion, kind: str, actor=None, retry: bool = False) -> FileState:
    """The `kind` file of `version` in its marking now: issued, or asked of a worker (once).

    The first request records a row and enqueues the task; later ones find the row. `retry`
    enqueues a new task for a request that failed or is stuck. With the immediate backend
    (tests, or `BCP_TASKS_BACKEND=immediate`) the task has already run when this returns.
    """
    marking = version_marking(version, plan=version.plan)
    issued = issued_file_find(version=version, kind=kind, marking=marking)
    if issued is not None:
        return FileState(issued=issued)
    user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            request, created = IssuedFileRequest.objects.get_or_create(
                version=version, kind=ISSUED_KIND[kind], marking=marking,
                defaults={"requested_at_utc": timezone.now(), "requested_by_user": user},
            )
    except IntegrityError:  # created by a concurrent request between the lookup and the insert
        request = IssuedFileRequest.objects.get(version=version, kind=ISSUED_KIND[kind], marking=marking)
        created = False
    if not created and retry and FileState(request=request).can_retry:
        IssuedFileRequest.objects.filter(pk=request.pk).update(
            requested_at_utc=timezone.now(), requested_by_user=user, started_at_utc=None, failed_at_utc=None,
            error="", task_id="",
        )
        created = True
    if created:
        _enqueue(request, kind)
    issued = issued_file_find(version=version, kind=kind, marking=marking)
    if issued is not None:
        return FileState(issued=issued)
    request = IssuedFileRequest.objects.filter(pk=request.pk).first()
    if request is None:  # finished between the two reads
        return FileState(issued=issued_file_find(version=version, kind=kind, marking=marking))
    return FileState(request=request)


def version_exports_enqueue(*, version_id: int) -> None:
    """Ask a worker for both exports of a version and its break-glass packs (the approval's after-commit
    hook); never raises."""
    from .breakglass import breakglass_enqueue  # it imports this module

    try:
        version = PlanVersion.objects.select_related("plan").get(pk=version_id)
    except PlanVersion.DoesNotExist:
        logger.warning("version %s vanished before its exports were requested", version_id)
        return
    for kind in KINDS:
        try:
            version_file_request(version=version, kind=kind)
        except Exception:  # noqa: BLE001 - never undo an approval because a file could not be requested
            logger.exception("the %s of version %s could not be requested", kind, version_id)
    breakglass_enqueue(version_id=version_id)


def issued_file_task_run(*, version_id: int, kind: str) -> str:
    """The render task's work: issue the file in the version's marking now, and settle the requests.

    Requests of that marking and of earlier ones (a draft asked for, then approved) are done
    once the file is issued; on failure they record the error and the exception goes to the
    task backend (the admin's queue health lists it). Returns the file's SHA-256 ("" if the
    version is gone).
    """
    version = PlanVersion.objects.select_related("plan").filter(pk=version_id).first()
    if version is None:  # the plan was deleted meanwhile: its requests went with it
        return ""
    marking = version_marking(version, plan=version.plan)
    requests = IssuedFileRequest.objects.filter(
        version_id=version_id, kind=ISSUED_KIND[kind], marking__in=markings_up_to(marking)
    )
    requests.filter(started_at_utc=None).update(started_at_utc=timezone.now())
    requester_id = (requests.exclude(requested_by_user=None).order_by("requested_at_utc")
                    .values_list("requested_by_user", flat=True).first())
    actor = get_user_model().objects.filter(pk=requester_id).first() if requester_id else None
    try:
        issued, _data = version_file_issue(version=version, kind=kind, actor=actor)
    except Exception as error:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        requests.update(failed_at_utc=timezone.now(), error=str(message)[:1000])
        raise
    requests.delete()
    return issued.sha256
