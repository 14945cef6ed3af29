"""The header row's choice (importer/loader/layout.py), for CSV files and workbooks.

A row naming a phone-number column is the header only when that column's cells below
it are mostly phone-like; the fixtures are written by tests/fixtures/make_text_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from importer.config import InputSettings
from importer.errors import MappingError
from importer.loader import load_file
from importer.loader.layout import AHEAD_ROWS

TEXT = Path(__file__).parent / "fixtures" / "text"
NUMBER_IN_DATA_ROW = (
    'no phone-number column in row 1; headers found: "Line", "Type", "Owner"; row 2 has'
    ' a column "Number", but the cells below it are not phone numbers'
    ' ("Number", "Number", "Number")'
)


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_data_row_saying_number_is_not_the_header() -> None:
    """The issue's file: a data row whose cell says `Number` under a header with no
    phone-like name is refused as one line (exit 2), not taken as the header."""
    path = TEXT / "number_in_data_row.csv"
    with pytest.raises(MappingError) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == f"{path}: {NUMBER_IN_DATA_ROW}"
    assert caught.value.exit_code == 2


def test_data_row_saying_number_in_a_workbook(tmp_path: Path) -> None:
    """The same sheet as a workbook is refused the same way (the choice is shared)."""
    rows: list[list[object]] = [["Line", "Type", "Owner"]]
    rows += [[12059051000 + n, "Number", "Acme"] for n in range(99)]
    path = _xlsx(tmp_path / "numbers.xlsx", rows)
    with pytest.raises(MappingError) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == f"{path}: {NUMBER_IN_DATA_ROW}"


@pytest.mark.parametrize(
    ("cells", "taken"),
    [
        (["+12059051025", "+12059051026", "n/a"], True),
        (["1", "12", "call John", "TBD"], True),  # wrong numbers: validation's job, per row
        (["", "", ""], True),  # no evidence against the header
        (["n/a", "TBD", "+12059051025"], False),
        (["Mobile", "Office", "Fax"], False),
    ],
    ids=["phones", "half-digits", "empty", "mostly-words", "words"],
)
def test_phone_column_below_a_header_is_judged(
    tmp_path: Path, cells: list[str], taken: bool
) -> None:
    """A header is taken when no more of its phone cells below are words than hold digits."""
    path = tmp_path / "judged.csv"
    lines = "".join(f"{text},3\r\n" for text in cells)
    path.write_text(f"Phone,Caps\r\n{lines}", encoding="utf-8")
    if taken:
        assert load_file(path, InputSettings()).source.header_row == 1
    else:
        with pytest.raises(MappingError, match=r'; row 1 has a column "Phone", but the cells'):
            load_file(path, InputSettings())


def test_only_the_first_rows_below_are_judged(tmp_path: Path) -> None:
    """Words in the phone column after the first AHEAD_ROWS rows do not undo the header."""
    path = tmp_path / "late_words.csv"
    numbers = "".join(f"+1205905{1000 + n},3\r\n" for n in range(AHEAD_ROWS))
    words = "pending,3\r\n" * (AHEAD_ROWS * 2)
    path.write_text(f"Phone,Caps\r\n{numbers}{words}", encoding="utf-8")
    loaded = load_file(path, InputSettings())
    assert (loaded.source.header_row, len(list(loaded.rows))) == (1, AHEAD_ROWS * 3)


def test_rows_read_ahead_come_back_as_data(tmp_path: Path) -> None:
    """The rows read to judge the header are data rows again, blank ones counted."""
    path = tmp_path / "ahead.csv"
    body = "".join(f"+1205905{1000 + n},3\r\n" + ("\r\n" if n % 3 == 0 else "") for n in range(12))
    path.write_text(f"Phone,Caps\r\n{body}", encoding="utf-8")
    loaded = load_file(path, InputSettings())
    numbers = [row.cells[0] for row in loaded.rows]
    assert numbers == [f"+1205905{1000 + n}" for n in range(12)]
    assert loaded.source.blank_rows == 4


def test_workbook_rows_read_ahead_keep_strict_phone_text(tmp_path: Path) -> None:
    """In a workbook, the rows read ahead still get the phone column's strict text: a
    fraction comes out in E notation, not as a plausible number."""
    path = _xlsx(
        tmp_path / "ahead.xlsx",
        [["Title"], ["Phone", "Caps"], [491511234567.8, 3], [12059051025, 3]],
    )
    loaded = load_file(path, InputSettings())
    assert loaded.source.header_row == 2
    assert [(row.number, row.cells[0]) for row in loaded.rows] == [
        (3, "4.915112345678E+11"),
        (4, "12059051025"),
    ]


def test_quotes_in_header_text_are_escaped() -> None:
    """Header text with quotes reads as one header in the refusal: `"\\"03\\"-..."`."""
    path = TEXT / "quotes_in_header.csv"
    with pytest.raises(MappingError) as caught:
        load_file(path, InputSettings())
    assert str(caught.value) == (
        f'{path}: no phone-number column in row 1; headers found: "Date",'
        ' "\\"03\\"-\\"08\\"-\\"2017\\"", "Notes"'
    )


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        (
            "id,name,age\n1101,John\n1102,Julie,26,Potatoes\n",
            'row 1; headers found: "id", "name", "age"',
        ),
        (
            "id,name,name\n1,London,Britain\nx,Tokio,Japan,review\n",
            'row 1; headers found: "id", "name", "name"',
        ),
        ("Numbers for ACME\nid,name\n1,x\n", 'row 2; headers found: "id", "name"'),
        ("\"a,d,e,f\"\n'1',2,3,4\n", 'row 1; headers found: "a,d,e,f"'),
    ],
    ids=["longer-data-row", "data-row-of-words", "title-above", "no-row-names-two"],
)
def test_a_refusal_quotes_the_header_not_a_longer_data_row(
    tmp_path: Path, text: str, quoted: str
) -> None:
    """Without a phone column the refusal quotes the first row naming two columns (cells
    with a letter): not a one-cell title above it, nor a data row with more cells below
    (the corpus check's frictionless and pyexcel files)."""
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as refused:
        load_file(path, InputSettings())
    assert f"no phone-number column in {quoted}" in str(refused.value)
