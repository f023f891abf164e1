"""Forms of the exports-and-attachments feature: the attachment upload and the export check."""

from django import forms

from .attachments import ALLOWED
from .submissions import SubmissionTokenField


class AttachmentUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="PDF, Office (Word, Excel, PowerPoint), OpenDocument, PNG, JPEG, GIF, WebP, text or CSV.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{ext}" for ext in ALLOWED)}),
        error_messages={"required": "Choose a file to upload.", "empty": "The file is empty."},
    )
    submission_token = SubmissionTokenField()  # a double click stores one copy (plans.submissions)


class VerifyExportForm(forms.Form):
    file = forms.FileField(
        label="Exported PDF, DOCX or break-glass file",
        help_text="The file is compared by its SHA-256 with the files recorded for your organisation; "
        "it is not stored.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.html"}),
        error_messages={"required": "Choose the PDF or DOCX file to check.", "empty": "The file is empty."},
    )
