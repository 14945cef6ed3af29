"""The partner template: layout, dropdown, text phone column, round trip through validation."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from importer.cli import app
from importer.config import InputSettings, RowDefaults
from importer.errors import ConfigError
from importer.loader import load_file
from importer.mapping import CANONICAL_FIELDS, build_mapping
from importer.models import Status
from importer.template import (
    DATA_SHEET,
    MASKS_SHEET,
    NOTES,
    NOTES_SHEET,
    ROW_HEIGHT,
    dropdown_values,
    wrapped_height,
    write_template,
)
from importer.validate.capabilities import ALLOWED_MASKS, parse_capabilities
from importer.validate.rows import validate_rows

CARRIER = "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A freshly written template with 50 prepared rows."""
    return write_template(tmp_path / "template.xlsx", rows=50)


def test_sheets_headers_and_frozen_header(template: Path) -> None:
    """Numbers comes first with the canonical headers and a frozen header row."""
    workbook = openpyxl.load_workbook(template)
    assert workbook.sheetnames == [DATA_SHEET, NOTES_SHEET, MASKS_SHEET]
    sheet = workbook[DATA_SHEET]
    assert [cell.value for cell in sheet[1]] == list(CANONICAL_FIELDS)
    assert sheet.freeze_panes == "A2"


def test_every_column_is_text_so_excel_keeps_digits(template: Path) -> None:
    """Every data column, the phone column above all, is formatted as text ('@')."""
    sheet = openpyxl.load_workbook(template)[DATA_SHEET]
    formats = {
        column: dimension.number_format
        for dimension in sheet.column_dimensions.values()
        for column in range(dimension.min, dimension.max + 1)
    }
    assert [formats.get(n) for n in range(1, len(CANONICAL_FIELDS) + 1)] == ["@"] * len(
        CANONICAL_FIELDS
    )


def test_capabilities_dropdown_lists_every_allowed_mask(template: Path) -> None:
    """The capabilities column has a list validation over the allowed masks' texts."""
    workbook = openpyxl.load_workbook(template)
    (validation,) = workbook[DATA_SHEET].data_validations.dataValidation
    column = chr(ord("A") + CANONICAL_FIELDS.index("capabilities"))
    assert validation.type == "list"
    assert str(validation.sqref) == f"{column}2:{column}51"
    assert validation.formula1 == f"{MASKS_SHEET}!$C$2:$C${len(ALLOWED_MASKS) + 1}"
    listed = [row[2] for row in workbook[MASKS_SHEET].iter_rows(min_row=2, values_only=True)]
    assert listed == dropdown_values()


def test_dropdown_texts_parse_to_their_masks() -> None:
    """Each dropdown entry is read by the validator as its mask, and no voice mask is offered."""
    assert [parse_capabilities(text, None)[0] for text in dropdown_values()] == list(ALLOWED_MASKS)
    assert 4 not in ALLOWED_MASKS
    assert "27 (SMS in+out, MMS in+out)" in dropdown_values()


def test_notes_explain_every_column(template: Path) -> None:
    """The Notes sheet has one line per canonical column with its meaning and an example."""
    rows = list(openpyxl.load_workbook(template)[NOTES_SHEET].iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == list(CANONICAL_FIELDS)
    assert all(row[2] and row[3] for row in rows[1:])


def test_filled_template_round_trips_clean(template: Path, tmp_path: Path) -> None:
    """Filled with valid rows, the template loads and validates with no issue at all."""
    workbook = openpyxl.load_workbook(template)
    sheet = workbook[DATA_SHEET]
    values = [
        ["+12059051025", "3 (SMS in+out)", "https://example.com/sms", "Front desk", CARRIER],
        ["+12059051026", "27 (SMS in+out, MMS in+out)", "", "", "", '{"team": "sales"}', "k"],
        ["+44 20 7946 0958", "sms", "", "", "", "", "", "k2"],
        ["+4930123456", "11", ""],
    ]
    for row, cells in enumerate(values, start=2):
        for column, value in enumerate(cells, start=1):
            if value:
                sheet.cell(row=row, column=column, value=value)
    filled = tmp_path / "filled.xlsx"
    workbook.save(filled)
    loaded = load_file(filled, InputSettings())
    rows = list(loaded.rows)
    assert loaded.source.sheet == DATA_SHEET
    mapping = build_mapping(loaded.source.header)
    assert mapping.describe() == {field: field for field in CANONICAL_FIELDS}
    results = validate_rows(rows, mapping, RowDefaults())
    assert [(r.status, r.issues) for r in results] == [(Status.WOULD_REGISTER, ())] * len(values)
    assert [r.payload["capabilities"] for r in results if r.payload] == [3, 27, 3, 11]


def test_template_needs_an_xlsx_name(tmp_path: Path) -> None:
    """Any other suffix is a ConfigError naming the path."""
    with pytest.raises(ConfigError, match=r"template\.csv"):
        write_template(tmp_path / "template.csv")


def test_unwritable_path_is_a_config_error(tmp_path: Path) -> None:
    """A folder that does not exist is a one-line ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="cannot write"):
        write_template(tmp_path / "missing" / "template.xlsx")


def test_cli_template_writes_the_workbook(tmp_path: Path) -> None:
    """`did-import template OUT.xlsx` writes the file and says where."""
    out = tmp_path / "partner.xlsx"
    result = CliRunner().invoke(app, ["template", str(out), "--rows", "10"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    assert openpyxl.load_workbook(out).sheetnames[0] == DATA_SHEET


def test_cli_template_bad_name_is_exit_2(tmp_path: Path) -> None:
    """A non-.xlsx output is exit 2 with one line on stderr."""
    result = CliRunner().invoke(app, ["template", str(tmp_path / "t.csv")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrapped_notes_rows_are_as_tall_as_their_text(template: Path) -> None:
    """Each Notes row has an explicit height for its longest wrapped text, so LibreOffice
    and Excel never draw a note over the rows below (xlsxwriter does not fit heights)."""
    sheet = openpyxl.load_workbook(template)[NOTES_SHEET]
    heights = {  # a one-line row keeps the default height: none is written
        row: sheet.row_dimensions[row].height or ROW_HEIGHT for row in range(2, 2 + len(NOTES))
    }
    capabilities = 2 + CANONICAL_FIELDS.index("capabilities")
    assert heights[capabilities] == 3 * ROW_HEIGHT  # 176 characters in a 70-wide column
    assert heights[2 + CANONICAL_FIELDS.index("name")] == ROW_HEIGHT


def test_wrapped_height_counts_word_wrapped_lines() -> None:
    """A text longer than its column takes one more line per column-width of words."""
    assert wrapped_height(("short",), (10,)) == ROW_HEIGHT
    assert wrapped_height(("one two three four five", "x"), (10, 10)) == 3 * ROW_HEIGHT


@pytest.mark.parametrize("name", [DATA_SHEET, NOTES_SHEET, MASKS_SHEET])
def test_every_sheet_prints_one_page_wide_with_its_header(template: Path, name: str) -> None:
    """Printed, a sheet is landscape, one page wide, its header row on every page: the
    empty Numbers sheet is a single page."""
    sheet = openpyxl.load_workbook(template)[name]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    assert not sheet.print_area  # a filled template prints every row
