"""The account export: every External DID, in the partner template's layout.

Columns: the template's, the fields a sheet sets (`CANONICAL_FIELDS`: phonenumber,
capabilities, callback_url, name, underlying_carrier_sid, attributes, string_key_1,
string_key_2), then the read-only ones (`READ_ONLY_COLUMNS`), which the loader carries
along untouched. Every cell is text, written so that loading and validating the file
gives back each record's editable fields exactly (`did-import validate EXPORT` finds
every row valid, and its payloads are the records):

- `phonenumber` as `+<digits>` (E.164: no default region needed);
- `capabilities` the mask; `attributes` the record's JSON object (`{}` when empty: the
  cell sets exactly what the record holds);
- a null field an empty cell (validation leaves it out of the payload).

XLSX (the default): xlsxwriter in constant memory, every cell written as a string
under a text format, no formulas, URLs or numbers guessed from text; the sheet is
the template's `Numbers`, header frozen. CSV: UTF-8 with a BOM, comma-separated,
each cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` …) quoted
with a leading `'` (`csvout.neutralize`): such a cell (a name like `-east`) then
reads back with its quote, so only the XLSX round-trips those exactly.

The file is written beside its target under a temporary name and moved into place
once complete (`files.write_all`): an export stopped half-way leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import xlsxwriter

from importer.errors import ConfigError
from importer.mapping import CANONICAL_FIELDS
from importer.reporter.csvout import ENCODING, csv_cells
from importer.reporter.files import write_all
from importer.reporter.workbook import WORKBOOK_OPTIONS
from importer.template import DATA_SHEET, WIDTHS

__all__ = [
    "EXPORT_COLUMNS",
    "READ_ONLY_COLUMNS",
    "ExportFormat",
    "ExportOutcome",
    "default_export_path",
    "export_cells",
    "export_format",
    "write_export",
]

READ_ONLY_COLUMNS: tuple[str, ...] = (
    "external_did_sid",
    "active_capabilities",
    "status",
    "country_code",
    "state",
    "locality",
    "lata",
    "campaign_sid",
)
EXPORT_COLUMNS: tuple[str, ...] = (*CANONICAL_FIELDS, *READ_ONLY_COLUMNS)
ExportFormat = Literal["xlsx", "csv"]
Record = dict[str, Any]
Add = Callable[[Sequence[Record]], None]
Fill = Callable[[Add], None]

FORMATS: dict[str, ExportFormat] = {".xlsx": "xlsx", ".csv": "csv"}
EXCEL_CELL_MAX = 32_767
EXCEL_DATA_ROWS = 1_048_575


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    """What an export wrote: where, how many records, in which format."""

    path: Path
    records: int
    format: ExportFormat


def export_format(path: Path) -> ExportFormat:
    """`xlsx` or `csv`, by the file's extension; ConfigError (exit 2) for any other."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ConfigError(f"{path}: an export is .xlsx or .csv; name the file *.xlsx or *.csv")
    return found


def default_export_path(report_dir: Path, now: datetime | None = None) -> Path:
    """`<report_dir>/export-<UTC date-time>.xlsx`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return report_dir / f"export-{moment:%Y%m%dT%H%M%SZ}.xlsx"


def export_cells(record: Record) -> list[str]:
    """A record's row: one text cell per `EXPORT_COLUMNS` column ("" for null)."""
    cells = [_text(record.get(column)) for column in EXPORT_COLUMNS]
    digits = cells[0]
    if digits.isascii() and digits.isdigit():
        cells[0] = "+" + digits
    return cells


def write_export(path: Path, fill: Fill) -> int:
    """Write the export to `path`: `fill(add)` calls `add(records)` for each page of
    records, in order. The number of records written; ConfigError when the file cannot
    be written (what `fill` raises passes through, and nothing is left behind)."""
    kind = export_format(path)
    written = 0

    def write(target: Path) -> None:
        nonlocal written
        with _rows(target, kind) as add:

            def counted(records: Sequence[Record]) -> None:
                nonlocal written
                add(records)
                written += len(records)

            fill(counted)

    write_all([(path, write)], what="export")
    return written


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _rows(target: Path, kind: ExportFormat) -> AbstractContextManager[Add]:
    return _xlsx_rows(target) if kind == "xlsx" else _csv_rows(target)


@contextmanager
def _csv_rows(target: Path) -> Iterator[Add]:
    with target.open("x", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)

        def add(records: Sequence[Record]) -> None:
            writer.writerows(csv_cells(export_cells(record)) for record in records)

        yield add


@contextmanager
def _xlsx_rows(target: Path) -> Iterator[Add]:
    workbook = xlsxwriter.Workbook(str(target), WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet(DATA_SHEET)
    text = workbook.add_format({"num_format": "@"})
    bold = workbook.add_format({"bold": True, "num_format": "@", "bg_color": "#DDEBF7"})
    for index, column in enumerate(EXPORT_COLUMNS):
        sheet.set_column(index, index, WIDTHS.get(column, 18), text)
        sheet.write_string(0, index, column, bold)
    sheet.freeze_panes(1, 0)
    row = 0

    def add(records: Sequence[Record]) -> None:
        nonlocal row
        for record in records:
            row += 1
            if row > EXCEL_DATA_ROWS:
                raise ConfigError(
                    f"{target.name}: more than {EXCEL_DATA_ROWS:,} numbers; export to .csv"
                )
            for index, value in enumerate(export_cells(record)):
                if value and sheet.write_string(row, index, value, text) == -2:
                    raise ConfigError(_too_long(record, index))

    try:
        yield add
    finally:
        workbook.close()


def _too_long(record: Record, index: int) -> str:
    return (
        f"+{record.get('phonenumber')}: {EXPORT_COLUMNS[index]} is longer than an Excel cell"
        f" holds ({EXCEL_CELL_MAX:,} characters); export to .csv"
    )
