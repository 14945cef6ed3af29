"""Every line of a report's CSV files, made the same way in any process.

`ResultLines` makes `Results` CSV lines (`flatten.report_row`), `ErrorLines` errors CSV
lines (`flatten.error_rows`), each exactly as `csvout.write_csv` would write them.
`ReportLines` bundles both for one input (its header, mapping and delimiter). The
validation stream (`importer.validate.streaming`) never imports the reporter: the run hands it
a `spool.SpoolTarget`, which makes its `ReportLines`; the stream sends those to its
helper process, so every line is made by this module whichever process makes it.

Each Results line is made at its row's own width: the header's, or the row's when a
ragged row has cells past the last column (the spool pads narrower lines at the end).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence

from importer.models import RowResult, Status
from importer.reporter import flatten
from importer.reporter.csvout import csv_cells, csv_delimiter

__all__ = ["ErrorLines", "LineBatch", "ReportLines", "ResultLines"]


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
        # the outcome cells are plain text and digits: nothing to neutralise
        self._write([*csv_cells(cells), *flatten.plain_outcome(status, number)])


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


class ReportLines:
    """The Results and errors CSV lines of one input's report (see the module doc)."""

    def __init__(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> None:
        self.header = tuple(header)
        self.mapping = dict(mapping)
        self.delimiter = delimiter
        self.results = ResultLines(len(self.header), delimiter)
        self.errors = ErrorLines(self.header, self.mapping, delimiter)

    @property
    def header_width(self) -> int:
        """How many columns the partner's header has."""
        return self.results.header_width

    def batch(self) -> LineBatch:
        """An empty batch of Results lines, to fill row by row."""
        return self.results.batch()

    def result_lines(self, results: Iterable[RowResult]) -> tuple[list[str], dict[int, int]]:
        """The rows' Results lines, and {index: width} of those wider than the header."""
        return self.results.lines(results)

    def error_texts(self, results: Iterable[RowResult]) -> list[str]:
        """Each row's errors CSV lines, as one text ("" for a row with none)."""
        return self.errors.texts(results)
