"""Tests for importer.loader.sheetxml: error cells and uncached formulas from the sheet XML."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from importer.cli import app
from importer.config import InputSettings
from importer.loader import load_file, sheetxml
from importer.loader.sheetxml import ErrorCells, SheetFacts

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(rows: str) -> bytes:
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'
    return f"{head}{rows}</sheetData></worksheet>".encode()


ERRORS_XML = _sheet(
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>say t="e" here</t></is></c></row>'  # text, not a cell
    '<row r="2"><c r="A2" t="e"><v>#N/A</v></c><c r="B2"><v>3</v></c></row>'
    '<row r="3"><c t="e" s="1" r="AB3">\n<v>#DIV/0!</v></c><c r="AC3" t="e"/></row>'
    + "".join(f'<row r="{n}"><c r="C{n}" t="e"><v>#REF!</v></c></row>' for n in range(4, 40))
)


def _cells(errors: ErrorCells) -> list[tuple[int, int, str]]:
    return [
        (*divmod(position, 1 << sheetxml.COLUMN_BITS), errors.texts[kind])
        for position, kind in zip(errors.positions, errors.kinds, strict=True)
    ]


@pytest.mark.parametrize("chunk", [1, 2, 7, 13, 64, 1024 * 1024])
def test_quick_scan_finds_what_the_parse_finds(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Error cells found by `t="e"` alone equal the XML parse's, however the chunks cut them."""
    monkeypatch.setattr(sheetxml, "CHUNK", chunk)
    quick = sheetxml._quick_scan(io.BytesIO(ERRORS_XML), "sheet1.xml")
    parsed = sheetxml._scan(io.BytesIO(ERRORS_XML))
    assert quick is not None
    assert _cells(quick.errors) == _cells(parsed.errors)
    assert _cells(quick.errors)[:3] == [(2, 0, "#N/A"), (3, 27, "#DIV/0!"), (4, 2, "#REF!")]
    assert len(quick.errors.positions) == 2 + 36


@pytest.mark.parametrize(
    "rows",
    [
        '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>',  # a formula: parsed for its cache
        '<row r="1"><c t="e"><v>#N/A</v></c></row>',  # no r: its place is counted, not read
    ],
)
def test_quick_scan_hands_over_to_the_parse(rows: str) -> None:
    """A sheet with formulas, or with an error cell without `r`, is parsed instead."""
    assert sheetxml._quick_scan(io.BytesIO(_sheet(rows)), "sheet1.xml") is None


def test_parse_places_cells_without_references() -> None:
    """Rows and cells without `r` follow the one before, as calamine places them."""
    xml = _sheet('<row><c/><c t="e"><v>#NAME?</v></c></row><row><c t="e"><v>#NUM!</v></c></row>')
    assert _cells(sheetxml._scan(io.BytesIO(xml)).errors) == [(1, 1, "#NAME?"), (2, 0, "#NUM!")]


def test_parse_counts_uncached_formulas_beside_errors() -> None:
    """One parse finds formulas with no saved value and error results together."""
    xml = _sheet(
        '<row r="2"><c r="A2" t="e"><f>NA()</f><v>#N/A</v></c><c r="B2"><f>1+1</f></c>'
        '<c r="C2" t="str"><f>""</f><v></v></c><c r="D2"><f>A1</f><v/></c></row>'
    )
    facts = sheetxml._scan(io.BytesIO(xml))
    assert (facts.uncached, facts.first_uncached) == (2, "B2")
    assert _cells(facts.errors) == [(2, 0, "#N/A")]


def test_error_cells_past_the_sheet_edge_are_dropped() -> None:
    """Positions past 16,384 columns are not kept (calamine has no such cells either)."""
    errors = ErrorCells()
    errors.add(1, 1 << sheetxml.COLUMN_BITS, "#N/A")
    errors.add(1, 0, "#N/A")
    assert _cells(errors) == [(1, 0, "#N/A")]


def test_distinct_error_texts_are_bounded() -> None:
    """A hostile sheet of made-up error texts keeps at most MAX_ERROR_KINDS of them."""
    errors = ErrorCells()
    for column in range(300):
        errors.add(1, column, f"#E{column}")
    assert len(errors.texts) == sheetxml.MAX_ERROR_KINDS + 1
    assert _cells(errors)[-1] == (1, 299, "#ERROR!")


def test_sheet_without_errors_or_formulas_has_no_facts() -> None:
    """An ordinary sheet costs one search and gives nothing back."""
    assert sheetxml.sheet_facts(FIXTURES / "numeric_xlsxwriter.xlsx", "DIDs") == SheetFacts()


def test_error_cells_reach_the_rows_as_their_text() -> None:
    """Every column keeps the error the partner saw: a row of #N/A is not blank."""
    loaded = load_file(FIXTURES / "error_cells.xlsx", InputSettings())
    rows = [(row.number, row.cells) for row in loaded.rows]
    assert rows == [
        (2, ("#N/A", "3", "Alpha")),
        (3, ("+12059051025", "3", "#REF!")),
        (4, ("#N/A", "#N/A", "#N/A")),
        (5, ("+12059051026", "27", "Beta")),
    ]
    assert loaded.source.blank_rows == 0


def test_error_cells_are_in_the_report_as_the_partner_saw_them(tmp_path: Path) -> None:
    """The results workbook shows #REF! as text in its column, and cell.error on #N/A."""
    report = tmp_path / "r.xlsx"
    path = FIXTURES / "error_cells.xlsx"
    result = CliRunner().invoke(app, ["validate", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output
    book = openpyxl.load_workbook(report, read_only=True)
    try:
        sheet = book["Results"]
        rows = [
            row[:3] + row[6:7] for row in sheet.iter_rows(min_row=2, max_row=4, values_only=True)
        ]
        assert rows == [
            ("#N/A", "3", "Alpha", "cell.error"),
            ("+12059051025", "3", "#REF!", None),
            ("#N/A", "#N/A", "#N/A", "cell.error; capabilities.not_an_integer"),
        ]

    finally:
        book.close()
