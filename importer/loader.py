"""Loader: a partner's file -> raw rows of text cells, each with the row number they see.

The format is told by content, not by name: a zip archive is the XLSX family (XLSX,
XLSM, XLSB, ODS, told apart by the archive's members), an OLE2 container is XLS,
anything else is CSV text. Workbook cells come from python-calamine and are turned into
the text the partner sees (`cell_text`); CSV text is decoded (BOM, strict UTF-8, then
cp1252) and its delimiter sniffed.

Both kinds then go through one path (`_read_table`): the header is the first of the
first `HEADER_SEARCH_ROWS` non-blank rows that has a phone-number column (rows above it
are titles and notes); blank rows after it are skipped and counted. Rows are produced
by iterators, so the reading can later be chunked without changing its callers.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import re
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import python_calamine as calamine

from importer.config import InputSettings
from importer.errors import ConfigError, MappingError, UnreadableFileError
from importer.mapping import build_mapping, find_phone_column, missing_phone_error
from importer.models import LoadedFile, RawRow, SourceInfo

HEADER_SEARCH_ROWS = 20
CSV_DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
SNIFF_BYTES = 4096
SCAN_CHUNK = 1024 * 1024
EXACT_INTEGER_LIMIT = 2**53

WORKBOOK_FORMATS = frozenset({"xlsx", "xlsm", "xlsb", "xls", "ods"})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$')
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

Cell = str | int | float | bool | datetime.date | datetime.time | datetime.timedelta | None
Rows = Generator[tuple[int, list[str]], None, None]


class _HeaderNotFound(Exception):
    """No header in a sheet: the next sheet may have one, else `error` is raised."""

    def __init__(self, error: MappingError | UnreadableFileError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class _Table:
    header: tuple[str, ...]
    header_row: int
    rows: list[RawRow]
    blank_rows: int


def load_file(path: Path, options: InputSettings) -> LoadedFile:
    """Read `path` (CSV, XLSX, XLSM, XLSB, XLS or ODS) into its header and data rows."""
    file_format = detect_format(path)
    digest = _sha256(path)
    if file_format == "csv":
        return _load_csv(path, options, digest)
    return _load_workbook(path, file_format, options, digest)


def detect_format(path: Path) -> str:
    """The file's format from its first bytes: "csv", "xlsx", "xlsm", "xlsb", "xls" or "ods"."""
    head = _read_head(path)
    claimed = path.suffix.lower().lstrip(".")
    if head.startswith(_ZIP_MAGIC):
        return _zip_format(path, claimed)
    if head.startswith(_OLE_MAGIC):
        return "xls"
    if claimed in WORKBOOK_FORMATS:
        raise UnreadableFileError(
            f"{path}: not a readable {claimed.upper()} workbook "
            "(the content is not a spreadsheet; is it a CSV file renamed?)"
        )
    return "csv"


def cell_text(value: Cell) -> str:
    """The text of a workbook cell as the partner sees it (12059051025, not 12059051025.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < EXACT_INTEGER_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def is_ragged(row: RawRow, header: Sequence[str]) -> bool:
    """True when the row has a different number of cells than the header."""
    return len(row.cells) != len(header)


# -- file level ----------------------------------------------------------------------


def _read_head(path: Path, size: int = 8) -> bytes:
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


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _zip_format(path: Path, claimed: str) -> str:
    label = claimed.upper() if claimed in WORKBOOK_FORMATS else "XLSX"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype") if "mimetype" in names else b""
            types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, ValueError):
        reason = "damaged or truncated zip archive"
        raise UnreadableFileError(f"{path}: not a readable {label} workbook ({reason})") from None
    if mimetype.startswith(_ODS_MIMETYPE):
        return "ods"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "xl/workbook.xml" in names:
        return "xlsm" if b"macroEnabled" in types else "xlsx"
    reason = "a zip archive without a workbook in it"
    raise UnreadableFileError(f"{path}: not a readable {label} workbook ({reason})")


# -- workbooks -----------------------------------------------------------------------


def _load_workbook(path: Path, file_format: str, options: InputSettings, digest: str) -> LoadedFile:
    label = file_format.upper()
    try:
        with calamine.CalamineWorkbook.from_path(path) as workbook:
            sheet, table = _pick_sheet(workbook, path, options)
    except calamine.CalamineError as error:
        reason = _short(error)
        raise UnreadableFileError(f"{path}: not a readable {label} workbook ({reason})") from None
    source = SourceInfo(
        path=path,
        format=file_format,
        sha256=digest,
        header=table.header,
        header_row=table.header_row,
        sheet=sheet,
        blank_rows=table.blank_rows,
    )
    return LoadedFile(source=source, rows=table.rows)


def _pick_sheet(
    workbook: calamine.CalamineWorkbook, path: Path, options: InputSettings
) -> tuple[str, _Table]:
    """The requested sheet, else the first visible worksheet with a phone-number header."""
    if options.sheet is not None:
        names = [_requested_sheet(workbook, path, options.sheet)]
    else:
        names = _visible_sheets(workbook)
    first_missing: _HeaderNotFound | None = None
    for name in names:
        try:
            return name, _read_table(_sheet_rows(workbook, name), path, options.columns)
        except _HeaderNotFound as missing:
            first_missing = first_missing or missing
    if first_missing is None:
        raise UnreadableFileError(f"{path}: the workbook has no visible worksheet")
    raise first_missing.error


def _requested_sheet(workbook: calamine.CalamineWorkbook, path: Path, wanted: str) -> str:
    """A sheet by name, else by 1-based position when `wanted` is a number."""
    names: list[str] = list(workbook.sheet_names)
    if wanted in names:
        return wanted
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    found = ", ".join(f'"{name}"' for name in names)
    raise UnreadableFileError(f'{path}: no sheet "{wanted}"; sheets: {found}')


def _visible_sheets(workbook: calamine.CalamineWorkbook) -> list[str]:
    return [
        sheet.name
        for sheet in workbook.sheets_metadata
        if sheet.visible == calamine.SheetVisibleEnum.Visible
        and sheet.typ == calamine.SheetTypeEnum.WorkSheet
    ]


def _sheet_rows(workbook: calamine.CalamineWorkbook, name: str) -> Rows:
    """(sheet row number, cells from column A) for each row of the sheet.

    calamine's `iter_rows` starts at sheet row 1 but at the first used column, so the
    columns left of it are put back to keep column letters true.
    """
    sheet = workbook.get_sheet_by_name(name)
    if sheet.start is None:
        return
    padding = [""] * sheet.start[1]
    for number, values in enumerate(sheet.iter_rows(), start=1):
        yield number, padding + [cell_text(value) for value in values]


def _short(error: Exception) -> str:
    """calamine's reason, on one short line."""
    if isinstance(error, calamine.PasswordError):
        return "the workbook is password-protected"
    lines = str(error).strip().splitlines()
    return lines[0][:120] if lines else type(error).__name__


# -- CSV -----------------------------------------------------------------------------


def _load_csv(path: Path, options: InputSettings, digest: str) -> LoadedFile:
    encoding = _csv_encoding(path, options.encoding)
    sample = _read_text(path, encoding, SNIFF_CHARS)
    sep_line = _sep_line(sample)
    delimiter = options.delimiter or sep_line or sniff_delimiter(sample)
    rows = _csv_rows(path, encoding, delimiter, skip_sep_line=sep_line is not None)
    try:
        with closing(rows):
            table = _read_table(rows, path, options.columns)
    except _HeaderNotFound as missing:
        raise missing.error from None
    source = SourceInfo(
        path=path,
        format="csv",
        sha256=digest,
        header=table.header,
        header_row=table.header_row,
        encoding=encoding,
        delimiter=delimiter,
        blank_rows=table.blank_rows,
    )
    return LoadedFile(source=source, rows=table.rows)


def _csv_encoding(path: Path, explicit: str | None) -> str:
    """The given encoding (checked), else the BOM's, else UTF-8 if it decodes, else cp1252."""
    if explicit is not None:
        try:
            codecs.lookup(explicit)
        except LookupError:
            raise ConfigError(f"unknown encoding {explicit!r}") from None
        _require_decodable(path, explicit)
        return explicit
    head = _read_head(path, SNIFF_BYTES)
    for bom, name in _BOMS:
        if head.startswith(bom):
            _require_decodable(path, name)
            return name
    if b"\x00" in head:
        guessed = _utf16_without_bom(path, head)
        _require_decodable(path, guessed)
        return guessed
    if _first_bad_byte(path, "utf-8") is None:
        return "utf-8"
    _require_decodable(path, "cp1252")
    return "cp1252"


def _utf16_without_bom(path: Path, head: bytes) -> str:
    """Many NULs on one side of each byte pair mean UTF-16 without a BOM; else binary."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    plenty = len(head) // 8  # a quarter of one side: Latin text in UTF-16 has about half
    if odd > max(4 * even, plenty):
        return "utf-16-le"
    if even > max(4 * odd, plenty):
        return "utf-16-be"
    raise UnreadableFileError(f"{path}: not a text or spreadsheet file (it has binary content)")


def _require_decodable(path: Path, encoding: str) -> None:
    offset = _first_bad_byte(path, encoding)
    if offset is not None:
        raise UnreadableFileError(
            f"{path}: cannot decode the file as {encoding} (bad byte at offset {offset}); "
            "give the right encoding with --encoding"
        )


def _first_bad_byte(path: Path, encoding: str) -> int | None:
    """Offset of the first byte that does not decode, or None if the whole file does."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    with path.open("rb") as stream:
        while chunk := stream.read(SCAN_CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return consumed - pending + error.start
            consumed += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return consumed - len(decoder.getstate()[0]) + error.start
    return None


def _read_text(path: Path, encoding: str, size: int) -> str:
    with path.open(encoding=encoding, newline="") as stream:
        return stream.read(size)


def _sep_line(sample: str) -> str | None:
    """The delimiter named by Excel's `sep=;` first line, if the file has one."""
    first_line = sample.split("\n", 1)[0].rstrip("\r").lstrip("\ufeff")
    match = _SEP_LINE.match(first_line)
    return match.group(1) if match else None


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample among , ; tab |: sniffed, else the most frequent."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter in CSV_DELIMITERS and delimiter:
        return delimiter
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {candidate: first_line.count(candidate) for candidate in CSV_DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def _csv_rows(path: Path, encoding: str, delimiter: str, *, skip_sep_line: bool) -> Rows:
    """(record number, cells) per CSV record; Excel hides a `sep=` line, so do we."""
    with path.open(encoding=encoding, newline="") as stream:
        if skip_sep_line:
            stream.readline()
        reader = csv.reader(stream, delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error as error:
            raise UnreadableFileError(
                f"{path}: not a readable CSV file (record {number + 1}: {error})"
            ) from None


# -- both: find the header, keep the data rows -----------------------------------------


def _read_table(rows: Rows, path: Path, overrides: Mapping[str, str]) -> _Table:
    header_row, header = _find_header(rows, path, overrides)
    build_mapping(header, overrides, source=str(path))  # refuse duplicates and bad overrides now
    data, blank_rows = _data_rows(rows, len(header))
    return _Table(header=header, header_row=header_row, rows=data, blank_rows=blank_rows)


def _find_header(
    rows: Rows, path: Path, overrides: Mapping[str, str]
) -> tuple[int, tuple[str, ...]]:
    """The first row, of the first `HEADER_SEARCH_ROWS` non-blank ones, naming a phone column."""
    first: tuple[str, ...] | None = None
    for seen, (number, cells) in enumerate(_non_blank(rows)):
        header = _header_cells(cells)
        if find_phone_column(header, overrides) is not None:
            return number, header
        first = first or header
        if seen + 1 >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise _HeaderNotFound(UnreadableFileError(f"{path}: no data (every row is blank)"))
    raise _HeaderNotFound(missing_phone_error(first, overrides, source=str(path)))


def _non_blank(rows: Rows) -> Iterator[tuple[int, list[str]]]:
    return ((number, cells) for number, cells in rows if not _is_blank(cells))


def _header_cells(cells: Sequence[str]) -> tuple[str, ...]:
    """Header text stripped (and of a stray BOM), trailing empty columns dropped."""
    header = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    return tuple(header)


def _data_rows(rows: Iterable[tuple[int, list[str]]], width: int) -> tuple[list[RawRow], int]:
    """The non-blank rows after the header, and how many blank ones were skipped."""
    data: list[RawRow] = []
    blank = 0
    for number, cells in rows:
        if _is_blank(cells):
            blank += 1
        else:
            data.append(RawRow(number, _fit(cells, width)))
    return data, blank


def _fit(cells: list[str], width: int) -> tuple[str, ...]:
    """Drop the empty cells past the header's width (a ragged row keeps its content)."""
    end = len(cells)
    while end > width and not cells[end - 1].strip():
        end -= 1
    return tuple(cells[:end])


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)
