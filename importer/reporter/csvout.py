"""The CSV twins: `<stem>.results.csv` and `<stem>.errors.csv`, injection-safe.

A spreadsheet opening a CSV file runs any cell that starts with `=`, `+`, `-` or `@`
as a formula (and TAB or CR can hide such a start). `neutralize` puts a single quote
before those cells, the usual defence (OWASP "CSV injection"): Excel and LibreOffice
then show the text as it was, with the quote, and run nothing. A cell that is only a
number, optionally signed (`+12059051025`, `-5`), cannot carry a formula and is left
as is; normalised phone numbers are digits only and so always stay intact.

The files are UTF-8 with a BOM (so Excel reads accents right) and use the input's
delimiter, so a partner in a semicolon locale gets a file that opens in columns.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from importer.reporter.flatten import Cell

ENCODING = "utf-8-sig"
DEFAULT_DELIMITER = ","
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_RISKY_FIRST = frozenset(FORMULA_STARTS)
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def neutralize(value: Cell) -> Cell:
    """The cell with a leading quote if a spreadsheet would read it as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return QUOTE + value


def write_csv(
    target: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    delimiter: str | None = None,
) -> None:
    """Write a header and rows to a new file, every text cell neutralised, row by row."""
    with target.open("x", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle, delimiter=csv_delimiter(delimiter))
        writer.writerow(csv_cells(columns))
        for row in rows:
            writer.writerow(csv_cells(row))


def csv_cells(row: Sequence[Cell]) -> list[Cell]:
    """A row's cells as written: None as empty, every text cell neutralised.

    Only a text cell whose first character could start a formula goes through
    `neutralize` (the hot path of a 1M-row results CSV: most cells need no call).
    """
    return [
        ""
        if value is None
        else neutralize(value)
        if type(value) is str and value[:1] in _RISKY_FIRST
        else value
        for value in row
    ]


def csv_delimiter(delimiter: str | None) -> str:
    """The input's delimiter when it is a usable one, else a comma."""
    if delimiter is None or len(delimiter) != 1 or delimiter in "\"'\r\n":
        return DEFAULT_DELIMITER
    return delimiter
