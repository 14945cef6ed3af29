"""The workbook's sheets, laid out from the flattened rows.

* `Results`: the partner's columns in their order and header text, row for row in
  input order, then ours; the status cell coloured, the partner's columns text-formatted.
* `Summary`: the headline, notes when something is elsewhere, counts (charted, under
  `Rows by status`), input facts, mapping, options set, where the files are, versions
  and timings; values left-aligned; printed one page wide with its chart.
* `Errors`: one line per problem of the rows needing attention.
* `Retry`: the rows worth sending again, in the original layout only (header text,
  columns), so `did-import run report.xlsx --sheet Retry` reads it; cells to fix are
  orange, and original columns are text-formatted so a retyped number stays exact.
* `Deletes` (plan and apply reports): the account's numbers the sheet does not hold,
  each with its record's fields (`actions.delete_row`); they have no line in Results.

A plan, apply or delete report's Results has the `changes` column (and, after a
replace, `old_external_did_sid`): `actions.ResultColumns`.

A sheet never holds more than `sheet_capacity()` lines, nor Errors more than the
report asks (`ReportFiles.errors_sheet_lines`): beyond that the lines are left to the
CSV twins and a note in Summary says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from importer.config import EXCEL_MAX_ROWS
from importer.models import RowResult
from importer.reporter import actions, flatten, items
from importer.reporter.actions import ResultColumns
from importer.reporter.flatten import Cell, Item
from importer.reporter.summary import RunSummary
from importer.reporter.workbook import Line, Sheet

RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"
ERRORS_SHEET = "Errors"
RETRY_SHEET = "Retry"
DELETES_SHEET = "Deletes"
DELETES_MODES = frozenset({"plan", "apply"})
"""The modes whose reports always have a Deletes sheet (any other: when it has lines)."""
NOTE_ITEM = "note"
CHANGE_ARROW = " → "
CHANGES_WIDTH = 60
"""The `changes` column's width: a longer text wraps (about one field a line)."""
ERROR_VALUE_AT = flatten.ERROR_COLUMNS.index("value")
MAX_SHEET_ROWS = EXCEL_MAX_ROWS


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportData:
    """What a report is made of: the partner's header, the results, the run summary."""

    header: Sequence[str]
    results: Sequence[RowResult]
    summary: RunSummary
    mapping: Mapping[str, str] | None = None
    options: Sequence[Item] = ()
    # A streamed run (`importer.validate.streaming`) keeps only the rows needing attention in
    # `results`; these say how many rows there were, the widest, and where their
    # Results lines and errors CSV lines already are.
    total_rows: int | None = None
    widest: int = 0
    results_spool: Path | None = None
    errors_spool: Path | None = None

    @property
    def used_mapping(self) -> dict[str, str]:
        """The mapping given, else the one the summary recorded."""
        return dict(self.summary.input.mapping if self.mapping is None else self.mapping)

    @property
    def result_columns(self) -> ResultColumns:
        """Our columns in Results (and its CSV twin), for this report's mode."""
        return ResultColumns.of(self.summary.mode, self.results)

    @property
    def has_deletes(self) -> bool:
        """True when the report has a Deletes sheet (and, with CSV twins, a deletes CSV)."""
        mode = self.summary.mode
        return mode in DELETES_MODES or any(not flatten.is_sheet_row(r) for r in self.results)

    @property
    def width(self) -> int:
        """How many original columns the report keeps."""
        return max(flatten.original_width(self.header, self.results), self.widest)


@dataclass(frozen=True, slots=True)
class SheetCounts:
    """How many lines each sheet would hold, counted before anything is written."""

    results: int
    errors: int
    retry: int
    deletes: int = 0
    attention: int = 0  # rows needing attention (`summary.needs_attention`)


def sheet_capacity() -> int:
    """Data lines a worksheet can hold under its header row."""
    return MAX_SHEET_ROWS - 1


def count_lines(data: ReportData) -> SheetCounts:
    """Count the Results, Errors and Retry lines of a report, and the rows needing
    attention (those with an Errors line)."""
    errors = attention = 0
    for result in data.results:
        lines = flatten.error_line_count(result)
        errors += lines
        attention += lines > 0
    retry = sum(1 for result in data.results if flatten.needs_retry(result))
    deletes = sum(1 for result in data.results if not flatten.is_sheet_row(result))
    total = len(data.results) - deletes if data.total_rows is None else data.total_rows
    return SheetCounts(
        results=total, errors=errors, retry=retry, deletes=deletes, attention=attention
    )


def results_sheet(data: ReportData) -> Sheet:
    """The partner's sheet with the answers filled in (only rows the sheet holds)."""
    width, columns = data.width, data.result_columns
    status_at = width + columns.index("status")
    changes_at = width + columns.index(actions.CHANGES) if columns.changes else -1
    ours = dict.fromkeys(range(width, width + len(columns.names)), "header_ours")
    lines = (
        _result_line(columns.row(result, width), result, status_at, changes_at)
        for result in data.results
        if flatten.is_sheet_row(result)
    )
    return Sheet(
        name=RESULTS_SHEET,
        columns=columns.header(data.header, width),
        lines=lines,
        header_styles=ours,
        column_styles=dict.fromkeys(range(width), "text"),
        narrow={changes_at: CHANGES_WIDTH} if changes_at >= 0 else {},
    )


def _result_line(cells: list[Cell], result: RowResult, status_at: int, changes_at: int) -> Line:
    styles = {status_at: f"status:{result.status.value}"}
    if changes_at >= 0 and cells[changes_at]:
        styles[changes_at] = "wrap"
    return Line(cells, styles)


def deletes_sheet(data: ReportData, *, capped: bool = True) -> Sheet:
    """The account's numbers the sheet does not hold: their record, what became of them.

    At most a sheet's worth of lines, unless not `capped` (its CSV twin).
    """
    lines = (
        Line(actions.delete_row(result), {0: f"status:{result.status.value}"})
        for result in data.results
        if not flatten.is_sheet_row(result)
    )
    columns = actions.DELETE_COLUMNS
    texts = [col for col, name in enumerate(columns) if name not in actions.NUMBER_COLUMNS]
    return Sheet(
        name=DELETES_SHEET,
        columns=columns,
        lines=_capped(lines) if capped else lines,
        column_styles=dict.fromkeys(texts, "text"),
    )


def errors_sheet(data: ReportData, max_lines: int | None = None) -> Sheet:
    """Only the rows needing attention, one line per problem: the first `max_lines` lines.

    At most (and by default) a sheet's worth (`lines_shown`).
    """
    status_at = flatten.ERROR_COLUMNS.index("status")
    mapping = data.used_mapping
    lines = (
        _error_line(line, status_at)
        for result in data.results
        for line in flatten.error_rows(data.header, result, mapping)
    )
    return Sheet(
        name=ERRORS_SHEET,
        columns=flatten.ERROR_COLUMNS,
        lines=islice(lines, lines_shown(max_lines)),
    )


def _error_line(cells: list[Cell], status_at: int) -> Line:
    """An Errors line; a value that reads `old → new` (a changes issue) wraps."""
    styles = {status_at: f"status:{cells[status_at]}"}
    value = cells[ERROR_VALUE_AT]
    if isinstance(value, str) and CHANGE_ARROW in value:
        styles[ERROR_VALUE_AT] = "wrap"
    return Line(cells, styles)


def retry_sheet(data: ReportData) -> Sheet:
    """The rows to send again, in the original layout; the cells to fix in orange."""
    width, mapping = data.width, data.used_mapping
    lines = (
        Line(
            flatten.retry_row(result, width),
            _retry_styles(width, flatten.problem_columns(data.header, result, mapping)),
        )
        for result in data.results
        if flatten.needs_retry(result)
    )
    return Sheet(
        name=RETRY_SHEET,
        columns=flatten.original_header(data.header, width),
        lines=_capped(lines),
        column_styles=dict.fromkeys(range(width), "text"),
    )


def _retry_styles(width: int, problems: set[int]) -> dict[int, str]:
    return {col: "fix" if col in problems else "text" for col in range(width)}


def summary_sheet(items: Sequence[Item], *, active: bool = False) -> Sheet:
    """The (item, value) pairs: the headline bold, notes in red, the status counts
    indented under their heading; every value left-aligned, numbers as text is.

    Printed one page wide whatever its width: the chart beside the items stays whole.
    """
    lines = (Line([name, value], _summary_styles(name)) for name, value in items)
    return Sheet(
        name=SUMMARY_SHEET,
        columns=flatten.SUMMARY_COLUMNS,
        lines=lines,
        column_styles={1: "left"},
        active=active,
        print_fit=True,
    )


def _summary_styles(name: str) -> dict[int, str]:
    if name in SUMMARY_STYLES:
        return dict(SUMMARY_STYLES[name])
    return {0: "indent"} if name in items.STATUS_NAMES else {}


SUMMARY_STYLES: Mapping[str, Mapping[int, str]] = {
    items.HEADLINE_ITEM: {0: "heading", 1: "headline"},
    NOTE_ITEM: {1: "note"},
    items.STATUS_HEADING: {0: "heading"},
}


def summary_items(
    data: ReportData, extra: Sequence[Item], attention: int | None = None
) -> list[Item]:
    """The headline, notes, then the flattened summary with `extra` items after the
    options; `attention`: the rows needing attention, for the headline."""
    notes = [item for item in extra if item[0] == NOTE_ITEM]
    others = [item for item in extra if item[0] != NOTE_ITEM]
    headline, *listed = items.summary_items(
        data.summary,
        data.used_mapping,
        header=data.header,
        options=data.options,
        attention=attention,
    )
    return [headline, *notes, *listed, *others]


def capped_note(sheet: str, shown: int, total: int, rest: str) -> Item:
    """A Summary note for a sheet that could not hold all its lines."""
    return (NOTE_ITEM, f"{sheet} shows the first {shown:,} of {total:,} lines; {rest}")


def lines_shown(max_lines: int | None) -> int:
    """The most lines a sheet shows: `max_lines`, never more than a sheet holds."""
    capacity = sheet_capacity()
    return capacity if max_lines is None else min(max_lines, capacity)


def _capped(lines: Iterable[Line]) -> Iterator[Line]:
    return islice(lines, sheet_capacity())


def cell_rows(sheet_lines: Iterable[Line]) -> Iterator[Sequence[Cell]]:
    """The bare cells of lines, for the CSV writer."""
    return (line.cells for line in sheet_lines)
