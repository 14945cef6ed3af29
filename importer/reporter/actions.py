"""The cells of a `plan`, `apply` or `delete` report, pure (design.md, "Keeping the
account in step with the sheet").

* `ResultColumns`: the `Results` columns of a report's mode. A `run` or `validate`
  report keeps `flatten.RESULT_COLUMNS`; a plan, apply or delete report adds `changes`
  after `status` (what differs, field by field: `plan.changes.describe`) and, when some
  row was replaced (`RowResult.extra["old_external_did_sid"]`), `old_external_did_sid`
  after `external_did_sid`.
* `delete_row`: a `Deletes` line, for a number the account holds and the sheet does not
  (a prune's row: `flatten.is_sheet_row` is False), with its record's fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from importer.mapping.aliases import CANONICAL_FIELDS
from importer.models import RowResult
from importer.plan.changes import describe
from importer.reporter import flatten
from importer.reporter.flatten import Cell
from importer.reporter.summary import ACTION_MODES

_T = TypeVar("_T")

CHANGES = "changes"
OLD_SID = "old_external_did_sid"
RECORD_FIELDS = (CANONICAL_FIELDS[0], "external_did_sid", *CANONICAL_FIELDS[1:])
"""A pruned number's record on the Deletes sheet: the template's fields, and its sid."""
DELETE_COLUMNS = (
    "status",
    *RECORD_FIELDS,
    "error_code",
    "error_message",
    "http_status",
    "attempts",
)
"""The `Deletes` sheet: the status, the record as the account held it, the outcome."""
NUMBER_COLUMNS = frozenset({"capabilities", "http_status", "attempts"})
"""The `Deletes` columns whose cells are numbers; the others are text-formatted."""


@dataclass(frozen=True, slots=True)
class ResultColumns:
    """The columns appended to the partner's in `Results`, and each line's cells."""

    changes: bool = False
    old_sid: bool = False

    @classmethod
    def of(cls, mode: str, results: Sequence[RowResult]) -> ResultColumns:
        """The columns of a `mode` report of `results`."""
        if mode not in ACTION_MODES:
            return cls()
        return cls(changes=True, old_sid=any(OLD_SID in result.extra for result in results))

    @property
    def names(self) -> tuple[str, ...]:
        """Our column titles, in order."""
        return tuple(self._spliced(list(flatten.RESULT_COLUMNS), CHANGES, OLD_SID))

    def index(self, name: str) -> int:
        """Where column `name` is among ours."""
        return self.names.index(name)

    def header(self, header: Sequence[str], width: int) -> list[str]:
        """The partner's header (blank names past it), then ours."""
        return [*flatten.original_header(header, width), *self.names]

    def row(self, result: RowResult, width: int) -> list[Cell]:
        """A `Results` line: the partner's cells padded to `width`, then ours."""
        cells = flatten.report_row(result, width)
        if not self.changes:
            return cells
        return [
            *cells[:width],
            *self._spliced(cells[width:], changes_cell(result), old_sid(result)),
        ]

    def _spliced(self, ours: list[_T], changes: _T, old: _T) -> list[_T]:
        """`ours` with `changes` after the status and `old` after the sid, where shown."""
        if not self.changes:
            return ours
        status, sid, rest = ours[0], ours[1], ours[2:]
        return [status, changes, sid, *([old] if self.old_sid else []), *rest]


def changes_cell(result: RowResult) -> str | None:
    """The `changes` cell: `field: old → new; …`, None when nothing differs."""
    planned = result.planned
    if planned is None or not planned.changes:
        return None
    return describe(planned.changes)


def old_sid(result: RowResult) -> str | None:
    """The sid a replace deleted (`extra["old_external_did_sid"]`), if any."""
    value = result.extra.get(OLD_SID)
    return value if isinstance(value, str) else None


def delete_row(result: RowResult) -> list[Cell]:
    """A `Deletes` line: status, the record's fields, the outcome's error and attempts."""
    record = result.planned.record if result.planned else None
    fields = {**(record or {})}
    fields.setdefault("phonenumber", result.normalized_phonenumber)
    if result.external_did_sid:
        fields.setdefault("external_did_sid", result.external_did_sid)
    codes, _, messages = flatten.issue_columns(result)
    return [
        result.status.value,
        *(record_cell(fields.get(name)) for name in RECORD_FIELDS),
        codes,
        messages,
        result.http_status,
        result.attempts,
    ]


def record_cell(value: object) -> Cell:
    """A record's value as a cell: text as is, a number as a number, the rest as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, Mapping | list | tuple | bool):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)
