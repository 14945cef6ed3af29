"""An independent count of a loaded file's data rows, to check `validate`'s own.

Run by bench/corpus.py in its own process: `python bench/corpus_count.py FILE SUMMARY.json`.

`validate` reports the header row it chose (`input.header_row`, the CSV record or
sheet row number) and the data rows below it (`input.data_rows`). This module counts
the same thing without did-import's loader: the non-blank rows below that header row,
a row being blank when every cell is empty or whitespace (did-import's own rule).

- CSV/TSV/TXT: Python's `csv` module over the file decoded with the encoding and split
  with the delimiter the summary names (those are the file's facts, not counts); a first
  `sep=;` line (Excel's, hidden by Excel) is skipped before records are numbered.
- XLSX/XLSM: openpyxl in read-only mode (`data_only`: formulas as their saved
  results; dimensions reset, so a wrong `<dimension>` cuts nothing), a different
  reader from did-import's calamine.
- XLS, XLSB, ODS: openpyxl cannot read them, so python-calamine's `to_python` (the
  same library as did-import, another path through it: whole-sheet list, not the
  row iterator); the counter used is named in the results.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

SEP_LINE = re.compile(r'^"?sep=.?"?\s*$')


def count_rows(path: Path, source: dict[str, Any]) -> tuple[int, str]:
    """(non-blank rows below the header row, the counter's name) for a loaded file."""
    header_row = int(source["header_row"])
    if source["format"] == "csv":
        return _csv_rows(path, source["encoding"], source["delimiter"], header_row), "csv"
    if source["format"] in {"xlsx", "xlsm"}:
        return _openpyxl_rows(path, source["sheet"], header_row), "openpyxl"
    return _calamine_rows(path, source["sheet"], header_row), "calamine to_python"


def is_blank(values: Any) -> bool:
    """True when every cell is None, or text that is empty or whitespace."""
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in values)


def _csv_rows(path: Path, encoding: str, delimiter: str, header_row: int) -> int:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding=encoding, newline="") as handle:
        first = handle.readline()
        if not SEP_LINE.match(first.lstrip("\ufeff").rstrip("\r\n")):
            handle.seek(0)
        records = csv.reader(handle, delimiter=delimiter)
        return sum(
            1
            for number, cells in enumerate(records, start=1)
            if number > header_row and not is_blank(cells)
        )


def _openpyxl_rows(path: Path, sheet: str, header_row: int) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        worksheet = workbook[sheet]
        worksheet.reset_dimensions()  # read to the last row, whatever the file claims
        rows = worksheet.iter_rows(min_row=header_row + 1, values_only=True)
        return sum(1 for values in rows if not is_blank(values))
    finally:
        workbook.close()


def _calamine_rows(path: Path, sheet: str, header_row: int) -> int:
    import python_calamine

    with python_calamine.CalamineWorkbook.from_path(path) as workbook:
        rows = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    return sum(1 for values in rows[header_row:] if not is_blank(values))


def main() -> None:
    """`corpus_count.py FILE SUMMARY.json`: prints `[rows, counter]` as JSON."""
    path, summary = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    warnings.simplefilter("ignore")  # openpyxl's "extension not supported" and the like
    print(json.dumps(count_rows(path, summary["input"])))


if __name__ == "__main__":
    main()
