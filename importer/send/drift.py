"""Drift after `run`: an `already_registered` number whose record differs from the sheet.

`run` only adds, but it must not hide that the account holds something else: the
`already_registered` rows are looked up in batches (the `lookup` operation, read-only)
and each whose record differs from a field the sheet sets gets the warning
`remote.differs`, naming the fields with their old and new values; such a row makes the
run exit 1 (`importer.reporter.summary.ATTENTION_WARNINGS`), and the hint points at plan/apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError
from importer.models import IssueType, RowResult, Severity, Status
from importer.plan.changes import describe, differences, wanted
from importer.send.remote import fetch_records

__all__ = ["REMOTE_DIFFERS", "flag_drift"]

REMOTE_DIFFERS = IssueType(
    "remote.differs",
    "+{number} is already registered ({sid}) with other values: {changes}",
    "run `did-import plan` on the file to see every difference, then `did-import apply`",
    Severity.WARNING,
)


async def flag_drift(
    results: Sequence[RowResult],
    settings: ApiSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[list[RowResult], ApiError | None]:
    """`results` with `remote.differs` on each drifted `already_registered` row."""
    numbers = [number for result in results if (number := _checked(result))]
    if not numbers:
        return list(results), None
    try:
        records = await fetch_records(list(dict.fromkeys(numbers)), settings, transport)
    except ApiError as error:
        return list(results), error
    return [_flagged(result, records) for result in results], None


def _checked(result: RowResult) -> str | None:
    """The number of a row to check: already registered now, with a payload."""
    fresh = not result.extra.get("from_journal")
    if result.status is Status.ALREADY_REGISTERED and result.payload is not None and fresh:
        return result.normalized_phonenumber
    return None


def _flagged(result: RowResult, records: dict[str, dict[str, object]]) -> RowResult:
    record = records.get(_checked(result) or "")
    if record is None or result.payload is None:
        return result
    changes = differences(wanted(result.payload, ()), record)
    if not changes:
        return result
    issue = REMOTE_DIFFERS.issue(
        field=changes[0].field,
        value=describe(changes),
        number=result.normalized_phonenumber,
        sid=record.get("external_did_sid"),
        changes=describe(changes),
    )
    return replace(result, issues=(*result.issues, issue))
