"""What kind of file this is, told by its first bytes rather than its name.

A zip archive is the XLSX family (XLSX, XLSM, XLSB, ODS: told apart by the workbook
part its relationships name, wherever it is, see `package`), an OLE2 container is XLS,
an Excel 2.x-4.0 file (BIFF2-4, no container) is refused naming its format, anything
else is CSV text. A file named like a
workbook whose content is not one is refused, saying what it holds instead when its
first bytes tell (a PDF, an image, text: most often a CSV file renamed).
"""

from __future__ import annotations

import codecs
import struct
import zipfile
import zlib
from pathlib import Path

from importer.errors import UnreadableFileError
from importer.loader.package import Package

WORKBOOK_FORMATS = frozenset({"xlsx", "xlsm", "xlsb", "xls", "ods"})
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
OTHER_MAGIC = (  # what a file named .xlsx holds when it is not a workbook (lower case)
    (b"%pdf", "a PDF document"),
    (b"\x89png", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"gif8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"<!doctype", "an HTML page"),
    (b"<html", "an HTML page"),
)
# BIFF2-4 BOF opcodes (OpenOffice.org's "Excel File Format" 5.8), and the document types.
OLD_EXCEL_BOF = {
    0x0009: "Excel 2.x (BIFF2)",
    0x0209: "Excel 3.0 (BIFF3)",
    0x0409: "Excel 4.0 (BIFF4)",
}
BIFF_DOCUMENT_TYPES = frozenset({0x0010, 0x0020, 0x0040, 0x0100})  # sheet, chart, macro, book
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Zip bombs: real workbook parts inflate about 10 times; a deflate bomb about 1,000 times.
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024  # parts smaller than this inflated may compress as they like
MAX_UNCOMPRESSED = 4 * 1024**3
# What zipfile raises on damaged or hostile archives (RuntimeError: an encrypted member).
ZIP_FAILURES = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    OSError,
    EOFError,
    ValueError,
)


def detect_format(path: Path) -> str:
    """The file's format from its first bytes: "csv", "xlsx", "xlsm", "xlsb", "xls" or "ods"."""
    head = read_head(path, 16)
    claimed = path.suffix.lower().lstrip(".")
    if head.startswith(ZIP_MAGIC):
        return _zip_format(path, claimed)
    if head.startswith(OLE_MAGIC):
        return "xls"
    old_excel = biff_version(head)
    if old_excel is not None:
        raise UnreadableFileError(
            f"{path}: an {old_excel} file, a format too old to read;"
            " open it in Excel or LibreOffice and save it as .xlsx"
        )
    if claimed in WORKBOOK_FORMATS:
        raise UnreadableFileError(
            f"{path}: not a readable {claimed.upper()} workbook ({_what_it_is(head)})"
        )
    return "csv"


def biff_version(head: bytes) -> str | None:
    """ "Excel 4.0 (BIFF4)" and the like when `head` is the BOF record of a BIFF2-4 file.

    Those files are a bare record stream (no OLE2 container, unlike BIFF5/8 XLS) that
    starts with a BOF record: opcode, length, then the BIFF version and the document type.
    """
    if len(head) < 8:
        return None
    opcode, length, _, kind = struct.unpack_from("<4H", head)
    name = OLD_EXCEL_BOF.get(opcode)
    if name is None or length not in (4, 6) or kind not in BIFF_DOCUMENT_TYPES:
        return None
    return name


def _what_it_is(head: bytes) -> str:
    """What a file named like a workbook holds instead, by its first bytes: a hint that
    fits it (a PDF is not "a CSV file renamed")."""
    for magic, kind in OTHER_MAGIC:
        if head.lower().startswith(magic):
            return f"the content is {kind}, not a spreadsheet"
    if head.startswith(TEXT_BOMS) or _is_text(head):
        return "the content is text: if it is a CSV file renamed, name it .csv"
    return "the content is not a spreadsheet"


def _is_text(head: bytes) -> bool:
    try:  # incremental: a character cut at the end of `head` is not an error
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False  # (a cp1252 CSV has ASCII first in practice: its header)
    return all(char.isprintable() or char in "\t\r\n" for char in text)


def read_head(path: Path, size: int = 8) -> bytes:
    """The first `size` bytes; a missing, unreadable or empty file is refused."""
    try:
        with path.open("rb") as stream:
            head = stream.read(size)
    except FileNotFoundError:
        raise UnreadableFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnreadableFileError(f"{path}: is a directory, not a file") from None
    except OSError as error:
        raise UnreadableFileError(f"{path}: cannot read the file ({error.strerror})") from None
    if not head:
        raise UnreadableFileError(f"{path}: the file is empty")
    return head


def _zip_format(path: Path, claimed: str) -> str:
    label = claimed.upper() if claimed in WORKBOOK_FORMATS else "XLSX"
    try:
        with zipfile.ZipFile(path) as archive:
            bomb = _inflation_problem(archive)
            if bomb is not None:
                raise UnreadableFileError(f"{path}: not a readable {label} workbook ({bomb})")
            package = Package(archive)
            mimetype = package.small_text("mimetype")
            workbook = package.workbook_part()
            types = package.small_text("[Content_Types].xml")
            held = archive.namelist()
    except ZIP_FAILURES:
        reason = "damaged or truncated zip archive"
        raise UnreadableFileError(f"{path}: not a readable {label} workbook ({reason})") from None
    if mimetype.startswith(ODS_MIMETYPE):
        return "ods"
    if workbook is not None and workbook.lower().endswith(".bin"):
        return "xlsb"
    if workbook is not None:
        return "xlsm" if "macroEnabled" in types else "xlsx"
    if claimed not in WORKBOOK_FORMATS:  # a compressed file, named as what it holds
        inside = ", ".join(repr(name) for name in held[:3]) + (", ..." if len(held) > 3 else "")
        raise UnreadableFileError(
            f"{path}: a zip archive, not a spreadsheet (it holds {inside or 'nothing'});"
            " unzip it and give the file inside"
        )
    reason = "a zip archive without a workbook in it"
    raise UnreadableFileError(f"{path}: not a readable {label} workbook ({reason})")


def _inflation_problem(archive: zipfile.ZipFile) -> str | None:
    """Why the archive looks like a zip bomb (from its declared sizes), or None."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            return f"part {info.filename!r} inflates {ratio:.0f} times: a zip bomb?"
    if total > MAX_UNCOMPRESSED:
        return f"its parts inflate to {total / 1024**3:.1f} GiB"
    return None
