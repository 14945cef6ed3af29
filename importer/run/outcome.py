"""What a run did, and the report that says it: `RunOutcome`, written by `write_outcome`.

A run ends with one `StreamedFile` (`importer.validate.streaming`): its facts, its counts, and
its results, every row's or, past the workbook limit, the rows needing attention with
the others already in the report's results CSV spool. `write_outcome` turns it into
the run summary, every report file and the JSON summary, the same way whichever
command ran and however it ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from importer import __version__
from importer.config import Settings
from importer.errors import ImporterError
from importer.models import RowResult
from importer.reporter import (
    ReportData,
    ReportFiles,
    default_report_path,
    plan_reports,
    report_options,
    write_report,
    write_summary_json,
)
from importer.reporter.flatten import Item
from importer.reporter.summary import Mode, RunSummary, exit_code_for, input_facts, status_counts
from importer.validate.settling import StreamedFile

__all__ = ["Ending", "RunOutcome", "report_path", "write_outcome"]

SENDING = frozenset({"run", "plan", "apply", "delete"})
"""The modes whose Summary lists the API options (a plan's lookups use them too)."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a run did: per-row results, the summary, where the report went."""

    results: list[RowResult]
    summary: RunSummary
    report_path: Path
    summary_path: Path | None
    stopped_by: ImporterError | None = None

    @property
    def exit_code(self) -> int:
        """The design.md exit code of this run."""
        return self.summary.exit_code


@dataclass(frozen=True, slots=True, kw_only=True)
class Ending:
    """How a run went, beside its rows: its mode, start, what stopped it, the API asked.

    `options`: the command's own options for the Summary sheet, after the common ones
    (a plan's `("prune", True)`, `("allow replace", False)`, …).
    """

    mode: Mode
    started: datetime
    stopped_by: ImporterError | None = None
    asked_api: bool = False
    options: Sequence[Item] = ()


def report_path(path: Path, settings: Settings) -> Path:
    """The report's main file: `--report`, else `default_report_path` (in `report_dir`)."""
    report = settings.report
    return report.report_path or default_report_path(path, report.report_dir)


def write_outcome(streamed: StreamedFile, settings: Settings, ending: Ending) -> RunOutcome:
    """Write the report and the JSON summary of `streamed`; what the run did."""
    try:
        files = _plan_reports(streamed, settings)
        summary = _summarize(streamed, settings, ending, files.main)
        spool = streamed.spool
        data = ReportData(
            header=streamed.source.header,
            results=streamed.kept,
            summary=summary,
            mapping=streamed.mapping,
            options=[*report_options(settings, sends=ending.mode in SENDING), *ending.options],
            total_rows=streamed.rows,
            widest=streamed.widest,
            results_spool=spool.path if spool else None,
            errors_spool=spool.errors_path if spool else None,
        )
        write_report(files, data)
    finally:
        if streamed.spool is not None:
            streamed.spool.discard()  # moved into place by now, unless the report failed
    summary_path = settings.report.summary_json
    if summary_path is not None:
        write_summary_json(summary_path, summary)
    return RunOutcome(streamed.kept, summary, files.main, summary_path, ending.stopped_by)


def _plan_reports(streamed: StreamedFile, settings: Settings) -> ReportFiles:
    """The report's files: the workbook and, where they apply, its CSV twins."""
    return plan_reports(
        report_path(streamed.source.path, settings),
        rows=streamed.rows,
        source_format=streamed.source.format,
        settings=settings.report,
        spooled=streamed.spool is not None,
    )


def _summarize(
    streamed: StreamedFile, settings: Settings, ending: Ending, main: Path
) -> RunSummary:
    finished = datetime.now(UTC)
    seconds = max((finished - ending.started).total_seconds(), 1e-9)
    stopped_by = ending.stopped_by
    return RunSummary(
        tool_version=__version__,
        phonenumbers_version=version("phonenumbers"),
        mode=ending.mode,
        input=input_facts(streamed.source, streamed.rows, streamed.mapping),
        base_url=settings.api.base_url if ending.asked_api else None,
        counts=status_counts(streamed.counts, ending.mode),
        started_at=ending.started,
        finished_at=finished,
        duration_seconds=round(seconds, 3),
        rows_per_second=round(streamed.rows / seconds, 1),
        # every row that did not end well is kept, even past the limit: the same exit code
        exit_code=stopped_by.exit_code if stopped_by else exit_code_for(streamed.kept),
        report_path=str(main),
        stopped_reason=str(stopped_by) if stopped_by else None,
    )
