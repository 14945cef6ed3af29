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

from importer.models import RowResult, SourceInfo, Status, needs_attention

Mode = Literal["validate", "run", "plan", "apply", "delete"]


class InputFacts(BaseModel):
    """What the loader read and detected."""

    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    format: str
    sheet: str | None = None
    encoding: str | None = None
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


def count_statuses(results: Sequence[RowResult]) -> dict[str, int]:
    """Rows per status, every status present (zero when unused), in contract order."""
    return status_counts(Counter(result.status for result in results))


def status_counts(counter: Mapping[Status, int]) -> dict[str, int]:
    """Counted statuses in contract order, every status present (zero when unused)."""
    return {status.value: counter.get(status, 0) for status in Status}


def exit_code_for(results: Sequence[RowResult]) -> int:
    """0 when every row ended well, 1 when some row needs attention (design.md)."""
    return 1 if any(needs_attention(result) for result in results) else 0


def input_facts(source: SourceInfo, data_rows: int, mapping: dict[str, str]) -> InputFacts:
    """Flatten the loader's `SourceInfo` for the summary."""
    return InputFacts(
        file=str(source.path),
        sha256=source.sha256,
        format=source.format,
        sheet=source.sheet,
        encoding=source.encoding,
        delimiter=source.delimiter,
        header_row=source.header_row,
        data_rows=data_rows,
        blank_rows=source.blank_rows,
        mapping=mapping,
    )
