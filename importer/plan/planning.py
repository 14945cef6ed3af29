"""Plan valid rows against the account's records: what each number needs (design.md).

    not in the account                      → would_register
    the record matches every field set      → unchanged
    editable fields differ                  → would_update  (PATCH of those fields)
    capabilities / carrier differ           → would_replace (with --allow-replace) | blocked
    with --prune, an account number the
    sheet does not hold                     → would_delete  (a row of its own: `Deletes`)

Nothing here talks to the API: the records come from the remote check's lookups or the
account listing (`importer.send.remote`). Rows other than `would_register` pass
through unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from importer.models import Issue, IssueType, Planned, RawRow, RowResult, Severity, Status
from importer.plan.changes import (
    FIXED,
    action_of,
    describe,
    differences,
    patch_body,
    replacement_body,
    wanted,
)

__all__ = [
    "PLAN_BLOCKED",
    "PLAN_MESSAGING_LOST",
    "PlanOptions",
    "delete_row",
    "is_pruned",
    "messaging_enabled",
    "plan_deletes",
    "plan_row",
    "plan_rows",
    "prune_row_number",
    "pruned_rows",
]

PLAN_BLOCKED = IssueType(
    "plan.blocked",
    "{fields} cannot change on a registered number ({changes}): it must be deleted and "
    "registered again",
    "plan or apply again with --allow-replace, or make the sheet match the account",
)
PLAN_MESSAGING_LOST = IssueType(
    "plan.messaging_lost",
    "{sid} has messaging enabled; a replace registers a new record without it",
    "apply with --enable-messaging to enable it again on the new record",
    Severity.WARNING,
)

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """How far a plan goes (design.md's flags)."""

    prune: bool = False
    """Numbers the account holds and the sheet does not become `would_delete`."""
    allow_replace: bool = False
    """Capability or carrier changes become `would_replace` (else `blocked`)."""
    empty_clears: bool = False
    """An empty cell of a mapped column clears the field (else it is left alone)."""


def plan_rows(
    results: Iterable[RowResult],
    records: Mapping[str, Record],
    mapped: Collection[str],
    options: PlanOptions,
) -> list[RowResult]:
    """Every `would_register` row planned against `records` (by number); others as they are."""
    return [plan_row(result, records, mapped, options) for result in results]


def plan_row(
    result: RowResult, records: Mapping[str, Record], mapped: Collection[str], options: PlanOptions
) -> RowResult:
    """One row planned (see the module doc)."""
    if result.status is not Status.WOULD_REGISTER or result.payload is None:
        return result
    record = records.get(result.normalized_phonenumber or "")
    if record is None:
        return replace(result, planned=Planned(body=result.payload))
    fields = wanted(result.payload, mapped, empty_clears=options.empty_clears)
    changes = differences(fields, record)
    planned = Planned(record=record, changes=changes)
    status = action_of(planned, allow_replace=options.allow_replace)
    body = _body(status, planned, fields, record)
    if body is not None:
        planned = Planned(record=record, changes=changes, body=body)
    issues = result.issues + _issues(status, planned) if changes else result.issues
    return _planned(result, status, planned, issues)


def _planned(
    result: RowResult, status: Status, planned: Planned, issues: tuple[Issue, ...]
) -> RowResult:
    """`result` with its plan (built directly: `dataclasses.replace` costs twice as much,
    once per row of a 100,000-row plan)."""
    return RowResult(
        row=result.row,
        status=status,
        issues=issues,
        payload=result.payload,
        normalized_phonenumber=result.normalized_phonenumber,
        external_did_sid=planned.sid,
        http_status=result.http_status,
        attempts=result.attempts,
        extra=result.extra,
        planned=planned,
    )


def _body(
    status: Status, planned: Planned, fields: Mapping[str, object], record: Record
) -> Mapping[str, object] | None:
    if status is Status.WOULD_UPDATE:
        return patch_body(planned)
    if status is Status.WOULD_REPLACE:
        return replacement_body(fields, record)
    return None


def _issues(status: Status, planned: Planned) -> tuple[Issue, ...]:
    if status is Status.BLOCKED:
        fixed = [change for change in planned.changes if change.field in FIXED]
        return (
            PLAN_BLOCKED.issue(
                field=fixed[0].field,
                value=describe(tuple(fixed)),
                fields=" and ".join(change.field for change in fixed),
                changes=describe(tuple(fixed)),
            ),
        )
    if status is Status.WOULD_REPLACE and messaging_enabled(planned.record or {}):
        return (PLAN_MESSAGING_LOST.issue(sid=planned.sid),)
    return ()


def messaging_enabled(record: Record) -> bool:
    """Whether a record's messaging is on: its active capabilities are not 0 (carrierx-api.md)."""
    active = record.get("active_capabilities")
    return isinstance(active, int) and active != 0


def prune_row_number(digits: str) -> int:
    """The row number of an account number the sheet does not hold: its digits, negated.

    Negative, so it never meets a sheet row; derived from the number, so a resumed run
    journals the same number under the same row.
    """
    return -int(digits)


def is_pruned(result: RowResult) -> bool:
    """A planned delete of a number the sheet does not hold (no sheet row)."""
    return result.row.number < 0


def pruned_rows(account: Iterable[Record], held: Collection[str]) -> list[RowResult]:
    """A `would_delete` row for each record whose number is not in `held`, by number."""
    rows = [delete_row(record) for record in account if record.get("phonenumber") not in held]
    return sorted(rows, key=lambda result: result.normalized_phonenumber or "")


def delete_row(record: Record, row: RawRow | None = None) -> RowResult:
    """A `would_delete` row for `record` (a sheet row for `delete FILE`, else synthetic)."""
    digits = str(record["phonenumber"])
    return RowResult(
        row=row or RawRow(prune_row_number(digits), ()),
        status=Status.WOULD_DELETE,
        normalized_phonenumber=digits,
        external_did_sid=record.get("external_did_sid"),
        planned=Planned(record=record),
    )


def plan_deletes(results: Sequence[RowResult], records: Mapping[str, Record]) -> list[RowResult]:
    """`delete FILE`: each valid row's number held → `would_delete`; absent → `not_found`."""
    out = []
    for result in results:
        if result.status is not Status.WOULD_REGISTER:
            out.append(result)
            continue
        record = records.get(result.normalized_phonenumber or "")
        if record is None:
            out.append(replace(result, status=Status.NOT_FOUND, payload=None))
        else:
            planned = delete_row(record, result.row)
            out.append(replace(planned, issues=result.issues, payload=result.payload))
    return out
