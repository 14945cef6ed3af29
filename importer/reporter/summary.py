"""The run summary: counts, input facts and timings, shared by the report and the JSON file.

`RunSummary` is a pydantic model so that `schemas/run_summary.schema.json` is generated
from it; `summarize` builds it from the pipeline's records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from importer.models import Issue, RowResult, Severity, SourceInfo, Status

Mode = Literal["validate", "run", "plan", "apply", "delete"]
"""What a run did: `validate` and `run` judge and register rows; `plan`, `apply` and
`delete` keep the account in step with the sheet (design.md)."""
ACTION_MODES: frozenset[str] = frozenset({"plan", "apply", "delete"})
"""The modes whose reports carry the `changes` column and the `Deletes` sheet."""

_S = Status
REGISTERING = (
    *(_S.WOULD_REGISTER, _S.REGISTERED, _S.ALREADY_REGISTERED, _S.INVALID, _S.DUPLICATE),
    *(_S.REJECTED, _S.FAILED, _S.NOT_ATTEMPTED),
)
PLANNING = (
    *(_S.WOULD_REGISTER, _S.UNCHANGED, _S.WOULD_UPDATE, _S.WOULD_REPLACE, _S.WOULD_DELETE),
    *(_S.BLOCKED, _S.INVALID, _S.DUPLICATE),
)
APPLYING = (
    *(_S.REGISTERED, _S.UNCHANGED, _S.UPDATED, _S.REPLACED, _S.DELETED, _S.NOT_FOUND),
    *(_S.ALREADY_REGISTERED, _S.BLOCKED, _S.INVALID, _S.DUPLICATE, _S.REJECTED, _S.FAILED),
    _S.NOT_ATTEMPTED,
)
DELETING = (
    *(_S.DELETED, _S.NOT_FOUND, _S.INVALID, _S.DUPLICATE, _S.REJECTED, _S.FAILED),
    _S.NOT_ATTEMPTED,
)
MODE_STATUSES: Mapping[str, tuple[Status, ...]] = {
    "validate": REGISTERING,
    "run": REGISTERING,
    "plan": PLANNING,
    "apply": APPLYING,
    "delete": DELETING,
}
"""Each mode's own statuses, in the order its counts are listed (and charted) first."""
ATTENTION_WARNINGS = frozenset({"remote.differs"})
"""Warning codes that still need the partner's attention: the row ends well, but it is
listed in Errors and the run exits 1 (an account record that differs from the sheet)."""


class InputFacts(BaseModel):
    """What the loader read and detected."""

    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    format: str
    sheet: str | None = None
    encoding: str | None = None
    encoding_detection: str | None = None
    encoding_confidence: float | None = None
    delimiter: str | None = None
    header_row: int
    data_rows: int
    blank_rows: int = 0
    mapping: dict[str, str] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """One run, as written to the Summary sheet and to `--summary-json`."""

    model_config = ConfigDict(frozen=True)

    tool: str = "did-import"
    tool_version: str
    phonenumbers_version: str
    mode: Mode
    input: InputFacts
    base_url: str | None = None
    counts: dict[str, int]
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    rows_per_second: float
    exit_code: int
    report_path: str | None = None
    stopped_reason: str | None = None


def count_statuses(results: Sequence[RowResult], mode: str = "run") -> dict[str, int]:
    """Rows per status, every status present (zero when unused), in `mode`'s order."""
    return status_counts(Counter(result.status for result in results), mode)


def status_counts(counter: Mapping[Status, int], mode: str = "run") -> dict[str, int]:
    """Counted statuses, every status present (zero when unused), in `mode`'s order."""
    return ordered_counts({status.value: counter.get(status, 0) for status in Status}, mode)


def ordered_counts(counts: Mapping[str, int], mode: str) -> dict[str, int]:
    """Every status (zero when absent): the mode's own first, then any other that
    occurred, then the other zeros, in contract order; any count we do not know last.

    A `run` or `validate` keeps the contract order of the statuses it can give.
    """
    charted = charted_statuses(counts, mode)
    rest = [status.value for status in Status if status.value not in charted]
    ordered = {name: counts.get(name, 0) for name in (*charted, *rest)}
    return ordered | {name: n for name, n in counts.items() if name not in ordered}


def charted_statuses(counts: Mapping[str, int], mode: str) -> list[str]:
    """The statuses a Summary chart shows: the mode's own, then any other that occurred."""
    own = [status.value for status in MODE_STATUSES.get(mode, tuple(Status))]
    others = [s.value for s in Status if s.value not in own and counts.get(s.value, 0)]
    return [*own, *others]


def needs_attention(result: RowResult) -> bool:
    """A row that did not end well, or carries a warning of `ATTENTION_WARNINGS`."""
    return not result.status.ended_well or bool(attention_warnings(result))


def attention_warnings(result: RowResult) -> tuple[Issue, ...]:
    """The row's warnings of `ATTENTION_WARNINGS` (most rows: none, at no cost)."""
    if not result.issues:
        return ()
    return tuple(
        issue
        for issue in result.issues
        if issue.severity is Severity.WARNING and issue.code in ATTENTION_WARNINGS
    )


def exit_code_for(results: Sequence[RowResult]) -> int:
    """0 when every row ended well, 1 when some row needs attention (design.md)."""
    return 1 if any(needs_attention(result) for result in results) else 0


def input_facts(source: SourceInfo, data_rows: int, mapping: dict[str, str]) -> InputFacts:
    """Flatten the loader's `SourceInfo` for the summary."""
    return InputFacts(
        file=source.file,
        sha256=source.sha256,
        format=source.format,
        sheet=source.sheet,
        encoding=source.encoding,
        encoding_detection=source.encoding_detection,
        encoding_confidence=source.encoding_confidence,
        delimiter=source.delimiter,
        header_row=source.header_row,
        data_rows=data_rows,
        blank_rows=source.blank_rows,
        mapping=mapping,
    )
