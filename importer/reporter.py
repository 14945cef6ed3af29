"""Reporter: the results workbook and the JSON summary.

Two layers, so that later writers (a CSV twin, a Retry sheet) reuse the first:

* flattening, pure: `original_width`, `report_header`, `report_row`, `error_rows` and
  `summary_items` turn the pipeline's records into plain rows of `Cell` values;
* rendering: `write_report` lays those rows out as `Results`, `Summary` and `Errors`
  sheets with xlsxwriter, every cell written with an explicit type, so that no cell is
  ever a formula, a hyperlink or a number guessed from text.

Error columns of the `Results` sheet: a row's error-severity issues are joined with
"; " (codes and messages one per issue, in order; fields once each). A row without
errors but with warnings shows its warnings there instead, each message prefixed
"warning: "; the codes stay bare so that filtering on a code still works.

Both files are written to a temporary file beside the target and moved onto it with
`os.replace`, so a reader never sees half a report.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from importer.errors import ConfigError
from importer.mapping import column_letter
from importer.models import Issue, RowResult, Status
from importer.summary import RunSummary

Cell = str | int | float | None

RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"
ERRORS_SHEET = "Errors"

RESULT_COLUMNS = (
    "status",
    "external_did_sid",
    "normalized_phonenumber",
    "error_code",
    "error_field",
    "error_message",
    "http_status",
    "attempts",
)
SUMMARY_COLUMNS = ("item", "value")
ERROR_COLUMNS = (
    "row",
    "column",
    "column_name",
    "status",
    "code",
    "field",
    "value",
    "message",
    "hint",
)

WORKBOOK_OPTIONS: dict[str, bool] = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
MAX_SHEET_ROWS = 1_048_576
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE_ROWS = 200
ISSUE_SEPARATOR = "; "
WARNING_PREFIX = "warning: "

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}


# -- flattening ---------------------------------------------------------------------
def original_width(header: Sequence[str], results: Iterable[RowResult]) -> int:
    """How many original columns the report keeps: the header or the widest row."""
    return max(chain([len(header)], (len(result.row.cells) for result in results)))


def report_header(header: Sequence[str], width: int) -> list[str]:
    """The partner's header as it was, blank names for extra cells, then ours."""
    return [*header, *[""] * (width - len(header)), *RESULT_COLUMNS]


def report_row(result: RowResult, width: int) -> list[Cell]:
    """One `Results` line: the original cells padded to `width`, then the outcome."""
    cells = result.row.cells
    if len(cells) > width:
        raise ValueError(f"row {result.row.number} has {len(cells)} cells, more than {width}")
    codes, fields, messages = _issue_columns(result)
    return [
        *cells,
        *[""] * (width - len(cells)),
        result.status.value,
        result.external_did_sid,
        result.normalized_phonenumber,
        codes,
        fields,
        messages,
        result.http_status,
        result.attempts,
    ]


def _issue_columns(result: RowResult) -> tuple[str, str, str]:
    issues, prefix = result.errors, ""
    if not issues:
        issues, prefix = result.warnings, WARNING_PREFIX
    fields = dict.fromkeys(issue.field for issue in issues if issue.field)
    return (
        ISSUE_SEPARATOR.join(issue.code for issue in issues),
        ISSUE_SEPARATOR.join(fields),
        ISSUE_SEPARATOR.join(prefix + issue.message for issue in issues),
    )


def error_rows(
    header: Sequence[str], result: RowResult, mapping: Mapping[str, str] | None = None
) -> list[list[Cell]]:
    """The `Errors` lines of a row: one per error issue, none if the row ended well.

    A row that did not end well but carries no error issue still gets one line, so
    every row needing attention is listed. `mapping` (field → header) places issues
    that name a field but no column.
    """
    if result.status.ended_well and not result.errors:
        return []
    issues: Sequence[Issue | None] = result.errors or (None,)
    return [_error_line(header, result, issue, mapping or {}) for issue in issues]


def _error_line(
    header: Sequence[str], result: RowResult, issue: Issue | None, mapping: Mapping[str, str]
) -> list[Cell]:
    status, number = result.status.value, result.row.number
    if issue is None:
        return [number, "", "", status, "", "", "", "", ""]
    index = _column_index(header, issue, mapping)
    letter = column_letter(index) if index is not None else ""
    name = header[index] if index is not None else issue.column
    value = issue.value
    if value is None and index is not None and index < len(result.row.cells):
        value = result.row.cells[index]
    return [number, letter, name, status, issue.code, issue.field, value, issue.message, issue.hint]


def _column_index(header: Sequence[str], issue: Issue, mapping: Mapping[str, str]) -> int | None:
    name = issue.column
    if name is None and issue.field is not None:
        name = mapping.get(issue.field)
    if name is None or name not in header:
        return None
    return list(header).index(name)


def summary_items(
    summary: RunSummary, mapping: Mapping[str, str] | None = None
) -> list[tuple[str, Cell]]:
    """The `Summary` sheet as (item, value) pairs; `mapping` overrides the summary's."""
    facts = summary.input
    used = summary.input.mapping if mapping is None else mapping
    return [
        ("rows", sum(summary.counts.values())),
        *((f"status: {status}", count) for status, count in _all_counts(summary).items()),
        ("mode", summary.mode),
        ("input: file", facts.file),
        ("input: sha256", facts.sha256),
        ("input: format", facts.format),
        ("input: sheet", facts.sheet),
        ("input: encoding", facts.encoding),
        ("input: delimiter", _describe_delimiter(facts.delimiter)),
        ("input: header row", facts.header_row),
        ("input: data rows", facts.data_rows),
        ("input: blank rows", facts.blank_rows),
        *((f"mapping: {field}", header) for field, header in used.items()),
        *_run_items(summary),
    ]


def _all_counts(summary: RunSummary) -> dict[str, int]:
    """Every status in contract order (zero when absent), then any count we do not know."""
    return {status.value: 0 for status in Status} | summary.counts


def _run_items(summary: RunSummary) -> list[tuple[str, Cell]]:
    return [
        ("base url", redact_url(summary.base_url)),
        ("tool", summary.tool),
        ("tool version", summary.tool_version),
        ("phonenumbers version", summary.phonenumbers_version),
        ("started at", summary.started_at.isoformat()),
        ("finished at", summary.finished_at.isoformat()),
        ("duration (s)", round(summary.duration_seconds, 3)),
        ("rows per second", round(summary.rows_per_second, 1)),
        ("exit code", summary.exit_code),
        ("stopped reason", summary.stopped_reason),
    ]


def _describe_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None or delimiter not in _DELIMITER_NAMES:
        return delimiter
    return f"{_DELIMITER_NAMES[delimiter]} ({delimiter!r})"


def redact_url(url: str | None) -> str | None:
    """The URL without user, password, query or fragment: nothing secret is reported."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# -- rendering ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Table:
    """One sheet: its name, column titles and rows (consumed once, in order)."""

    name: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Cell]]


def default_report_path(input_path: Path, report_dir: Path) -> Path:
    """Where the report goes when no --report is given: `<dir>/<stem>.results.xlsx`."""
    return report_dir / f"{input_path.stem}.results.xlsx"


def write_report(
    path: Path,
    header: Sequence[str],
    results: Sequence[RowResult],
    summary: RunSummary,
    *,
    mapping: Mapping[str, str] | None = None,
) -> Path:
    """Write the results workbook (Results, Summary, Errors) atomically; return its path.

    Raises `ConfigError` when `path` is the input file, when the rows do not fit in one
    sheet, or when the file cannot be written.
    """
    _refuse_input(path, summary, "report")
    if len(results) >= MAX_SHEET_ROWS:
        raise ConfigError(f"{path}: {len(results)} rows do not fit in one sheet of a workbook")
    used = summary.input.mapping if mapping is None else mapping
    width = original_width(header, results)
    tables = [
        _Table(
            RESULTS_SHEET,
            report_header(header, width),
            (report_row(result, width) for result in results),
        ),
        _Table(SUMMARY_SHEET, SUMMARY_COLUMNS, summary_items(summary, used)),
        _Table(
            ERRORS_SHEET,
            ERROR_COLUMNS,
            chain.from_iterable(error_rows(header, result, used) for result in results),
        ),
    ]
    return _write_atomically(path, "report", lambda target: _render_workbook(target, tables))


def write_summary_json(path: Path, summary: RunSummary) -> Path:
    """Write the run summary as JSON atomically (base URL redacted); return its path."""
    _refuse_input(path, summary, "summary")
    safe = summary.model_copy(update={"base_url": redact_url(summary.base_url)})
    text = safe.model_dump_json(indent=2) + "\n"

    def write(target: Path) -> None:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)

    return _write_atomically(path, "summary", write)


def _render_workbook(target: Path, tables: Sequence[_Table]) -> None:
    workbook = xlsxwriter.Workbook(str(target), WORKBOOK_OPTIONS)
    try:
        bold = workbook.add_format({"bold": True})
        for table in tables:
            _write_table(workbook.add_worksheet(table.name), table, bold)
    except BaseException:
        with suppress(OSError, XlsxWriterException):
            workbook.close()  # releases constant_memory's temporary files
        raise
    workbook.close()


def _write_table(sheet: Worksheet, table: _Table, header_format: Format) -> None:
    """Write a table row by row (constant_memory needs rows in order), then lay it out."""
    rows = iter(table.rows)
    sample = list(islice(rows, WIDTH_SAMPLE_ROWS))
    for col, width in enumerate(_column_widths(table.columns, sample)):
        sheet.set_column(col, col, width)
    for col, title in enumerate(table.columns):
        sheet.write_string(0, col, title, header_format)
    last = 0
    for last, row in enumerate(chain(sample, rows), start=1):
        _write_row(sheet, last, row)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last, len(table.columns) - 1)


def _write_row(sheet: Worksheet, index: int, row: Sequence[Cell]) -> None:
    for col, value in enumerate(row):
        if isinstance(value, str):
            if value:
                sheet.write_string(index, col, value)
        elif value is not None:
            sheet.write_number(index, col, value)


def _column_widths(columns: Sequence[str], sample: Sequence[Sequence[Cell]]) -> list[int]:
    widths = [len(title) for title in columns]
    for row in sample:
        for col, value in enumerate(row[: len(widths)]):
            if value is not None:
                widths[col] = max(widths[col], len(str(value)))
    return [min(max(width + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH) for width in widths]


# -- files --------------------------------------------------------------------------
def _refuse_input(path: Path, summary: RunSummary, what: str) -> None:
    if _same_file(path, Path(summary.input.file)):
        raise ConfigError(f"{path}: the {what} would overwrite the input file; choose another path")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


def _write_atomically(path: Path, what: str, write: Callable[[Path], None]) -> Path:
    """Call `write` on a fresh temporary name beside `path`, then move it onto `path`."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except (OSError, XlsxWriterException) as error:
        raise ConfigError(f"{path}: cannot write the {what} ({_reason(error)})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    cause = error.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error) or type(error).__name__
