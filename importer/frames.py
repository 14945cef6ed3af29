"""DataFrames in, DataFrames out: `validate_frame` and `run_frame`, for data teams.

Airflow tasks and notebooks hold numbers in pandas DataFrames, not files::

    from importer.config import build_settings
    from importer.frames import run_frame, validate_frame

    settings = build_settings(environ=os.environ)
    checked = validate_frame(numbers, settings)
    print(checked.results[["Phone Number", "status", "error_message"]])
    done = run_frame(numbers, settings, report=Path("reports/numbers.results.xlsx"))
    assert done.exit_code in (0, 1), done.summary.stopped_reason

The frame's columns are its header, mapped as a sheet's header is (`Phone Number`,
`Capabilities`, … or `[input] columns`); each row is judged and sent exactly as the same
row of a file would be. Under the hood the frame is written to a private temporary CSV
(each cell as the text a sheet would hold: blank for NaN/None/NA, a whole float without
its `.0`), which then runs as any file, so the journal resumes an interrupted
`run_frame` of the same frame. `results` has one row per input row, indexed like the
input: the frame's columns, then the report's Results columns (`status`,
`external_did_sid`, `normalized_phonenumber`, `error_code`, …). With `report=PATH` the
usual report is written there too; without it none is left behind.

pandas is an optional extra (`pip install 'did-import[pandas]'`): only this module
imports it, never the command line.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from importer.api import run_import, validate_file
from importer.config import EXCEL_MAX_ROWS, Settings
from importer.errors import ConfigError
from importer.reporter import flatten
from importer.reporter.summary import RunSummary
from importer.run.outcome import RunOutcome

__all__ = ["FrameOutcome", "run_frame", "validate_frame"]

FRAME_NAME = "frame.csv"
"""The name the frame's rows run under (the Summary's input file, the default report's stem)."""
MAX_FRAME_ROWS = EXCEL_MAX_ROWS - 2
"""Every result is kept in memory up to a workbook's worth of rows (header excluded)."""


@dataclass(frozen=True, slots=True)
class FrameOutcome:
    """A frame's run: the per-row results, and the run's summary and report."""

    results: pd.DataFrame
    outcome: RunOutcome

    @property
    def summary(self) -> RunSummary:
        """The run's summary (counts, timings, what stopped it)."""
        return self.outcome.summary

    @property
    def exit_code(self) -> int:
        """design.md's exit code: 0 all well, 1 some rows need attention, 3 the API, 4 stopped."""
        return self.outcome.exit_code


def validate_frame(
    frame: pd.DataFrame, settings: Settings, *, report: Path | None = None
) -> FrameOutcome:
    """Judge every row of `frame` as `validate_file` judges a file's; never sends a write."""
    return _run(frame, settings, report, validate_file)


def run_frame(
    frame: pd.DataFrame, settings: Settings, *, report: Path | None = None
) -> FrameOutcome:
    """Register every valid row of `frame`, exactly once, as `run_import` does a file's."""
    return _run(frame, settings, report, run_import)


Runner = Callable[[Path, Settings], RunOutcome]


def _run(
    frame: pd.DataFrame, settings: Settings, report: Path | None, runner: Runner
) -> FrameOutcome:
    if len(frame) > MAX_FRAME_ROWS:
        raise ConfigError(
            f"the frame has {len(frame):,} rows, more than {MAX_FRAME_ROWS:,}: write it to a"
            " file and use validate_file or run_import"
        )
    with tempfile.TemporaryDirectory(prefix="did-import-frame-") as folder:
        path = Path(folder) / FRAME_NAME
        write_rows(frame, path)
        outcome = runner(path, _settings_for(settings, report, Path(folder)))
    return FrameOutcome(_results(frame, outcome), outcome)


def write_rows(frame: pd.DataFrame, path: Path) -> None:
    """The frame as a CSV whose cells are what a sheet would hold (see the module doc)."""
    with path.open("x", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([str(column) for column in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            writer.writerow([cell_text(value) for value in row])


def cell_text(value: object) -> str:
    """A frame's cell as a sheet's text: blank for missing, a whole float without `.0`."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _settings_for(settings: Settings, report: Path | None, folder: Path) -> Settings:
    """Every result kept in memory; the report where asked, else in the throwaway folder."""
    update: dict[str, object] = {"workbook_row_limit": MAX_FRAME_ROWS + 1}
    if report is None:
        update |= {"report_path": folder / "frame.results.xlsx", "summary_json": None}
    else:
        update["report_path"] = report
    return settings.model_copy(update={"report": settings.report.model_copy(update=update)})


def _results(frame: pd.DataFrame, outcome: RunOutcome) -> pd.DataFrame:
    """One row per input row, indexed like `frame`: its columns, then the Results columns
    (left empty for a row the loader skipped as blank, or not reached by a stopped run)."""
    first = (outcome.summary.input.header_row or 1) + 1
    width = len(frame.columns)
    cells: list[list[flatten.Cell] | None] = [None] * len(frame)
    for result in outcome.results:
        at = result.row.number - first
        if flatten.is_sheet_row(result) and 0 <= at < len(cells):
            cells[at] = flatten.report_row(result, width)[width:]
    blank = [None] * len(flatten.RESULT_COLUMNS)
    ours = pd.DataFrame(
        [line if line is not None else blank for line in cells],
        columns=list(flatten.RESULT_COLUMNS),
        index=frame.index,
    )
    return pd.concat([frame, ours], axis=1)
