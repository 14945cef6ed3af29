"""Flattening, pure: the pipeline's records as plain rows of `Cell` values.

Every writer (the workbook, the CSV twins) lays out the same rows, so a report reads
the same in every format:

* `report_header` / `report_row`: the `Results` lines, the partner's cells then ours;
* `error_rows`: the `Errors` lines, one per error issue of a row needing attention;
* `retry_row` / `needs_retry`: the `Retry` lines, the partner's cells only;
* (`items`: the `Summary` sheet as (item, value) pairs; `actions`: the cells of a
  plan, apply or delete report.)

Error columns of a `Results` line: a row's error-severity issues are joined with
"; " (codes and messages one per issue, in order; fields once each). A row without
errors but with warnings shows its warnings there instead, each message prefixed
"warning: "; the codes stay bare so that filtering on a code still works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain

from importer.mapping import column_letter
from importer.models import Issue, RowResult, Status
from importer.reporter.summary import attention_warnings, needs_attention

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
# Rows worth sending again once fixed (design.md: rejected and duplicate rows are final;
# a blocked row goes once the replace is allowed, or its fixed cells match the account).
RETRY_STATUSES = frozenset({Status.INVALID, Status.FAILED, Status.NOT_ATTEMPTED, Status.BLOCKED})
ISSUE_SEPARATOR = "; "
WARNING_PREFIX = "warning: "


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
    codes, fields, messages = issue_columns(result)
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


def issue_columns(result: RowResult) -> tuple[str, str, str]:
    """A row's `error_code`, `error_field` and `error_message` cells (see the module doc)."""
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
    """True for a sheet row that can be sent again: failed, not attempted, blocked, or
    invalid (once fixed). A number the sheet does not hold (`is_sheet_row`) never is."""
    return result.status in RETRY_STATUSES and is_sheet_row(result)


def is_sheet_row(result: RowResult) -> bool:
    """False for a row a plan added for an account number the sheet does not hold (a
    prune's delete: its row number is negative, its cells empty)."""
    return result.row.number >= 0


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
    """The `Errors` lines of a row: one per error issue (and warning that needs
    attention, `summary.ATTENTION_WARNINGS`), none if the row ended well without them.

    A row that did not end well but carries no error issue still gets one line, so
    every row needing attention is listed. `mapping` (field → header) places issues
    that name a field but no column.
    """
    issues = listed_issues(result)
    if not issues and result.status.ended_well:
        return []
    return [_error_line(header, result, issue, mapping or {}) for issue in issues or (None,)]


def listed_issues(result: RowResult) -> tuple[Issue, ...]:
    """The issues a row's Errors lines show: its errors, then its attention warnings."""
    return (*result.errors, *attention_warnings(result))


def error_line_count(result: RowResult) -> int:
    """How many lines `error_rows` gives the row, without making them."""
    if not result.issues:
        return 0 if result.status.ended_well else 1
    return len(listed_issues(result)) or int(needs_attention(result))


def _error_line(
    header: Sequence[str], result: RowResult, issue: Issue | None, mapping: Mapping[str, str]
) -> list[Cell]:
    status = result.status.value
    number = result.row.number if is_sheet_row(result) else None
    if issue is None:
        return [number, "", "", status, "", "", "", _account_number(result), "", ""]
    if number is None:  # an account number the sheet does not hold: no cell to point at
        normalized = issue.normalized or _account_number(result)
        return [
            None,
            "",
            "",
            status,
            issue.code,
            issue.field,
            issue.value,
            normalized,
            *(issue.message, issue.hint),
        ]
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


def _account_number(result: RowResult) -> str:
    """The number of a row the sheet does not hold, for its Errors lines ("" for a sheet row)."""
    return "" if is_sheet_row(result) else result.normalized_phonenumber or ""


def _column_index(header: Sequence[str], issue: Issue, mapping: Mapping[str, str]) -> int | None:
    name = issue.column
    if name is None and issue.field is not None:
        name = mapping.get(issue.field)
    if name is None or name not in header:
        return None
    return list(header).index(name)
