"""Tests for importer.loader, driven by the awkward files in tests/fixtures/loader/.

The fixtures are written by tests/fixtures/make_loader_fixtures.py with real writers.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine as calamine

from importer import loader
from importer.config import InputSettings
from importer.errors import ConfigError, MappingError, UnreadableFileError
from importer.loader import (
    HEADER_SEARCH_ROWS,
    cell_text,
    detect_format,
    is_ragged,
    load_file,
    sniff_delimiter,
)
from importer.loader.workbook import MESSAGE_SHEETS, unreadable
from importer.models import RawRow, SourceInfo

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
NUMBERS_HEADER = ("Phone Number", "Capabilities", "Name")
NUMBERS_ROWS = [(2, ("+12059051025", "3", "Alpha")), (3, ("+12059051026", "27", "Beta"))]


@dataclass(frozen=True)
class Read:
    """A loaded file with its rows read to the end (so `source` is complete)."""

    source: SourceInfo
    rows: list[RawRow]


def read(path: Path, options: InputSettings | None = None) -> Read:
    """Load a file and read all its rows."""
    loaded = load_file(path, options or InputSettings())
    rows = list(loaded.rows)
    assert loaded.complete
    return Read(loaded.source, rows)


def load(name: str, **options: Any) -> Read:
    """Load a fixture file with the given input settings and read all its rows."""
    return read(FIXTURES / name, InputSettings(**options))


def rows_of(loaded: Read) -> list[tuple[int, tuple[str, ...]]]:
    """The loaded rows as (sheet row number, cells) pairs."""
    return [(row.number, row.cells) for row in loaded.rows]


# -- CSV ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("utf8_bom.csv", "utf-8-sig", ","),
        ("utf16_tab.csv", "utf-16", "\t"),
        ("utf16le_no_bom.csv", "utf-16-le", ","),
        ("utf16be_no_bom.csv", "utf-16-be", ","),
        ("tabs.tsv", "utf-8", "\t"),
        ("pipes.txt", "utf-8", "|"),
    ],
)
def test_csv_encodings_and_delimiters(name: str, encoding: str, delimiter: str) -> None:
    """BOMs choose the encoding and the delimiter is sniffed, whatever the file is called."""
    loaded = load(name)
    assert (loaded.source.encoding, loaded.source.delimiter) == (encoding, delimiter)
    assert loaded.source.format == "csv"
    assert loaded.source.header == NUMBERS_HEADER
    assert rows_of(loaded) == NUMBERS_ROWS


def test_cp1252_fallback() -> None:
    """A file that is not valid UTF-8 is read as cp1252 (Excel's Windows default)."""
    loaded = load("cp1252.csv")
    assert loaded.source.encoding == "cp1252"
    assert rows_of(loaded) == [(2, ("+12059051025", "3", "Café Montréal\u2019s line"))]


def test_explicit_encoding_is_used() -> None:
    """InputSettings.encoding overrides detection."""
    loaded = load("cp1252.csv", encoding="latin-1")
    assert loaded.source.encoding == "latin-1"
    assert loaded.rows[0].cells[2] == "Café Montréal\x92s line"


def test_explicit_encoding_keeps_header_clean_of_bom() -> None:
    """A BOM read under an explicit utf-8 does not stick to the first header."""
    loaded = load("utf8_bom.csv", encoding="utf-8")
    assert loaded.source.header == NUMBERS_HEADER


def test_explicit_encoding_undecodable() -> None:
    """Bytes the given encoding cannot decode stop the load, naming the byte offset."""
    path = FIXTURES / "cp1252.csv"
    offset = path.read_bytes().index(b"\xe9")
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings(encoding="utf-8"))
    assert str(caught.value) == (
        f"{path}: cannot decode the file as utf-8 (bad byte at offset {offset}); "
        "give the right encoding with --encoding"
    )


def test_undecodable_in_every_code_page(tmp_path: Path) -> None:
    """A stray byte no candidate code page reads plausibly is refused rather than guessed,
    with the readings of the code pages that decode it at all."""
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Phone\r\n+1205\x81\r\n")
    with pytest.raises(
        UnreadableFileError,
        match=r"not UTF-8 \(byte 0x81 at offset 12\) and its encoding is unclear \(cp1251",
    ):
        load_file(path, InputSettings())


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 1024])
def test_bad_byte_offset_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The offset is exact even when a character is split between read chunks."""
    monkeypatch.setattr(loader.text, "SCAN_CHUNK", chunk)
    path = tmp_path / "split.csv"
    data = "Phone\nCafé ü €".encode() + b"\xff\n"
    path.write_bytes(data)
    offset = data.index(b"\xff")
    with pytest.raises(UnreadableFileError, match=rf"offset {offset}\)"):
        load_file(path, InputSettings(encoding="utf-8"))


def test_truncated_utf8_at_end(tmp_path: Path) -> None:
    """A multi-byte character cut off at the end of the file is reported where it starts."""
    path = tmp_path / "cut.csv"
    path.write_bytes(b"Phone\n+1205\xe2\x82")
    with pytest.raises(UnreadableFileError, match=r"offset 11\)"):
        load_file(path, InputSettings(encoding="utf-8"))


def test_unknown_encoding() -> None:
    """An encoding name Python does not know is a configuration error."""
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        load("utf8_bom.csv", encoding="klingon")


def test_sep_line_after_bom_under_explicit_utf8(tmp_path: Path) -> None:
    """A `sep=` line is recognised even behind a BOM the explicit encoding keeps."""
    path = tmp_path / "bom_sep.csv"
    path.write_bytes(b"\xef\xbb\xbfsep=;\r\nPhone;Caps\r\n+12059051025;3\r\n")
    loaded = load_file(path, InputSettings(encoding="utf-8"))
    assert (loaded.source.delimiter, loaded.source.header) == (";", ("Phone", "Caps"))
    assert rows_of(loaded) == [(2, ("+12059051025", "3"))]


def test_sep_line_sets_delimiter_and_is_hidden() -> None:
    """Excel's `sep=;` first line picks the delimiter and is not counted as a row."""
    loaded = load("semicolon_sep_line.csv")
    assert loaded.source.delimiter == ";"
    assert loaded.source.header_row == 1
    assert rows_of(loaded) == [
        (2, ("+12059051025", "3", "Smith, John")),
        (3, ("+12059051026", "27", "Doe")),
    ]


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    """InputSettings.delimiter is used as given, even when another would parse better."""
    path = tmp_path / "semi.csv"
    path.write_text("Phone;Caps\n+12059051025;3\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r'headers found: "Phone;Caps"$'):
        load_file(path, InputSettings(delimiter=","))
    assert load_file(path, InputSettings(delimiter=";")).source.delimiter == ";"


def test_embedded_newline_keeps_record_numbers() -> None:
    """A quoted field with a newline stays one cell, and rows count records as Excel does."""
    loaded = load("embedded_newline.csv")
    assert rows_of(loaded) == [
        (2, ("12059051025", "3", "first line\nsecond line")),
        (3, ("12059051026", "3", "x")),
    ]


def test_title_rows_above_header() -> None:
    """Title and note rows above the header are skipped; row numbers stay the sheet's."""
    loaded = load("title_rows.csv")
    assert loaded.source.header_row == 4
    assert loaded.source.header == NUMBERS_HEADER
    assert rows_of(loaded) == [(5, NUMBERS_ROWS[0][1]), (6, NUMBERS_ROWS[1][1])]


def test_blank_rows_skipped_and_counted() -> None:
    """Empty, comma-only and whitespace-only rows are skipped and counted."""
    loaded = load("blank_rows.csv")
    assert loaded.source.blank_rows == 3
    assert rows_of(loaded) == [(2, ("+12059051025", "3")), (5, ("+12059051026", "3"))]


def test_ragged_rows_are_kept() -> None:
    """Short and long rows keep their cells; trailing empty header columns are trimmed."""
    loaded = load("ragged.csv")
    assert loaded.source.header == ("Phone", "Caps")
    assert rows_of(loaded) == [
        (2, ("+12059051025", "3")),
        (3, ("+12059051026", "3", "extra")),
        (4, ("+12059051027",)),
        (5, ("+12059051028", "3")),
    ]
    ragged = [is_ragged(row, loaded.source.header) for row in loaded.rows]
    assert ragged == [False, True, True, False]


@pytest.mark.parametrize(
    ("title_rows", "found"), [(HEADER_SEARCH_ROWS - 1, True), (HEADER_SEARCH_ROWS, False)]
)
def test_header_search_limit(tmp_path: Path, title_rows: int, found: bool) -> None:
    """The header is looked for only among the first 20 non-blank rows."""
    path = tmp_path / "long_title.csv"
    titles = "".join(f"note {n}\n\n" for n in range(title_rows))
    path.write_text(titles + "Phone\n+12059051025\n", encoding="utf-8")
    if found:
        assert load_file(path, InputSettings()).source.header_row == 2 * title_rows + 1
    else:
        with pytest.raises(MappingError, match=r'headers found: "note 0"$'):
            load_file(path, InputSettings())


def test_column_override_finds_header(tmp_path: Path) -> None:
    """A phone-number column override makes an unfamiliar header recognisable."""
    path = tmp_path / "custom.csv"
    path.write_text("Export\nRef,Cell Tel\nA1,+12059051025\n", encoding="utf-8")
    loaded = load_file(path, InputSettings(columns={"phonenumber": "Cell Tel"}))
    assert (loaded.source.header_row, rows_of(loaded)) == (2, [(3, ("A1", "+12059051025"))])


def test_column_override_missing(tmp_path: Path) -> None:
    """An override naming a header absent from the file stops the load."""
    path = FIXTURES / "header_only.csv"
    with pytest.raises(MappingError) as caught:
        load_file(path, InputSettings(columns={"phonenumber": "Tel"}))
    assert str(caught.value) == (
        f'{path}: column "Tel" given for phonenumber is not in row 1; '
        'headers found: "Phone Number", "Capabilities"'
    )


@pytest.mark.parametrize("columns", [{}, {"phonenumber": "Mobile #"}])
def test_missing_phone_column_quotes_the_header_not_the_title(
    tmp_path: Path, columns: dict[str, str]
) -> None:
    """Without a phone column, the message quotes the row most like a header, not a title."""
    path = tmp_path / "titled.csv"
    path.write_text("Acme numbers\n\nTel,Caps,Notes\n+12059051025,3,x\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r'headers found: "Tel", "Caps", "Notes"$'):
        load_file(path, InputSettings(columns=columns))


def test_csv_parse_error(tmp_path: Path) -> None:
    """A csv module error becomes an UnreadableFileError naming the record."""
    path = tmp_path / "huge.csv"
    path.write_text('Phone\n"' + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(
        UnreadableFileError, match=r"huge.csv: not a readable CSV file \(record 2: "
    ):
        load_file(path, InputSettings())


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("Phone;Name\n+1205;Smith, John\n+1206;Doe, Jane\n", ";"),
        ("Phone;Rate\n1;1,5\n2;2,5\n", ";"),
        ('Phone,Name\n1,"a;b"\n2,"c;d"\n', ","),
        ("Phone\tName\n1\tx, y\n", "\t"),
        ("Phone|Name\n1|a\n", "|"),
        ("Phone\n+12059051025\n", ","),
        ("Phone;Name", ";"),
    ],
)
def test_sniff_delimiter(sample: str, delimiter: str) -> None:
    """The delimiter is sniffed among , ; tab |, defaulting to comma."""
    assert sniff_delimiter(sample) == delimiter


# -- workbooks ---------------------------------------------------------------------


def test_openpyxl_numeric_cells() -> None:
    """Numeric, boolean and date cells come out as the text the partner sees."""
    loaded = load("numeric_openpyxl.xlsx")
    assert loaded.source.sheet == "Numbers"
    assert loaded.source.header == ("", "Phone", "Caps", "Active", "Since", "Rate")
    assert (loaded.source.header_row, loaded.source.blank_rows) == (2, 1)
    assert rows_of(loaded) == [
        (3, ("", "12059051025", "3", "TRUE", "2024-01-02", "0.5")),
        (4, ("", "1.2059051025E+16", "3", "FALSE", "2024-01-02T03:04:05", "")),
        (6, ("", "+12059051027", "27", "", "", "")),
    ]


def test_xlsxwriter_numeric_cells() -> None:
    """Numbers written by xlsxwriter keep their digits; a fraction in E notation, to be flagged."""
    loaded = load("numeric_xlsxwriter.xlsx")
    assert (loaded.source.sheet, loaded.source.header_row) == ("DIDs", 1)
    assert rows_of(loaded) == [
        (2, ("12059051025", "3", "")),
        (3, ("1.20590510265E+10", "27", "")),
        (4, ("12059051027", "", "")),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12059051025.0, "12059051025"),
        (-5.0, "-5"),
        (12059051025, "12059051025"),
        (0.5, "0.5"),
        (12059051026.5, "12059051026.5"),
        (1.2059051025e16, "1.2059051025e+16"),
        (float(2**53), "9007199254740992.0"),
        (float("nan"), "nan"),
        (True, "TRUE"),
        (False, "FALSE"),
        (None, ""),
        ("+12059051025", "+12059051025"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (datetime.time(3, 4), "03:04:00"),
        (datetime.timedelta(hours=2), "2:00:00"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    """Workbook values become exact text: integral floats below 2**53 lose their .0."""
    assert cell_text(value) == text


def test_hidden_and_headerless_sheets_are_passed_over() -> None:
    """By default the first visible sheet with a phone-number header is read."""
    loaded = load("hidden_first_sheet.xlsx")
    assert loaded.source.sheet == "Data"
    assert rows_of(loaded) == [(2, ("+12059051025", "3"))]


@pytest.mark.parametrize(
    ("sheet", "chosen"), [("Lookup", "Lookup"), ("3", "Data"), ("1", "Lookup")]
)
def test_sheet_by_name_or_position(sheet: str, chosen: str) -> None:
    """InputSettings.sheet picks a sheet by name, or by 1-based position, even a hidden one."""
    assert load("hidden_first_sheet.xlsx", sheet=sheet).source.sheet == chosen


def test_requested_sheet_without_header() -> None:
    """A requested sheet without a phone-number column is refused, not skipped."""
    path = FIXTURES / "hidden_first_sheet.xlsx"
    with pytest.raises(MappingError) as caught:
        load_file(path, InputSettings(sheet="Notes"))
    assert str(caught.value) == (
        f'{path}: no phone-number column in row 1; headers found: "Read me first"'
    )


def test_requested_sheet_missing() -> None:
    """Naming a sheet the workbook lacks lists the sheets it has."""
    path = FIXTURES / "hidden_first_sheet.xlsx"
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings(sheet="Nope"))
    assert str(caught.value) == f'{path}: no sheet "Nope"; sheets: "Lookup", "Notes", "Data"'


@pytest.mark.parametrize(
    ("name", "file_format", "sheet", "cells"),
    [
        ("macro.xlsm", "xlsm", "Macro", ("+12059051025", "3")),
        ("numbers.ods", "ods", "Numbers", ("12059051025", "3")),
    ],
)
def test_other_workbook_formats(
    name: str, file_format: str, sheet: str, cells: tuple[str, ...]
) -> None:
    """XLSM and ODS workbooks load like XLSX, numeric cells included."""
    loaded = load(name)
    assert (loaded.source.format, loaded.source.sheet) == (file_format, sheet)
    assert rows_of(loaded) == [(2, cells)]


def test_empty_first_sheet_is_passed_over() -> None:
    """An empty first sheet is skipped in favour of the next one with a header."""
    loaded = load("empty_first_sheet.xlsx")
    assert (loaded.source.sheet, rows_of(loaded)) == ("Data", [(2, ("+12059051025", "3"))])


def test_data_on_a_later_sheet_is_found() -> None:
    """Past a title-only sheet and an empty one, the third sheet's table is read."""
    loaded = load("data_on_third_sheet.xlsx")
    assert (loaded.source.sheet, [number for number, _ in rows_of(loaded)]) == ("Numbers", [2, 3])


@pytest.mark.parametrize(
    ("titles", "error", "tail"),
    [
        ([], UnreadableFileError, '"S1" (every row is blank), "S2" (every row is blank)'),
        (
            ["Notes"],
            MappingError,
            '"S1" (no phone-number column in row 1; headers found: "Notes"), "S2"',
        ),
    ],
)
def test_no_sheet_with_a_phone_column_gives_each_sheets_reason(
    titles: list[str], error: type[Exception], tail: str, tmp_path: Path
) -> None:
    """Each visible sheet's reason on one line; a mapping error when any sheet had a header."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "S1"
    workbook.active.append(titles)
    workbook.create_sheet("S2")
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    with pytest.raises(error) as caught:
        load_file(path, InputSettings())
    assert str(caught.value).startswith(f"{path}: no sheet has a phone-number column: ")
    assert tail in str(caught.value)


def test_many_sheets_without_a_phone_column_are_named_up_to_a_limit(tmp_path: Path) -> None:
    """The one-line message names the first sheets and counts the others."""
    workbook = openpyxl.Workbook()
    for number in range(2, MESSAGE_SHEETS + 3):
        workbook.create_sheet(f"S{number}")
    path = tmp_path / "many.xlsx"
    workbook.save(path)
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings())
    message = str(caught.value)
    assert message.count("(every row is blank)") == MESSAGE_SHEETS
    assert message.endswith(", ... (2 more)")
    assert "\n" not in message


def test_workbook_without_visible_worksheet() -> None:
    """A workbook showing only a chart sheet (its data sheet hidden) has nothing to read."""
    path = FIXTURES / "chart_only.xlsx"
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == f"{path}: the workbook has no visible worksheet"


# -- format detection and file facts -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "file_format"),
    [
        ("utf8_bom.csv", "csv"),
        ("tabs.tsv", "csv"),
        ("numeric_openpyxl.xlsx", "xlsx"),
        ("macro.xlsm", "xlsm"),
        ("numbers.ods", "ods"),
        ("not_really.xls", "xls"),
        ("libreoffice.xls", "xls"),
        ("libreoffice.ods", "ods"),
        ("fake.xlsb", "xlsb"),
        ("workbook_named.csv", "xlsx"),
    ],
)
def test_detect_format(name: str, file_format: str) -> None:
    """The format is told by the file's content."""
    assert detect_format(FIXTURES / name) == file_format


def test_workbook_with_csv_extension(tmp_path: Path) -> None:
    """A workbook named .csv is still read as a workbook."""
    path = tmp_path / "really_xlsx.csv"
    shutil.copy(FIXTURES / "numeric_xlsxwriter.xlsx", path)
    assert load_file(path, InputSettings()).source.format == "xlsx"


@pytest.mark.parametrize("name", ["utf16_tab.csv", "numeric_openpyxl.xlsx"])
def test_sha256_of_file_bytes(name: str) -> None:
    """SourceInfo carries the sha256 of the file's bytes and the path given."""
    loaded = load(name)
    assert loaded.source.sha256 == hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest()
    assert loaded.source.path == FIXTURES / name


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("missing.csv", UnreadableFileError, "{path}: no such file"),
        ("empty.csv", UnreadableFileError, "{path}: the file is empty"),
        ("only_blank_lines.csv", UnreadableFileError, "{path}: no data (every row is blank)"),
        ("empty_workbook.xlsx", UnreadableFileError, "{path}: no data (every row is blank)"),
        (
            "binary_junk.csv",
            UnreadableFileError,
            "{path}: not a text or spreadsheet file (it has binary content)",
        ),
        (
            "no_phone_column.csv",
            MappingError,
            '{path}: no phone-number column in row 1; headers found: "Name", "Caps"',
        ),
        (
            "no_phone_column.xlsx",
            MappingError,
            '{path}: no phone-number column in row 1; headers found: "Name", "Caps"',
        ),
        (
            "duplicate_headers.csv",
            MappingError,
            '{path}: duplicate column "Phone" in columns A and C',
        ),
        (
            "duplicate_headers.xlsx",
            MappingError,
            '{path}: duplicate column "Phone" in columns B and E',
        ),
        (
            "truncated.xlsx",
            UnreadableFileError,
            "{path}: not a readable XLSX workbook (damaged or truncated zip archive)",
        ),
        (
            "csv_named.xlsx",
            UnreadableFileError,
            "{path}: not a readable XLSX workbook "
            "(the content is text: if it is a CSV file renamed, name it .csv)",
        ),
        (
            "zip_not_workbook.xlsx",
            UnreadableFileError,
            "{path}: not a readable XLSX workbook (a zip archive without a workbook in it)",
        ),
    ],
)
def test_refused_files(name: str, error: type[Exception], message: str) -> None:
    """Unusable files stop the load with a one-line message naming the file."""
    path = FIXTURES / name
    with pytest.raises(error) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == message.format(path=path)


def test_damaged_xls_reports_calamine_reason() -> None:
    """A calamine failure becomes UnreadableFileError with its short reason."""
    path = FIXTURES / "not_really.xls"
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings())
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable XLS workbook (")
    assert "\n" not in message


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory given as the input file is refused."""
    with pytest.raises(UnreadableFileError, match=r"is a directory, not a file$"):
        load_file(tmp_path, InputSettings())


def test_is_ragged() -> None:
    """is_ragged compares a row's cell count with the header's."""
    assert not is_ragged(RawRow(2, ("a", "b")), ("x", "y"))
    assert is_ragged(RawRow(2, ("a",)), ("x", "y"))


@pytest.mark.parametrize(
    ("head", "said"),
    [
        (b"%PDF-1.4\n", "the content is a PDF document, not a spreadsheet"),
        (b"\x89PNG\r\n\x1a\n", "the content is a PNG image, not a spreadsheet"),
        (b"<!DOCTYPE html><table>", "the content is an HTML page, not a spreadsheet"),
        (b"Phone;Caps\n", "the content is text: if it is a CSV file renamed, name it .csv"),
        (b"Num\xc3\xa9ro,Caps\n", "the content is text: if it is a CSV file renamed, name it .csv"),
        (b"\x00\x01\x02\x03binary", "the content is not a spreadsheet"),
    ],
    ids=["pdf", "png", "html", "text", "utf8-text", "binary"],
)
def test_a_file_named_xlsx_says_what_it_holds(tmp_path: Path, head: bytes, said: str) -> None:
    """A non-workbook named .xlsx is refused with a hint that fits its first bytes: a PDF
    is not "a CSV file renamed"."""
    path = tmp_path / "numbers.xlsx"
    path.write_bytes(head + b"\n" * 8)
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == f"{path}: not a readable XLSX workbook ({said})"


def test_a_zip_named_csv_is_said_to_be_a_zip(tmp_path: Path) -> None:
    """A compressed CSV named `.csv` is a zip archive holding a file, not an XLSX."""
    path = tmp_path / "implicit.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("table.csv", "phone\n+12025550123\n")
    with pytest.raises(UnreadableFileError) as refused:
        load_file(path, InputSettings())
    assert str(refused.value) == (
        f"{path}: a zip archive, not a spreadsheet (it holds 'table.csv');"
        " unzip it and give the file inside"
    )


def test_a_stray_nul_in_text_is_named_with_its_offset(tmp_path: Path) -> None:
    """One NUL in an otherwise text CSV: refused, saying where, not as binary content."""
    path = tmp_path / "null_byte.csv"
    path.write_bytes(b"a,b\n1,\x002\n")
    with pytest.raises(UnreadableFileError) as refused:
        load_file(path, InputSettings())
    assert "(a NUL byte at offset 6, which no CSV holds; remove it" in str(refused.value)


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
 xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="Sheet1"><table:table-row>{gap}\
<table:table-cell office:value-type="{kind}"><text:p>abcd</text:p></table:table-cell>{gap}\
</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>
"""


def _ods(path: Path, kind: str, gap: str = "") -> Path:
    """A minimal ODS package with one cell of value type `kind` (`gap`: text between the
    row's elements, as an indenting writer leaves)."""
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry'
        ' manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
        'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml"'
        ' manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", ODS_CONTENT.format(kind=kind, gap=gap))
    return path


def test_an_ods_cell_of_unknown_type_is_not_called_blank(tmp_path: Path) -> None:
    """calamine skips `office:value-type="unknown"` cells: the refusal says so instead of
    calling the sheet blank (tablib's unknown_value_type.ods in the corpus check)."""
    with pytest.raises(UnreadableFileError) as refused:
        load_file(_ods(tmp_path / "unknown.ods", "unknown"), InputSettings())
    assert 'cells of value type "unknown", which the reader skips' in str(refused.value)
    with pytest.raises(MappingError):  # the same cell as a string: read, no phone column
        load_file(_ods(tmp_path / "string.ods", "string"), InputSettings())


def test_an_ods_indented_between_its_cells_is_refused_saying_so(tmp_path: Path) -> None:
    """calamine refuses text between a row's cells (odfpy's KSpread example): the refusal
    says what it found and the fix, not the parser's words."""
    with pytest.raises(UnreadableFileError) as refused:
        load_file(_ods(tmp_path / "indented.ods", "string", gap="\n  "), InputSettings())
    assert str(refused.value).endswith(
        "not a readable ODS workbook (text between the cells of a row, as an indenting"
        " writer leaves: save the file again from LibreOffice or Excel)"
    )


@pytest.mark.parametrize(
    ("file_format", "menu"),
    [("xlsx", "File > Info > Protect Workbook in Excel"), ("ods", "in LibreOffice")],
)
def test_a_password_refusal_points_to_the_menu_of_its_format(file_format: str, menu: str) -> None:
    """An ODS file's password refusal points to LibreOffice's menu, not Excel's."""
    error = unreadable(Path("p." + file_format), file_format, calamine.PasswordError("x"))
    assert "password-protected workbook" in str(error)
    assert menu in str(error)
