"""The results CSV written as the rows come, for runs too large to keep in memory.

`ResultsSpool` writes each `Results` line (made by `importer.reporter.lines`) to a
hidden file beside the report, and each row's errors CSV lines to another, exactly as
`csvout.write_csv` would write them; `write_report` moves both into place with the rest
of the report. `SpoolTarget` is what a run hands the validation stream: where the two
CSV files go, the lines for them (`ReportLines`, which the stream's helper process
uses too) and their spool, opened once the input's header is known.

A ragged row wider than the header widens the whole file: when the spool is finished,
every narrower line is padded once, so the file reads as if the widest row had been
known from the start.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from importer.models import RowResult
from importer.reporter import flatten
from importer.reporter.csvout import ENCODING, csv_cells
from importer.reporter.files import create_private
from importer.reporter.lines import ReportLines

__all__ = ["ResultsSpool", "SpoolTarget"]


@dataclass(frozen=True, slots=True)
class SpoolTarget:
    """Where a streamed report's results and errors CSVs go (their spools are beside them)."""

    results_csv: Path
    errors_csv: Path

    def lines(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> ReportLines:
        """The line maker for an input with this header, mapping and delimiter."""
        return ReportLines(header, mapping, delimiter)

    def open(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> ResultsSpool:
        """Start both spools (hidden files beside the targets) for such an input."""
        lines = self.lines(header, mapping, delimiter)
        return ResultsSpool(self.results_csv, self.errors_csv, lines)


class ResultsSpool:
    """A results CSV in the making, with its errors CSV twin (`errors_path`).

    `finish` it, then move both files into place, or `discard` them.
    """

    def __init__(self, results_csv: Path, errors_csv: Path, lines: ReportLines) -> None:
        results_csv.parent.mkdir(parents=True, exist_ok=True)
        self.path = _hidden(results_csv)
        self.errors_path = _hidden(errors_csv)
        self.lines = lines
        delimiter = lines.results.delimiter
        self._errors = create_private(self.errors_path, ENCODING)
        try:
            self._handle = create_private(self.path, ENCODING)
        except BaseException:
            self._errors.close()
            self.errors_path.unlink(missing_ok=True)
            raise
        csv.writer(self._errors, delimiter=delimiter).writerow(csv_cells(flatten.ERROR_COLUMNS))
        self._header = lines.header
        self.width = len(self._header)
        self._wide: dict[int, int] = {}  # data line index -> its width, when past the header's
        self._lines = 0
        csv.writer(self._handle, delimiter=delimiter).writerow(
            csv_cells(flatten.report_header(self._header, self.width))
        )

    def add_results(self, results: Iterable[RowResult]) -> None:
        """Write the rows' Results lines after those written."""
        self.add_lines(*self.lines.result_lines(results))

    def add_errors(self, texts: Iterable[str]) -> None:
        """Write rows' errors lines made by `lines.error_texts`, after those written."""
        self._errors.write("".join(texts))

    def add_lines(self, lines: Sequence[str], wide: dict[int, int]) -> None:
        """Write Results lines and their `wide` map (`ReportLines.result_lines`) after those."""
        for index, width in wide.items():
            self._wide[self._lines + index] = width
            self.width = max(self.width, width)
        self._handle.write("".join(lines))
        self._lines += len(lines)

    def finish(self) -> Path:
        """Close the files (padding lines narrower than the widest); return the results'."""
        self._handle.close()
        self._errors.close()
        if self.width > len(self._header):
            self._pad()
        return self.path

    def discard(self) -> None:
        """Close and delete the files (the run failed, or the spool was not needed)."""
        self._handle.close()
        self._errors.close()
        self.path.unlink(missing_ok=True)
        self.errors_path.unlink(missing_ok=True)

    def _pad(self) -> None:
        """Rewrite every line narrower than the widest with blank cells inserted."""
        padded = self.path.with_suffix(".padded")
        delimiter = self.lines.results.delimiter
        with (
            self.path.open(encoding=ENCODING, newline="") as source,
            create_private(padded, ENCODING) as target,
        ):
            reader = csv.reader(source, delimiter=delimiter)
            writer = csv.writer(target, delimiter=delimiter)
            next(reader)
            writer.writerow(csv_cells(flatten.report_header(self._header, self.width)))
            for index, cells in enumerate(reader):
                width = self._wide.get(index, len(self._header))
                writer.writerow([*cells[:width], *[""] * (self.width - width), *cells[width:]])
        os.replace(padded, self.path)


def _hidden(path: Path) -> Path:
    """A hidden, unique name beside `path` for its spool."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.spool")
