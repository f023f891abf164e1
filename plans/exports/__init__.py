"""PDF and DOCX exports of plan versions: evidence that is issued once and always verifies.

One job per module:

- `render`: what an export shows and the PDF/DOCX renderers (same version and marking, same bytes);
- `marking`: draft, approved or superseded, decided when a file is rendered;
- `issued`: storing and recording issued files (`IssuedFile`, append-only) and reading them back
  with the hash checked;
- `pending`: files not issued yet are rendered by a background task; "being prepared" until then;
- `tasks`: the task itself (Django's tasks API);
- `report`: an exercise's after-action report (rendered by a task, issued once like the exports);
- `breakglass`: an approved version's break-glass pack (offline HTML and a short PDF);
- `incident_report`: an incident's post-incident report (the organisation's file: no plan);
- `verify`: which issued file is this (the verify page and `manage.py verify_export`).

Callers import from `plans.exports`; the names below are its public API.
"""

from .breakglass import (
    breakglass_download,
    breakglass_filename,
    breakglass_find,
    breakglass_issue,
    breakglass_request,
    breakglass_store,
)
from .incident_report import (
    incident_report_enqueue,
    incident_report_find,
    incident_report_read,
    incident_report_state,
    incident_report_store,
    render_incident_report,
)
from .issued import (
    EXPORT_KIND,
    ISSUED_KIND,
    issued_file_find,
    issued_file_read,
    sha256_bytes,
    version_export_store,
    version_exports_store,
    version_file_issue,
)
from .marking import markings_up_to, version_marking
from .pending import FileState, version_exports_enqueue, version_file_request
from .render import (
    CONTENT_TYPES,
    CONTROLLED_COPY,
    DOCX,
    KIND_LABELS,
    KINDS,
    NOT_APPROVED,
    PDF,
    RENDERERS,
    Approval,
    export_context,
    export_filename,
    format_utc,
    render_docx,
    render_pdf,
    version_approval,
)
from .report import (
    ReportState,
    exercise_report_enqueue,
    exercise_report_find,
    exercise_report_read,
    exercise_report_state,
    exercise_report_store,
    render_exercise_report,
    report_filename,
)
from .verify import ExportMatch, export_find, hash_stream

__all__ = [
    "breakglass_download", "breakglass_filename", "breakglass_find", "breakglass_issue", "breakglass_request",
    "breakglass_store", "incident_report_enqueue", "incident_report_find", "incident_report_read",
    "incident_report_state", "incident_report_store", "render_incident_report",
    "CONTENT_TYPES", "CONTROLLED_COPY", "DOCX", "EXPORT_KIND", "ISSUED_KIND", "KIND_LABELS", "KINDS",
    "NOT_APPROVED", "PDF", "RENDERERS", "Approval", "ExportMatch", "FileState", "ReportState", "export_context",
    "export_filename", "export_find", "exercise_report_enqueue", "exercise_report_find", "exercise_report_read",
    "exercise_report_state", "exercise_report_store", "format_utc", "hash_stream", "issued_file_find",
    "issued_file_read", "markings_up_to", "render_docx", "render_exercise_report", "render_pdf", "report_filename",
    "sha256_bytes", "version_approval", "version_export_store",
    "version_exports_enqueue", "version_exports_store", "version_file_issue", "version_file_request",
    "version_marking",
]
