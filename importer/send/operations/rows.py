"""Small helpers the operations over a sheet's rows share."""

from __future__ import annotations

from dataclasses import replace

from importer.models import Issue, RowResult

__all__ = ["warn"]


def warn(result: RowResult, issue: Issue) -> RowResult:
    """`result` with one more issue (a warning: the status stays)."""
    return replace(result, issues=(*result.issues, issue))
