"""What a file's bytes really hold: macro stores in Office files, and polyglots.

Pure checks on the bytes (the standard library only, no Office parser), used by the
attachment checks in `plans.attachments`, which turn a finding into the message the person
reads. Every reader goes through the file block by block, so a 25 MB upload is never held in
memory twice, and zip members are unpacked with a ceiling (a zip bomb stops there).
"""

from __future__ import annotations

import re
import struct
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
PDF_HEAD = 1024  # PDF readers accept "%PDF-" anywhere in the first 1024 bytes

SCAN_BLOCK = 1024 * 1024  # a multiple of 128, so OLE directory entries never straddle two blocks
MEMBER_SCAN_LIMIT = 200 * 1024 * 1024  # unpacked bytes read from one zip member

OOXML_MACRO_PARTS = {"vbaproject.bin", "vbaprojectsignature.bin", "vbadata.xml"}
OOXML_MACRO_TYPE = re.compile(rb"macroEnabled|vbaProject|macrosheet", re.IGNORECASE)
ODF_MACRO_FOLDERS = ("basic/", "scripts/")
ODF_MANIFEST_SCRIPT = re.compile(rb"script:|basic-script|full-path=[\"'](?:basic|scripts)/", re.IGNORECASE)
# An event listener or link whose target runs a macro, including one shipped with the office suite.
ODF_MACRO_CALL = re.compile(rb"""["'](?:vnd\.sun\.star\.script:|macro:)""", re.IGNORECASE)

# Names of the OLE storages and streams that hold a VBA project: Word's "Macros", Excel's
# "_VBA_PROJECT_CUR", and inside both "VBA" with its "_VBA_PROJECT" stream (compared in upper case,
# as compound files compare names).
OLE_MACRO_NAMES = {"_VBA_PROJECT_CUR", "_VBA_PROJECT", "MACROS", "VBA"}
OLE_MACRO_NAME_BYTES = {(len(name) + 1) * 2 for name in OLE_MACRO_NAMES}  # UTF-16LE with the NUL
# PowerPoint 97-2003 keeps its VBA project compressed inside the document stream; the
# VBAInfoContainer record (MS-PPT 2.4.10) with its VBAInfoAtom header marks it.
PPT_VBA_INFO = b"\x1f\x00\xff\x03\x14\x00\x00\x00\x02\x00\x00\x04\x0c\x00\x00\x00"
XLS_BOUNDSHEET = b"\x85\x00"  # BIFF8 BoundSheet8: a sheet of type 1 is an Excel 4.0 macro sheet

ZIP_METHODS = {0, 8, 9, 12, 14, 93, 95, 98, 99}
TYPE_NAMES = {
    "pdf": "a PDF document", "zip": "a ZIP archive", "ole": "a legacy Office (OLE) file", "png": "a PNG image",
    "jpeg": "a JPEG image", "gif": "a GIF image", "webp": "a WebP image",
}
HEAD_TYPES = (
    ("pdf", PDF_MAGIC), ("zip", ZIP_MAGIC), ("ole", OLE_MAGIC), ("png", b"\x89PNG\r\n\x1a\n"),
    ("jpeg", b"\xff\xd8\xff"), ("gif", b"GIF87a"), ("gif", b"GIF89a"),
)


class TooLargeToCheck(Exception):
    """A zip member unpacks to more than MEMBER_SCAN_LIMIT bytes."""


def blocks(file, *, overlap: int = 0):
    """(offset, bytes) blocks of the whole file; each repeats the previous block's last `overlap` bytes."""
    file.seek(0)
    offset, tail = 0, b""
    while data := file.read(SCAN_BLOCK):
        yield offset - len(tail), tail + data
        offset += len(data)
        tail = (tail + data)[-overlap:] if overlap else b""
    file.seek(0)


def _member_matches(archive, names: set[str], member: str, pattern) -> bool:
    """Whether a zip member, unpacked block by block, matches `pattern` (False when there is no such member)."""
    if member not in names:
        return False
    read, tail = 0, b""
    with archive.open(member) as handle:
        while chunk := handle.read(SCAN_BLOCK):
            read += len(chunk)
            if read > MEMBER_SCAN_LIMIT:
                raise TooLargeToCheck(member)
            window = tail + chunk
            if pattern.search(window):
                return True
            tail = window[-256:]
    return False


def macros_in_zip(archive: zipfile.ZipFile, names: set[str], *, ooxml: bool) -> str:
    """What makes an OOXML (`ooxml`) or OpenDocument file carry macros; "" when nothing does.

    OOXML: a `vbaProject.bin` part (docm/xlsm/pptm, or one renamed .docx), Excel 4.0 macro
    sheets, or a macro-enabled content type. OpenDocument: `Basic/` or `Scripts/` entries,
    scripts in the manifest, or an event/link in content.xml or styles.xml that calls a macro.
    Raises TooLargeToCheck for a member that unpacks beyond the ceiling.
    """
    lowered = {name.lower() for name in names}
    if ooxml:
        if any(name.rsplit("/", 1)[-1] in OOXML_MACRO_PARTS for name in lowered):
            return "a VBA project"
        if any("macrosheets/" in name for name in lowered):
            return "Excel 4.0 macro sheets"
        if _member_matches(archive, names, "[Content_Types].xml", OOXML_MACRO_TYPE):
            return "a macro-enabled document type"
        return ""
    if any(name.startswith(ODF_MACRO_FOLDERS) for name in lowered):
        return "Basic macros or scripts"
    if _member_matches(archive, names, "META-INF/manifest.xml", ODF_MANIFEST_SCRIPT):
        return "scripts listed in its manifest"
    for member in ("content.xml", "styles.xml"):
        if _member_matches(archive, names, member, ODF_MACRO_CALL):
            return "an event or link that runs a macro"
    return ""


def macros_in_ole(file, *, xls: bool = False) -> str:
    """What makes a legacy .doc/.xls/.ppt carry macros; "" when nothing does.

    A VBA storage or stream is found by its directory entry: 128 bytes on a 128-byte boundary
    after the 512-byte header, starting with the UTF-16LE name, with the name's byte length at
    offset 64 and the entry type (1 storage, 2 stream) at 66. Text that merely mentions "VBA"
    is not such an entry. PowerPoint's VBA is found by its VBAInfo record; for an .xls (`xls`),
    Excel 4.0 macro sheets by their sheet record.
    """
    for start, block in blocks(file, overlap=64):
        first = max(512, -(-start // 128) * 128)  # the first 128-byte boundary in this block
        for at in range(first - start, len(block) - 67, 128):
            (name_bytes,) = struct.unpack_from("<H", block, at + 64)
            if name_bytes in OLE_MACRO_NAME_BYTES and block[at + 66] in (1, 2) and _ole_name(block, at, name_bytes):
                return "a VBA project"
        at = block.find(PPT_VBA_INFO)
        while at != -1:
            has_macros = block[at + 20:at + 24]  # fHasMacros of the VBAInfoAtom; 0 means an empty project
            if has_macros != b"\x00\x00\x00\x00":
                return "a VBA project"
            at = block.find(PPT_VBA_INFO, at + 1)
        if xls and _xls_macro_sheet(block):
            return "Excel 4.0 macro sheets"
    return ""


def _ole_name(block: bytes, at: int, name_bytes: int) -> bool:
    """Whether the directory entry at `at` names a VBA storage or stream."""
    raw = block[at:at + name_bytes]
    if raw[-2:] != b"\x00\x00":
        return False
    try:
        return raw[:-2].decode("utf-16-le").upper() in OLE_MACRO_NAMES
    except UnicodeDecodeError:
        return False


def _xls_macro_sheet(block: bytes) -> bool:
    """A BoundSheet8 record (type, size, position, state, sheet type 1, name) of a macro sheet."""
    at = block.find(XLS_BOUNDSHEET)
    while at != -1 and at + 12 <= len(block):
        (size,) = struct.unpack_from("<H", block, at + 2)
        state, sheet_type, chars, flags = block[at + 8], block[at + 9], block[at + 10], block[at + 11]
        if sheet_type == 1 and state <= 2 and flags in (0, 1) and chars and size == 8 + chars * (1 + flags):
            return True
        at = block.find(XLS_BOUNDSHEET, at + 1)
    return False


def is_zip(file) -> bool:
    """Whether a zip tool opens the file: an end-of-central-directory record and a readable directory."""
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            return bool(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        return False
    finally:
        file.seek(0)


def ends_with_zip(file) -> bool:
    """Whether a zip archive ends the file: its end-of-central-directory record is the file's last bytes."""
    file.seek(0, 2)
    size = file.tell()
    file.seek(max(size - 22 - 0xFFFF, 0))
    tail = file.read()
    file.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at == -1 or at + 22 > len(tail):
        return False
    (comment_length,) = struct.unpack_from("<H", tail, at + 20)
    return at + 22 + comment_length == len(tail) and is_zip(file)


def has_zip_entry(file) -> bool:
    """Whether a zip local file header (with a sane version, method and name) sits anywhere in the file."""
    for _start, block in blocks(file, overlap=1024):
        at = block.find(ZIP_MAGIC)
        while at != -1 and at + 30 <= len(block):
            (method,) = struct.unpack_from("<H", block, at + 8)
            name_length, extra_length = struct.unpack_from("<HH", block, at + 26)
            name = block[at + 30:at + 30 + name_length]
            if (block[at + 4] <= 63 and method in ZIP_METHODS and 0 < name_length <= 512 and extra_length <= 4096
                    and len(name) == name_length and all(b >= 32 and b != 127 for b in name)):
                return True
            at = block.find(ZIP_MAGIC, at + 1)
    return False


def content_types(file, head: bytes, *, family: str) -> set[str]:
    """The types (TYPE_NAMES keys) the content matches, for a file expected to be of `family`.

    From the head: the magic bytes, and a PDF header in the first 1024 bytes. From the whole
    file: a zip that zip tools open, and for PDFs and images zip entries anywhere inside.
    Legacy Office files may legitimately embed Office 2007+ documents (zip entries, even a
    whole zip, inside a stream), so for them only a zip appended at the very end counts.
    Text is not searched for zips (it has no NUL bytes, which every zip has).
    """
    found = {name for name, magic in HEAD_TYPES if head.startswith(magic)}
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found.add("webp")
    if PDF_MAGIC in head[:PDF_HEAD]:
        found.add("pdf")
    if family == "ole":
        if ends_with_zip(file):
            found.add("zip")
    elif family != "text" and (is_zip(file) or (family != "zip" and has_zip_entry(file))):
        found.add("zip")
    return found
