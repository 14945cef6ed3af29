"""Every awkward file in tests/fixtures/loader/ and what must come of it.

One table pins each fixture's outcome end to end: the rows read with their status and
issue codes (through `streaming.stream_file`, as every command reads them), or the
exact one-line error `did-import validate` prints with exit code 2. A fixture without
an entry here fails the suite. The files are written by tests/fixtures/make_loader_fixtures.py and
make_workbook_fixtures.py.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from importer.cli import app
from importer.config import Settings
from importer.validate.streaming import stream_file

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
OK = "would_register"
BAD = "invalid"
LOST = "phonenumber.excel_precision_lost"
CELL_ERROR = "cell.error"

Row = tuple[int, str, tuple[str, ...]]


@dataclass(frozen=True)
class Rows:
    """The file loads; each data row ends with this (row number, status, issue codes)."""

    rows: list[Row]
    blank_rows: int = 0


@dataclass(frozen=True)
class Refused:
    """The file is refused: exit 2 and this one-line message ({path} is the file)."""

    message: str


def ok(*numbers: int) -> list[Row]:
    """Rows that validate clean."""
    return [(number, OK, ()) for number in numbers]


OUTCOMES: dict[str, Rows | Refused] = {
    # CSV text: encodings, delimiters, layout
    "utf8_bom.csv": Rows(ok(2, 3)),
    "utf16_tab.csv": Rows(ok(2, 3)),
    "utf16le_no_bom.csv": Rows(ok(2, 3)),
    "utf16be_no_bom.csv": Rows(ok(2, 3)),
    "cp1252.csv": Rows(ok(2)),
    "tabs.tsv": Rows(ok(2, 3)),
    "pipes.txt": Rows(ok(2, 3)),
    "semicolon_sep_line.csv": Rows(ok(2, 3)),
    "embedded_newline.csv": Rows(ok(2, 3)),
    "title_rows.csv": Rows(ok(5, 6)),
    "blank_rows.csv": Rows(ok(2, 5), blank_rows=3),
    "ragged.csv": Rows(
        [
            (2, OK, ()),
            (3, OK, ("row.ragged",)),
            (4, BAD, ("row.ragged", "capabilities.missing")),
            (5, OK, ()),
        ]
    ),
    "unmapped_duplicates.csv": Rows(ok(2)),
    # Excel damage and the characters phone numbers pick up
    "excel_damage.csv": Rows(
        [
            (2, OK, ()),
            (3, BAD, (LOST,)),  # 1.20591E+10
            (4, BAD, (LOST,)),  # 12059051026.0
            (5, BAD, ("phonenumber.not_possible",)),  # 16 digits
        ]
    ),
    "excel_numeric_cells.xlsx": Rows([(2, OK, ()), *((n, BAD, (LOST,)) for n in range(3, 7))]),
    "numeric_openpyxl.xlsx": Rows([(3, OK, ()), (4, BAD, (LOST,)), (6, OK, ())], blank_rows=1),
    "numeric_xlsxwriter.xlsx": Rows(
        [(2, OK, ()), (3, BAD, (LOST,)), (4, BAD, ("capabilities.missing",))]
    ),
    "phone_characters.csv": Rows(
        [
            *ok(2, 3, 4, 5, 6),  # ' marker, NBSP, zero-width, fullwidth, tel:
            (7, BAD, ("phonenumber.extension",)),  # x123
            (8, BAD, ("phonenumber.extension",)),  # ;ext=9
        ]
    ),
    # composed mapping
    "capability_flags.xlsx": Rows(
        [
            *ok(2, 3),
            (4, BAD, ("capabilities.no_messaging",)),
            (5, BAD, ("capabilities.not_an_integer",)),
        ]
    ),
    "flags_and_attributes.csv": Rows([*ok(2, 3), (4, BAD, ("attributes.not_an_object",))]),
    # workbooks: formats, sheets, layout
    "workbook_named.csv": Rows(
        [(2, OK, ()), (3, BAD, (LOST,)), (4, BAD, ("capabilities.missing",))]
    ),
    "macro.xlsm": Rows(ok(2)),
    "numbers.ods": Rows(ok(2)),
    "libreoffice.ods": Rows(ok(2, 3, 4)),
    "libreoffice.xls": Rows(ok(2, 3, 4)),
    "formulas_cached.xlsx": Rows(ok(2, 3, 4)),
    "hidden_first_sheet.xlsx": Rows(ok(2)),
    "empty_first_sheet.xlsx": Rows(ok(2)),
    "merged_cells.xlsx": Rows([(3, OK, ()), (4, BAD, ("capabilities.missing",))]),
    "phantom_rows.xlsx": Rows(ok(2, 3)),
    "backslash_names.xlsx": Rows(ok(2, 3)),  # xl\\workbook.xml
    "workbook_elsewhere.xlsx": Rows(ok(2, 3)),  # book/workbook.xml, through _rels/.rels
    "data_on_third_sheet.xlsx": Rows(ok(2, 3)),  # past a title-only sheet and an empty one
    # error cells: kept as the partner's sheet shows them, never blank
    "error_cells.xlsx": Rows(
        [
            (2, BAD, (CELL_ERROR,)),  # #N/A
            (3, OK, ()),  # #REF! in the Name column is carried as it is
            (4, BAD, (CELL_ERROR, "capabilities.not_an_integer")),  # a row of #N/A
            (5, OK, ()),
        ]
    ),
    "error_formulas.xlsx": Rows(
        [(n, BAD, (CELL_ERROR, "capabilities.not_an_integer")) for n in (2, 3, 4)]
    ),
    "error_literals.csv": Rows(
        [(2, BAD, (CELL_ERROR,)), (3, OK, ()), (4, BAD, (CELL_ERROR,)), (5, BAD, (CELL_ERROR,))]
    ),
    # refused
    "empty.csv": Refused("{path}: the file is empty"),
    "only_blank_lines.csv": Refused("{path}: no data (every row is blank)"),
    "header_only.csv": Refused("{path}: no data rows below the header (row 1)"),
    "header_only.xlsx": Refused("{path}: no data rows below the header (row 1)"),
    "empty_workbook.xlsx": Refused("{path}: no data (every row is blank)"),
    "binary_junk.csv": Refused("{path}: not a text or spreadsheet file (it has binary content)"),
    "mixed_encoding.csv": Refused(
        "{path}: cannot decode the file as utf-8 (bad byte at offset 46); "
        "give the right encoding with --encoding"
    ),
    "no_phone_column.csv": Refused(
        '{path}: no phone-number column in row 1; headers found: "Name", "Caps"'
    ),
    "no_phone_column.xlsx": Refused(
        '{path}: no phone-number column in row 1; headers found: "Name", "Caps"'
    ),
    "duplicate_headers.csv": Refused('{path}: duplicate column "Phone" in columns A and C'),
    "duplicate_headers.xlsx": Refused('{path}: duplicate column "Phone" in columns B and E'),
    "chart_only.xlsx": Refused("{path}: the workbook has no visible worksheet"),
    "no_phone_sheet.xlsx": Refused(
        '{path}: no sheet has a phone-number column: "Cover" (every row is blank), '
        '"Notes" (no phone-number column in row 1; headers found: "Read me first")'
    ),
    "biff2.xls": Refused(
        "{path}: an Excel 2.x (BIFF2) file, a format too old to read; "
        "open it in Excel or LibreOffice and save it as .xlsx"
    ),
    "biff4.xls": Refused(
        "{path}: an Excel 4.0 (BIFF4) file, a format too old to read; "
        "open it in Excel or LibreOffice and save it as .xlsx"
    ),
    "formulas_no_cache.xlsx": Refused(
        '{path}: sheet "Sheet" has 2 formula cell(s) with no saved result (first: C2); '
        "open the file in Excel or LibreOffice and save it again"
    ),
    "csv_named.xlsx": Refused(
        "{path}: not a readable XLSX workbook "
        "(the content is text: if it is a CSV file renamed, name it .csv)"
    ),
    "pdf_named.xlsx": Refused(
        "{path}: not a readable XLSX workbook (the content is a PDF document, not a spreadsheet)"
    ),
    "zip_not_workbook.xlsx": Refused(
        "{path}: not a readable XLSX workbook (a zip archive without a workbook in it)"
    ),
    "truncated.xlsx": Refused(
        "{path}: not a readable XLSX workbook (damaged or truncated zip archive)"
    ),
    "entity_bomb.xlsx": Refused(
        "{path}: not a readable XLSX workbook (at 0..0: unrecognized entity `&lol9;`)"
    ),
    "deflate_bomb.xlsx": Refused(
        "{path}: not a readable XLSX workbook "
        "(part 'xl/worksheets/sheet1.xml' inflates 1022 times: a zip bomb?)"
    ),
    "not_really.xls": Refused(
        "{path}: not a readable XLS workbook (Cfb error: Invalid OLE (108 bytes is too small))"
    ),
    "fake.xlsb": Refused("{path}: not a readable XLSB workbook (failed to fill whole buffer)"),
}

HOSTILE = ["entity_bomb.xlsx", "deflate_bomb.xlsx", "truncated.xlsx", "binary_junk.csv"]
MEMORY_LIMIT = 2 * 1024**3  # address space for a whole `did-import validate` process


def test_every_fixture_has_an_outcome() -> None:
    """Each file in the fixture folder is pinned here, and each entry names a real file."""
    assert sorted(path.name for path in FIXTURES.iterdir()) == sorted(OUTCOMES)
    assert len(OUTCOMES) >= 30


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_fixture_outcome(name: str, tmp_path: Path) -> None:
    """The fixture loads into exactly its rows, or is refused with exit 2 and one line."""
    path = FIXTURES / name
    expected = OUTCOMES[name]
    if isinstance(expected, Refused):
        result = CliRunner().invoke(
            app, ["validate", str(path), "--report", str(tmp_path / "r.xlsx")]
        )
        assert result.exit_code == 2, result.output
        assert result.stderr == f"did-import: {expected.message.format(path=path)}\n"
        assert not (tmp_path / "r.xlsx").exists()
        return
    streamed = stream_file(path, Settings(), None)
    rows = [
        (r.row.number, r.status.value, tuple(issue.code for issue in r.issues))
        for r in streamed.kept
    ]
    assert rows == expected.rows
    assert streamed.source.blank_rows == expected.blank_rows


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_in_bounded_memory(name: str, tmp_path: Path) -> None:
    """A hostile file ends with exit 2 in a process capped at 2 GiB of address space."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    command = [sys.executable, "-m", "importer.cli", "validate", str(FIXTURES / name)]
    command += ["--report", str(tmp_path / "r.xlsx")]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, preexec_fn=cap_memory, check=False
    )
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert str(FIXTURES / name) in done.stderr
