"""Attachments: Office and OpenDocument files with macros, and polyglot files, are refused by name.

Every test file is built here: zips for OOXML and OpenDocument, a minimal OLE compound file
(header, then a directory sector of 128-byte entries with UTF-16LE names) for legacy Office,
and a PDF, PNG or JPEG with a zip appended or inserted.
"""

import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bcp_site.testing import zip_bytes
from plans.attachments import attachment_upload
from plans.models import Attachment
from plans.services import ServiceError
from plans.tests.test_attachments_files import PDF_BYTES, PNG_BYTES, stored_files, upload

pytestmark = pytest.mark.django_db

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
WORD_PARTS = {"[Content_Types].xml": "<Types/>", "word/document.xml": "<doc/>"}
ODF_TEXT = "application/vnd.oasis.opendocument.text"
MACROS = "contains macros"


def ooxml(folder="word/", **extra) -> bytes:
    return zip_bytes({"[Content_Types].xml": "<Types/>", f"{folder}document.xml": "<doc/>", **extra})


def odf(**extra) -> bytes:
    return zip_bytes({"content.xml": "<office:document-content/>", **extra}, mimetype=ODF_TEXT)


def ole_entry(name: str, entry_type: int) -> bytes:
    """A 128-byte OLE directory entry: UTF-16LE name, its byte length at 64, its type at 66."""
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    return (encoded.ljust(64, b"\x00") + struct.pack("<H", len(encoded)) + bytes([entry_type, 1])).ljust(128, b"\x00")


def ole(*entries: tuple[str, int], body: bytes = b"") -> bytes:
    """A minimal compound file: the 512-byte header, a directory sector, then `body` (stream sectors)."""
    header = (OLE_MAGIC + b"\x00" * 16 + struct.pack("<HHHH", 0x3E, 3, 0xFFFE, 9)).ljust(512, b"\x00")
    directory = b"".join(ole_entry(name, kind) for name, kind in [("Root Entry", 5), *entries]).ljust(512, b"\x00")
    return header + directory + body


PPT_VBA_INFO = b"\x1f\x00\xff\x03\x14\x00\x00\x00\x02\x00\x00\x04\x0c\x00\x00\x00"


def boundsheet(name: bytes, sheet_type: int) -> bytes:
    """A BIFF8 BoundSheet8 record: type 0x85, size, stream position, hidden state, sheet type, name."""
    return b"\x85\x00" + struct.pack("<HI", 8 + len(name), 0x1000) + bytes([1, sheet_type, len(name), 0]) + name


def refusal(response) -> str:
    assert response.status_code == 400
    return " ".join(response.context["form"].errors["file"])


def assert_nothing_stored(plan):
    assert not Attachment.objects.exists()
    assert stored_files(plan) == []


# ---------------------------------------------------------------- macros


@pytest.mark.parametrize("name,data,what", [
    ("Runbook.docx", ooxml("word/", **{"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}), "a VBA project"),
    ("Budget.xlsx", ooxml("xl/", **{"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}), "a VBA project"),
    ("Deck.pptx", ooxml("ppt/", **{"ppt/VBAPROJECT.BIN": b"\xd0\xcf\x11\xe0macro"}), "a VBA project"),
    ("Costs.xlsx", ooxml("xl/", **{"xl/macrosheets/sheet1.xml": "<xm:macrosheet/>"}), "Excel 4.0 macro sheets"),
    ("Typed.docx", zip_bytes({
        **WORD_PARTS,
        "[Content_Types].xml": '<Types><Override ContentType="application/vnd.ms-word.document.macroEnabled.'
                               'main+xml" PartName="/word/document.xml"/></Types>',
    }), "a macro-enabled document type"),
    ("Notes.odt", odf(**{"Basic/Standard/Module1.xml": "<script:module/>"}), "Basic macros or scripts"),
    ("Notes.odt", odf(**{"Scripts/python/run.py": "import os"}), "Basic macros or scripts"),
    ("Notes.odt", odf(**{"META-INF/manifest.xml": '<manifest:manifest><manifest:file-entry '
                                                  'manifest:media-type="application/script:basic"/>'
                                                  '</manifest:manifest>'}), "scripts listed in its manifest"),
    ("Notes.odt", odf(**{"content.xml": '<office:document-content><office:event-listeners><script:event-listener '
                                        'script:event-name="dom:load" xlink:href="vnd.sun.star.script:Tools.Run?'
                                        'language=Basic&amp;location=application"/></office:event-listeners>'
                                        '</office:document-content>'}), "an event or link that runs a macro"),
    ("Old.doc", ole(("WordDocument", 2), ("Macros", 1), ("VBA", 1), ("_VBA_PROJECT", 2)), "a VBA project"),
    ("Old.xls", ole(("Workbook", 2), ("_VBA_PROJECT_CUR", 1)), "a VBA project"),
    ("Lower.doc", ole(("WordDocument", 2), ("vba", 1)), "a VBA project"),
    ("Old.ppt", ole(("PowerPoint Document", 2), body=b"\x00" * 99 + PPT_VBA_INFO + struct.pack("<III", 7, 1, 2)),
     "a VBA project"),
    ("Old.xls", ole(("Workbook", 2), body=b"\x09\x08" + b"\x00" * 37 + boundsheet(b"Auto_Open", 1)),
     "Excel 4.0 macro sheets"),
])
def test_office_files_with_macros_are_refused_by_name(client, plan, owner, name, data, what):
    client.force_login(owner)
    message = refusal(upload(client, plan, name, data))
    assert message.startswith(f"“{name}” {MACROS} ({what}).")
    assert "save a copy without macros" in message
    assert_nothing_stored(plan)


@pytest.mark.parametrize("name", ["Runbook.docm", "Budget.xlsm", "Deck.pptm", "Tool.xlam", "Big.xlsb"])
def test_macro_enabled_extensions_are_refused_as_macros(client, plan, owner, name):
    client.force_login(owner)
    message = refusal(upload(client, plan, name, ooxml()))
    assert message.startswith(f"“{name}” {MACROS} (a macro-enabled .{name.rsplit('.', 1)[1]} file).")
    assert_nothing_stored(plan)


def test_the_service_refuses_macros_too(plan, owner):
    """The admin and any other caller get the same rule: the check lives in the service."""
    data = ole(("Workbook", 2), ("_VBA_PROJECT_CUR", 1), ("VBA", 1))
    with pytest.raises(ServiceError) as refused:
        attachment_upload(plan=plan, actor=owner, uploaded_file=SimpleUploadedFile("Budget.xls", data))
    assert refused.value.code == "macros" and "“Budget.xls” contains macros" in refused.value.message
    assert_nothing_stored(plan)


@pytest.mark.parametrize("name,data", [
    ("Clean.docx", ooxml("word/", **{"word/media/image1.png": PNG_BYTES})),
    ("Clean.odt", odf(**{"META-INF/manifest.xml": '<manifest:manifest><manifest:file-entry manifest:full-path="/" '
                                                  f'manifest:media-type="{ODF_TEXT}"/></manifest:manifest>',
                         "content.xml": '<office:document-content><office:scripts/><text:p>The VBA guide, see '
                                        '<text:a xlink:href="https://example.org/macro:help">macro: help</text:a>'
                                        '</text:p></office:document-content>'})),
    # Text that mentions VBA, Macros or _VBA_PROJECT is not a directory entry (not on a 128-byte boundary).
    ("Clean.doc", ole(("WordDocument", 2), ("1Table", 2),
                      body=b"\x00\x00\x00" + "VBA".encode("utf-16-le") + b"\x00\x00"
                      + "Macros and _VBA_PROJECT notes".encode("utf-16-le") + b"\x00" * 400)),
    ("Clean.xls", ole(("Workbook", 2), body=boundsheet(b"Sheet1", 0))),
    ("Clean.ppt", ole(("PowerPoint Document", 2), body=PPT_VBA_INFO + struct.pack("<III", 7, 0, 2))),
])
def test_files_without_macros_are_accepted(client, plan, owner, name, data):
    client.force_login(owner)
    assert upload(client, plan, name, data).status_code == 302
    assert Attachment.objects.get(plan=plan).file_name == name


# ---------------------------------------------------------------- polyglots


def zip_inside(data: bytes) -> bytes:
    """`data` with a zip's entries in the middle and no end-of-central-directory record."""
    archive = zip_bytes({"payload.exe": b"MZ" + b"\x00" * 64})
    return data + archive[: archive.rfind(b"PK\x01\x02")] + b"\n%%EOF\n"


@pytest.mark.parametrize("name,data,both", [
    ("Report.pdf", PDF_BYTES + ooxml(), "a PDF document and a ZIP archive"),
    ("Report.pdf", zip_inside(PDF_BYTES), "a PDF document and a ZIP archive"),
    ("Runbook.docx", b"%PDF-1.4\n" + ooxml(), "a Word document and a PDF document"),
    ("Site.png", PNG_BYTES + ooxml(), "a PNG image and a ZIP archive"),
    ("Photo.jpg", zip_inside(JPEG_BYTES), "a JPEG image and a ZIP archive"),
    ("Old.doc", ole(("WordDocument", 2)) + ooxml(), "a Word document and a ZIP archive"),
    ("notes.txt", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "a text file and a PDF document"),
])
def test_polyglot_files_are_refused_by_name(client, plan, owner, name, data, both):
    client.force_login(owner)
    kind, other = both.split(" and ")
    message = refusal(upload(client, plan, name, data))
    assert message.startswith(f"“{name}” is both {kind} and {other}.")
    assert "Files that are two types at once are not accepted" in message
    assert_nothing_stored(plan)


def test_the_service_refuses_polyglots_too(plan, owner):
    with pytest.raises(ServiceError) as refused:
        attachment_upload(plan=plan, actor=owner, uploaded_file=SimpleUploadedFile("x.pdf", PDF_BYTES + ooxml()))
    assert refused.value.code == "polyglot"
    assert_nothing_stored(plan)


@pytest.mark.parametrize("name,data", [
    ("Plain.pdf", PDF_BYTES.replace(b"trailer", b"% PK mentioned, PK\x03 not a header\ntrailer")),
    # A legacy document may embed an Office 2007+ object: a whole zip inside a stream, not at the end.
    ("Embedded.doc", ole(("WordDocument", 2), ("ObjectPool", 1), body=ooxml() + b"\x00" * 512)),
    ("Runbook.docx", ooxml()),
])
def test_single_type_files_are_not_polyglots(client, plan, owner, name, data):
    client.force_login(owner)
    assert upload(client, plan, name, data).status_code == 302
