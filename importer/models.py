"""The records that travel between pipeline stages.

loader → `RawRow` (text cells + the row number the partner sees) and `SourceInfo`;
validation → `RowResult` (payload or issues); the uploader returns the same `RowResult`
with its outcome filled in; the reporter flattens `RowResult` into report rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType


class Status(StrEnum):
    """Per-row outcome, as written in the report's `status` column."""

    WOULD_REGISTER = "would_register"
    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"
    # keeping the account in step with the sheet (`plan`, `apply`, `delete`): a plan's
    # actions, then what `apply` made of them
    UNCHANGED = "unchanged"
    WOULD_UPDATE = "would_update"
    WOULD_REPLACE = "would_replace"
    WOULD_DELETE = "would_delete"
    BLOCKED = "blocked"
    UPDATED = "updated"
    REPLACED = "replaced"
    DELETED = "deleted"
    NOT_FOUND = "not_found"

    @property
    def ended_well(self) -> bool:
        """True for the statuses that let a run exit 0."""
        return self in _ENDED_WELL


_ENDED_WELL = frozenset(
    {
        Status.WOULD_REGISTER,
        Status.REGISTERED,
        Status.ALREADY_REGISTERED,
        Status.UNCHANGED,
        Status.WOULD_UPDATE,
        Status.WOULD_REPLACE,
        Status.WOULD_DELETE,
        Status.UPDATED,
        Status.REPLACED,
        Status.DELETED,
        Status.NOT_FOUND,
    }
)
PLANNED_WRITES = frozenset(
    {Status.WOULD_REGISTER, Status.WOULD_UPDATE, Status.WOULD_REPLACE, Status.WOULD_DELETE}
)
"""The statuses of rows a run will write for (what the journal tracks, row by row)."""


class Severity(StrEnum):
    """An error makes a row invalid; a warning is reported and the row still goes."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem with one row: a stable code, where it is, and how to fix it."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    field: str | None = None
    column: str | None = None
    value: str | None = None
    normalized: str | None = None
    hint: str | None = None

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickled as a plain tuple: 4x cheaper across processes than the dataclass default."""
        fields = (self.code, self.message, self.severity, self.field, self.column)
        return _issue, (*fields, self.value, self.normalized, self.hint)


def _issue(*values: object) -> Issue:
    return Issue(**dict(zip(Issue.__slots__, values, strict=True)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RawRow:
    """A data row as text cells, aligned with the header, and its sheet row number."""

    number: int
    cells: tuple[str, ...]

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickled as a plain tuple (see `Issue.__reduce__`)."""
        return RawRow, (self.number, self.cells)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    """What the loader read and detected, for the report's Summary sheet.

    `sha256` and `blank_rows` (and a CSV's `encoding`, which may fall back from UTF-8 to
    a detected code page late in the file) are final only once `LoadedFile.rows` has
    been read to the end; until then `sha256` may be "". A detected encoding comes with
    `encoding_detection` (how, from what, how sure) and `encoding_confidence` (0 to 1).

    `path` is the file read; `given`, the input as the user named it (`-`, `/dev/stdin`,
    `/dev/fd/63`) when `path` is a private copy of it (`importer.loader.piped`). `file`
    is what summaries, the journal and a saved plan name.
    """

    path: Path
    format: str
    sha256: str
    header: tuple[str, ...]
    header_row: int
    sheet: str | None = None
    encoding: str | None = None
    encoding_detection: str | None = None
    encoding_confidence: float | None = None
    delimiter: str | None = None
    blank_rows: int = 0
    given: str | None = None

    @property
    def file(self) -> str:
        """The input as the user named it: `given`, else `path`."""
        return self.given or str(self.path)


@dataclass(slots=True, eq=False, weakref_slot=True)
class LoadedFile:
    """The loader's answer: what it detected, and the data rows in sheet order.

    `rows` is a one-pass iterator that reads the file as it is consumed, so memory stays
    bounded whatever the file's size. When it is exhausted the loader replaces `source`
    with the final facts (see `SourceInfo`) and sets `complete`.
    """

    source: SourceInfo
    rows: Iterator[RawRow]
    complete: bool = False


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field the account holds otherwise than the sheet wants: `old` → `new`."""

    field: str
    old: object
    new: object


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """What a plan found in the account for a row's number, and what it changes.

    `record` is the account's record as it was when planned (None: not in the
    account); `changes` the fields that differ, in canonical order; `body` what the
    write sends (an update's PATCH: the differing fields only; a replace's POST: the
    record's fields with the sheet's over them; none for a delete).
    """

    record: Mapping[str, object] | None = None
    changes: tuple[FieldChange, ...] = ()
    body: Mapping[str, object] | None = None

    @property
    def sid(self) -> str | None:
        """The planned record's `external_did_sid`, if there is a record."""
        sid = (self.record or {}).get("external_did_sid")
        return sid if isinstance(sid, str) else None


NO_EXTRA: Mapping[str, object] = MappingProxyType({})  # shared: 64 bytes less a result


@dataclass(frozen=True, slots=True, kw_only=True)
class RowResult:
    """Everything known about one row; each stage returns an updated copy."""

    row: RawRow
    status: Status
    issues: tuple[Issue, ...] = ()
    payload: Mapping[str, object] | None = None
    normalized_phonenumber: str | None = None
    external_did_sid: str | None = None
    http_status: int | None = None
    attempts: int = 0
    extra: Mapping[str, object] = field(default_factory=lambda: NO_EXTRA)
    planned: Planned | None = None
    """Set by a plan (`importer.plan`): the account's record and the changes."""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickled as a plain tuple (see `Issue.__reduce__`)."""
        judged = (self.row, self.status, self.issues, self.payload, self.normalized_phonenumber)
        extra = (
            None if self.extra is NO_EXTRA else self.extra
        )  # a mappingproxy cannot cross processes
        outcome = (self.external_did_sid, self.http_status, self.attempts, extra, self.planned)
        return _row_result, (*judged, *outcome)

    @property
    def errors(self) -> tuple[Issue, ...]:
        """The issues of severity error (what makes a row need attention)."""
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """The issues of severity warning."""
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)


def _row_result(*values: object) -> RowResult:
    fields = dict(zip(RowResult.__slots__, values, strict=True))
    if fields["extra"] is None:
        fields["extra"] = NO_EXTRA
    return RowResult(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class IssueType:
    """A kind of problem: its code, severity, message template and fix hint."""

    code: str
    template: str
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def issue(
        self,
        *,
        field: str | None = None,
        column: str | None = None,
        value: str | None = None,
        normalized: str | None = None,
        **params: object,
    ) -> Issue:
        """Make an `Issue` of this type; `params` fill the message template."""
        return Issue(
            code=self.code,
            message=self.template.format(value=value, normalized=normalized, **params),
            severity=self.severity,
            field=field,
            column=column,
            value=value,
            normalized=normalized,
            hint=self.hint,
        )
