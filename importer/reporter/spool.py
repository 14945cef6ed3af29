"""The results CSV written as the rows come, for runs too large to keep in memory.

`ResultsSpool` writes each `Results` line (`flatten.report_row`) to a hidden file beside
the report, exactly as `csvout.write_csv` would write it, and `write_report` moves the
file into place with the rest of the report. `ResultLines` makes the lines; it is
shared with the process that validates half of a large file's chunks
(`importer.chunks`), which sends its lines ready-made.

Each line is made at its row's own width: the header's, or the row's when a ragged
row has cells past the last column. Such a row widens the whole file: when the spool
is finished, every narrower line is padded once, so the file reads as if the widest
row had been known from the start.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from importer.models import RowResult, Status
from importer.reporter import flatten
from importer.reporter.csvout import ENCODING, csv_cells, csv_delimiter
from importer.reporter.files import create_private


class _LineList(list[str]):
    """What `csv.writer` writes to: each row's line appended as one string."""

    write = list.append


class ResultLines:
    """Makes `Results` CSV lines, each at its row's own width (see the module doc)."""

    def __init__(self, header_width: int, delimiter: str | None) -> None:
        self.header_width = header_width
        self.delimiter = csv_delimiter(delimiter)

    def lines(self, results: Iterable[RowResult]) -> tuple[list[str], dict[int, int]]:
        """The lines, and {index: width} of those wider than the header."""
        batch = self.batch()
        for result in results:
            batch.add(result)
        return batch.lines, batch.wide

    def batch(self) -> LineBatch:
        """An empty batch of lines, to fill row by row."""
        return LineBatch(self.header_width, self.delimiter)


class LineBatch:
    """Results lines made one row at a time: `lines`, and `wide` ({index: width}).

    A row repeating the previous one's cells and outcome (a pasted block, a file of
    one row repeated) reuses its line: a Results line holds no row number.
    """

    def __init__(self, header_width: int, delimiter: str) -> None:
        self.lines = _LineList()
        self.wide: dict[int, int] = {}
        self._header_width = header_width
        self._write = csv.writer(self.lines, delimiter=delimiter).writerow
        self._previous: tuple[object, str] = ((), "")  # (outcome key, its line)

    def add(self, result: RowResult) -> None:
        """The next row's line."""
        width = len(result.row.cells)
        if width == self._header_width and _plain(result):
            self.add_plain(result.row.cells, result.status, result.normalized_phonenumber)
            return
        if width > self._header_width:
            self.wide[len(self.lines)] = width
        key = _outcome(result)
        if key == self._previous[0]:
            self.lines.append(self._previous[1])
            return
        self._write(csv_cells(flatten.report_row(result, max(width, self._header_width))))
        self._previous = (key, self.lines[-1])

    def add_plain(self, cells: Sequence[str], status: Status, number: str | None) -> None:
        """The line of a row as wide as the header with no issue, sid or HTTP status."""
        # `report_row`'s columns after the partner's; the digits need no neutralising
        self._write([*csv_cells(cells), status.value, "", number or "", "", "", "", "", 0])


def _outcome(result: RowResult) -> tuple[object, ...]:
    """Everything a Results line is made of (equal tuples: equal lines)."""
    return (
        result.row.cells,
        result.status,
        result.issues,
        result.normalized_phonenumber,
        result.external_did_sid,
        result.http_status,
        result.attempts,
    )


def _plain(result: RowResult) -> bool:
    """A row with nothing to say but its status and number (most rows of a large file)."""
    return (
        not result.issues
        and result.external_did_sid is None
        and result.http_status is None
        and result.attempts == 0
    )


class ErrorLines:
    """Makes errors CSV lines (`flatten.error_rows`): one text a row, "" for a row with none.

    Each line starts with its row number; what follows it is made once for rows that
    repeat the previous one's cells, status and issues.
    """

    def __init__(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> None:
        self._header = tuple(header)
        self._mapping = dict(mapping)
        self.delimiter = csv_delimiter(delimiter)

    def texts(self, results: Iterable[RowResult]) -> list[str]:
        """Each row's errors CSV lines, as one text."""
        texts = []
        previous: tuple[object, list[str]] = ((), [])  # (cells, status, issues), line tails
        for result in results:
            key = (result.row.cells, result.status, result.issues)
            if key != previous[0]:
                previous = (key, self._tails(result))
            number = str(result.row.number)
            if self.delimiter in number:  # a digit for a delimiter: quoted, as csv does
                number = f'"{number}"'
            texts.append("".join(number + tail for tail in previous[1]))
        return texts

    def _tails(self, result: RowResult) -> list[str]:
        """The row's lines without their first cell, the row number (each from its delimiter)."""
        lines = _LineList()
        write = csv.writer(lines, delimiter=self.delimiter).writerow
        for row in flatten.error_rows(self._header, result, self._mapping):
            write(csv_cells(row[1:]))
        return [self.delimiter + line for line in lines]


class ResultsSpool:
    """A results CSV in the making, with its errors CSV twin (`errors_path`).

    `finish` it, then move both files into place, or `discard` them.
    """

    def __init__(
        self,
        report_csv: Path,
        header: Sequence[str],
        delimiter: str | None,
        errors: tuple[Path, Mapping[str, str]],
    ) -> None:
        report_csv.parent.mkdir(parents=True, exist_ok=True)
        self.path = _hidden(report_csv)
        self.errors_path = _hidden(errors[0])
        self.maker = ResultLines(len(header), delimiter)
        self.error_maker = ErrorLines(header, errors[1], delimiter)
        self._errors = create_private(self.errors_path, ENCODING)
        try:
            self._handle = create_private(self.path, ENCODING)
        except BaseException:
            self._errors.close()
            self.errors_path.unlink(missing_ok=True)
            raise
        csv.writer(self._errors, delimiter=self.maker.delimiter).writerow(
            csv_cells(flatten.ERROR_COLUMNS)
        )
        self._header = tuple(header)
        self.width = len(header)
        self._wide: dict[int, int] = {}  # data line index -> its width, when past the header's
        self._lines = 0
        csv.writer(self._handle, delimiter=self.maker.delimiter).writerow(
            csv_cells(flatten.report_header(header, self.width))
        )

    def add_errors(self, texts: Iterable[str]) -> None:
        """Write rows' errors lines made by `ErrorLines`, after those written."""
        self._errors.write("".join(texts))

    def add_lines(self, lines: Sequence[str], wide: dict[int, int]) -> None:
        """Write lines made by `ResultLines` (with their `wide` map) after those written."""
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
        delimiter = self.maker.delimiter
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
