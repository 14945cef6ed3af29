"""The results CSV written as the rows come, for runs too large to keep in memory.

`ResultsSpool` writes each `Results` line (`flatten.report_row`) to a hidden file beside
the report, exactly as `csvout.write_csv` would write it, and `write_report` moves the
file into place with the rest of the report. A row wider than the header (a ragged row
with cells past its last column) widens every line: the lines written before it are
padded once, when the spool is finished, so the file reads as if the width had been
known from the start.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from importer.models import RowResult
from importer.reporter import flatten
from importer.reporter.csvout import ENCODING, csv_cells, csv_delimiter


class ResultsSpool:
    """A results CSV in the making; `finish` it, then move `path`, or `discard` it."""

    def __init__(self, report_csv: Path, header: Sequence[str], delimiter: str | None) -> None:
        report_csv.parent.mkdir(parents=True, exist_ok=True)
        self.path = report_csv.with_name(f".{report_csv.name}.{uuid.uuid4().hex[:12]}.spool")
        self._delimiter = csv_delimiter(delimiter)
        self._handle = self.path.open("x", encoding=ENCODING, newline="")
        self._writer = csv.writer(self._handle, delimiter=self._delimiter)
        self._header = tuple(header)
        self.width = len(header)
        self._widths: list[tuple[int, int]] = []  # (lines written before, their width)
        self._lines = 1
        self._writer.writerow(csv_cells(flatten.report_header(header, self.width)))

    def add(self, result: RowResult) -> None:
        """Write one row's `Results` line."""
        if len(result.row.cells) > self.width:
            self._widths.append((self._lines, self.width))
            self.width = len(result.row.cells)
        self._writer.writerow(csv_cells(flatten.report_row(result, self.width)))
        self._lines += 1

    def finish(self) -> Path:
        """Close the file (padding early lines if a later row was wider); return its path."""
        self._handle.close()
        if self._widths:
            self._pad()
        return self.path

    def discard(self) -> None:
        """Close and delete the file (the run failed, or the spool was not needed)."""
        self._handle.close()
        self.path.unlink(missing_ok=True)

    def _pad(self) -> None:
        """Rewrite the lines written at a narrower width with blank cells inserted."""
        padded = self.path.with_suffix(".padded")
        with (
            self.path.open(encoding=ENCODING, newline="") as source,
            padded.open("x", encoding=ENCODING, newline="") as target,
        ):
            reader = csv.reader(source, delimiter=self._delimiter)
            writer = csv.writer(target, delimiter=self._delimiter)
            next(reader)
            writer.writerow(csv_cells(flatten.report_header(self._header, self.width)))
            for number, cells in enumerate(reader, start=1):
                width = self._width_at(number)
                writer.writerow([*cells[:width], *[""] * (self.width - width), *cells[width:]])
        os.replace(padded, self.path)

    def _width_at(self, line: int) -> int:
        for before, width in self._widths:
            if line < before:
                return width
        return self.width
