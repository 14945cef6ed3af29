"""Flattening, pure: the pipeline's records as plain rows of `Cell` values.

Every writer (the workbook, the CSV twins) lays out the same rows, so a report reads
the same in every format:

* `report_header` / `report_row`: the `Results` lines, the partner's cells then ours;
* `error_rows`: the `Errors` lines, one per error issue of a row needing attention;
* `retry_row` / `needs_retry`: the `Retry` lines, the partner's cells only;
* `summary_items`: the `Summary` sheet as (item, value) pairs.

Error columns of a `Results` line: a row's error-severity issues are joined with
"; " (codes and messages one per issue, in order; fields once each). A row without
errors but with warnings shows its warnings there instead, each message prefixed
"warning: "; the codes stay bare so that filtering on a code still works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from urllib.parse import urlsplit, urlunsplit

from importer.config import Settings
from importer.mapping import column_letter
from importer.models import Issue, RowResult, Status, attention_issues
from importer.reporter.summary import RunSummary

Cell = str | int | float | None
Item = tuple[str, Cell]

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
    "normalized_value",
    "message",
    "hint",
)
# Rows worth sending again once fixed (design.md: rejected and duplicate rows are final).
RETRY_STATUSES = frozenset({Status.INVALID, Status.FAILED, Status.NOT_ATTEMPTED})
ISSUE_SEPARATOR = "; "
WARNING_PREFIX = "warning: "
STATUS_ITEM_PREFIX = "status: "
COMPOSED_SUFFIX, COMPOSED_JOIN = " columns", " + "  # how ColumnMapping.describe() composes

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}


# -- Results -------------------------------------------------------------------------
def original_width(header: Sequence[str], results: Iterable[RowResult]) -> int:
    """How many original columns the report keeps: the header or the widest row."""
    return max(chain([len(header)], (len(result.row.cells) for result in results)))


def original_header(header: Sequence[str], width: int) -> list[str]:
    """The partner's header as it was, with blank names for cells beyond it."""
    return [*header, *[""] * (width - len(header))]


def report_header(header: Sequence[str], width: int) -> list[str]:
    """The partner's header as it was, blank names for extra cells, then ours."""
    return [*original_header(header, width), *RESULT_COLUMNS]


def report_row(result: RowResult, width: int) -> list[Cell]:
    """One `Results` line: the original cells padded to `width`, then the outcome."""
    codes, fields, messages = _issue_columns(result)
    return [
        *retry_row(result, width),
        result.status.value,
        result.external_did_sid,
        result.normalized_phonenumber,
        codes,
        fields,
        messages,
        result.http_status,
        result.attempts,
    ]


def plain_outcome(status: Status, number: str | None) -> list[Cell]:
    """`report_row`'s outcome cells, as text, for a row with no issue, sid or HTTP status
    (the hot path of a large file: no `RowResult` is made for such a row)."""
    return [status.value, "", number or "", "", "", "", "", 0]


def _issue_columns(result: RowResult) -> tuple[str, str, str]:
    if not result.issues:
        return "", "", ""  # most rows: no tuple of errors or warnings to build
    issues, prefix = result.errors, ""
    if not issues:
        issues, prefix = result.warnings, WARNING_PREFIX
    fields = dict.fromkeys(issue.field for issue in issues if issue.field)
    return (
        ISSUE_SEPARATOR.join(issue.code for issue in issues),
        ISSUE_SEPARATOR.join(fields),
        ISSUE_SEPARATOR.join(prefix + issue.message for issue in issues),
    )


# -- Retry ---------------------------------------------------------------------------
def needs_retry(result: RowResult) -> bool:
    """True for a row that can be sent again: failed, not attempted, or invalid (once fixed)."""
    return result.status in RETRY_STATUSES


def retry_row(result: RowResult, width: int) -> list[Cell]:
    """The partner's cells of a row, padded to `width`: a line of the original layout."""
    cells = result.row.cells
    if len(cells) > width:
        raise ValueError(f"row {result.row.number} has {len(cells)} cells, more than {width}")
    return [*cells, *[""] * (width - len(cells))]


def problem_columns(
    header: Sequence[str], result: RowResult, mapping: Mapping[str, str]
) -> set[int]:
    """Indexes of the original columns an error issue of the row points at."""
    found = (_column_index(header, issue, mapping) for issue in result.errors)
    return {index for index in found if index is not None}


# -- Errors --------------------------------------------------------------------------
def error_rows(
    header: Sequence[str], result: RowResult, mapping: Mapping[str, str] | None = None
) -> list[list[Cell]]:
    """The `Errors` lines of a row: one per error issue, none if the row ended well.

    A row that did not end well but carries no error issue still gets one line, so
    every row needing attention is listed. `mapping` (field → header) places issues
    that name a field but no column.
    """
    listed = attention_issues(result)
    if result.status.ended_well and not listed:
        return []
    issues: Sequence[Issue | None] = listed or (None,)
    return [_error_line(header, result, issue, mapping or {}) for issue in issues]


def error_line_count(result: RowResult) -> int:
    """How many lines `error_rows` gives the row, without making them."""
    errors = attention_issues(result)
    if result.status.ended_well and not errors:
        return 0
    return len(errors) or 1


def _error_line(
    header: Sequence[str], result: RowResult, issue: Issue | None, mapping: Mapping[str, str]
) -> list[Cell]:
    status, number = result.status.value, result.row.number
    if issue is None:
        return [number, "", "", status, "", "", "", "", "", ""]
    index = _column_index(header, issue, mapping)
    letter = column_letter(index) if index is not None else ""
    name = header[index] if index is not None else issue.column
    value = issue.value
    if value is None and index is not None and index < len(result.row.cells):
        value = result.row.cells[index]
    return [
        *(number, letter, name, status, issue.code, issue.field),
        *(value, issue.normalized, issue.message, issue.hint),
    ]


def _column_index(header: Sequence[str], issue: Issue, mapping: Mapping[str, str]) -> int | None:
    name = issue.column
    if name is None and issue.field is not None:
        name = mapping.get(issue.field)
    if name is None or name not in header:
        return None
    return list(header).index(name)


# -- Summary -------------------------------------------------------------------------
def summary_items(
    summary: RunSummary,
    mapping: Mapping[str, str] | None = None,
    *,
    header: Sequence[str] = (),
    options: Sequence[Item] = (),
) -> list[Item]:
    """The `Summary` sheet as (item, value) pairs; `mapping` overrides the summary's.

    The counts come first, in contract order, so a chart can point at them. A mapped
    column is shown with its letter ("Phone Number (column A)") when `header` is given.
    """
    used = summary.input.mapping if mapping is None else mapping
    return [
        ("rows", sum(summary.counts.values())),
        *((STATUS_ITEM_PREFIX + status, count) for status, count in all_counts(summary).items()),
        ("mode", summary.mode),
        *_input_items(summary),
        *((f"mapping: {field}", _describe_column(name, header)) for field, name in used.items()),
        *((f"option: {name}", value) for name, value in options),
        *_run_items(summary),
    ]


def all_counts(summary: RunSummary) -> dict[str, int]:
    """Every status in contract order (zero when absent), then any count we do not know."""
    return {status.value: 0 for status in Status} | summary.counts


def _input_items(summary: RunSummary) -> list[Item]:
    facts = summary.input
    return [
        ("input: file", facts.file),
        ("input: sha256", facts.sha256),
        ("input: format", facts.format),
        ("input: sheet", facts.sheet),
        ("input: encoding", facts.encoding),
        ("input: delimiter", describe_delimiter(facts.delimiter)),
        ("input: header row", facts.header_row),
        ("input: data rows", facts.data_rows),
        ("input: blank rows", facts.blank_rows),
    ]


def _run_items(summary: RunSummary) -> list[Item]:
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


def report_options(settings: Settings, *, sends: bool) -> list[Item]:
    """The options a run used, for the `Summary` sheet; API options only when it `sends`.

    The token is never among them, and a default callback URL is shown redacted.
    """
    columns = ", ".join(f"{field}={name}" for field, name in settings.input.columns.items())
    defaults, report = settings.defaults, settings.report
    items: list[Item] = [
        ("sheet", settings.input.sheet),
        ("encoding", settings.input.encoding),
        ("delimiter", describe_delimiter(settings.input.delimiter)),
        ("columns", columns or None),
        ("default region", defaults.default_region),
        ("capabilities", defaults.capabilities),
        ("carrier sid", defaults.carrier_sid),
        ("callback url", redact_url(defaults.callback_url)),
        ("report format", report.report_format),
        ("workbook row limit", report.workbook_row_limit),
    ]
    if sends:
        items += _api_options(settings)
    return items


def _api_options(settings: Settings) -> list[Item]:
    api = settings.api
    return [
        ("concurrency", api.concurrency),
        ("rate (requests/s)", api.rate),
        ("timeout (s)", api.timeout),
        ("max attempts", api.max_attempts),
        ("backoff base (s)", api.backoff_base),
        ("backoff max (s)", api.backoff_max),
    ]


def _describe_column(name: str, header: Sequence[str]) -> str:
    """Header text with its letter; never the bare text, so no loader takes it for a header."""
    if not header:
        return name
    if name in header:
        return f"{name} (column {column_letter(list(header).index(name))})"
    composed = _composed_columns(name, header)
    if composed:
        return f"{name} ({', '.join(column_letter(index) for index in composed)})"
    return f"{name} (column not found)"


def _composed_columns(name: str, header: Sequence[str]) -> list[int]:
    """Indexes of a composed field's columns ("SMS + MMS columns"), [] if not one."""
    if not name.endswith(COMPOSED_SUFFIX):
        return []
    names = name.removesuffix(COMPOSED_SUFFIX).split(COMPOSED_JOIN)
    if not all(part in header for part in names):
        return []
    return [list(header).index(part) for part in names]


def describe_delimiter(delimiter: str | None) -> str | None:
    """Invisible or ambiguous delimiters named: "semicolon (';')"."""
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
