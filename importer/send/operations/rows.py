"""Small helpers the operations over a sheet's rows share."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from importer.models import Issue, RowResult, Status
from importer.send.steps import Tally

__all__ = ["finished", "warn"]


def warn(result: RowResult, issue: Issue) -> RowResult:
    """`result` with one more issue (a warning: the status stays)."""
    return replace(result, issues=(*result.issues, issue))


def finished(
    item: RowResult, tally: Tally, status: Status, issue: Issue | None = None, **changes: Any
) -> RowResult:
    """`item` ended `status`: its tally's attempts and last HTTP status, `issue` added."""
    issues = item.issues + ((issue,) if issue is not None else ())
    return replace(
        item,
        status=status,
        issues=issues,
        attempts=tally.attempts,
        http_status=tally.last_status,
        **changes,
    )
