"""The library's front door: `validate_file` and `run_import`.

The CLI and schedulers (cron, systemd, Airflow) call these; each reads a file, runs the
pipeline top to bottom and writes the report::

    from importer.api import run_import
    from importer.config import build_settings

    outcome = run_import(Path("numbers.xlsx"), build_settings(environ=os.environ))
    print(outcome.summary.counts, outcome.report_path)

Run-stopping input and configuration problems raise `importer.errors.ImporterError`
before anything is sent. An API that refuses us mid-run does not raise: the report is
written for what was done and `RunOutcome.stopped_by` says why (exit code 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import httpx

from importer import __version__, remote
from importer.config import Settings
from importer.errors import ImporterError
from importer.loader import load_file
from importer.mapping import build_mapping
from importer.models import RowResult, SourceInfo, Status
from importer.reporter import (
    ReportData,
    ReportFiles,
    default_report_path,
    plan_reports,
    report_options,
    twin_paths,
    write_report,
    write_summary_json,
)
from importer.session import RunHooks, close_run, open_run, run_loop, upload
from importer.signals import StopSwitch
from importer.streaming import StreamedFile, stream_file
from importer.summary import (
    Mode,
    RunSummary,
    count_statuses,
    exit_code_for,
    input_facts,
    status_counts,
)
from importer.validation import validate_rows

ResultCallback = Callable[[RowResult], None]


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file loaded, mapped and validated: what a run starts from."""

    source: SourceInfo
    mapping: dict[str, str]
    results: list[RowResult]


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


def prepare_file(path: Path, settings: Settings) -> PreparedFile:
    """Load, map and validate a file; nothing is sent."""
    loaded = load_file(path, settings.input)
    mapping = build_mapping(
        loaded.source.header, settings.input.columns, source=loaded.source.path.name
    )
    results = validate_rows(loaded.rows, mapping, settings.defaults, settings.validation)
    # The rows are read lazily: only now are the end-of-file facts (sha256, blank rows) in.
    assert loaded.complete, "validate_rows must read every row"
    return PreparedFile(loaded.source, mapping.describe(), results)


def validate_file(
    path: Path,
    settings: Settings,
    *,
    check_remote: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunOutcome:
    """Dry run: load, map, validate and write the report; never sends a write request.

    Without `check_remote` the file is validated as a stream (`importer.streaming`):
    above `workbook_row_limit` rows, `RunOutcome.results` holds only the rows needing
    attention, and every row's result is in the results CSV. With `check_remote`,
    valid rows are looked up read-only on the API and planned `would_register` or
    `already_registered` (`importer.remote`); a 401/403 or an unreachable API stops the
    check (`RunOutcome.stopped_by`, exit 3).
    """
    started = datetime.now(UTC)
    if not check_remote:
        return _validate_streamed(path, settings, started)
    prepared = prepare_file(path, settings)
    results, stopped_by = remote.check_remote(prepared.results, settings.api, transport=transport)
    return _finish(
        prepared,
        results,
        settings,
        mode="validate",
        started=started,
        stopped_by=stopped_by,
        remote=check_remote,
    )


def run_import(
    path: Path,
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: ResultCallback | None = None,
    stop: StopSwitch | None = None,
    handle_signals: bool = False,
    on_start: Callable[[int], None] | None = None,
) -> RunOutcome:
    """Validate, register every valid row concurrently, and write the report.

    The run is journaled (`importer.journal`): an unfinished run of the same file is
    resumed. `stop` (or, with `handle_signals`, SIGINT/SIGTERM) stops it with exit 4.
    Raises `ConfigError` without a token, before the file is read.
    """
    started = datetime.now(UTC)
    settings.api.require_token("run")
    prepared = prepare_file(path, settings)
    if on_start is not None:  # progress: how many rows are about to be sent
        on_start(sum(result.status is Status.WOULD_REGISTER for result in prepared.results))
    hooks = RunHooks(transport, on_result, stop, handle_signals)
    with open_run(prepared.source, prepared.results, settings) as run:
        batch = run_loop(upload(prepared.results, settings, run, hooks))
        outcome = _finish(
            prepared,
            batch.results,
            settings,
            mode="run",
            started=started,
            stopped_by=batch.stopped_by,
        )
        close_run(run, batch, exit_code=outcome.exit_code, report=outcome.report_path)
    return outcome


def _validate_streamed(path: Path, settings: Settings, started: datetime) -> RunOutcome:
    """`validate_file` without the remote check: streamed, in bounded memory."""
    report = settings.report
    main = report.report_path or default_report_path(path, report.report_dir)
    streamed = stream_file(path, settings, twin_paths(main))
    prepared = PreparedFile(streamed.source, streamed.mapping, streamed.kept)
    try:
        return _finish(
            prepared, streamed.kept, settings, mode="validate", started=started, streamed=streamed
        )
    finally:
        if streamed.spool is not None:
            streamed.spool.discard()  # moved into place by now, unless the report failed


def _finish(
    prepared: PreparedFile,
    results: list[RowResult],
    settings: Settings,
    *,
    mode: Mode,
    started: datetime,
    stopped_by: ImporterError | None = None,
    remote: bool = False,
    streamed: StreamedFile | None = None,
) -> RunOutcome:
    rows = len(results) if streamed is None else streamed.rows
    files = _plan_reports(prepared, rows, settings)
    summary = _summarize(
        prepared,
        results=results,
        settings=settings,
        mode=mode,
        started=started,
        stopped_by=stopped_by,
        report_path=files.main,
        remote=remote,
        streamed=streamed,
    )
    data = ReportData(
        header=prepared.source.header,
        results=results,
        summary=summary,
        mapping=prepared.mapping,
        options=report_options(settings, sends=mode == "run"),
        total_rows=rows,
        widest=streamed.widest if streamed else 0,
        results_spool=streamed.spool.path if streamed and streamed.spool else None,
        errors_spool=streamed.spool.errors_path if streamed and streamed.spool else None,
    )
    write_report(files, data)
    summary_path = settings.report.summary_json
    if summary_path is not None:
        write_summary_json(summary_path, summary)
    return RunOutcome(results, summary, files.main, summary_path, stopped_by)


def _plan_reports(prepared: PreparedFile, rows: int, settings: Settings) -> ReportFiles:
    """The report's files: the workbook and, where they apply, its CSV twins."""
    report = settings.report
    path = report.report_path or default_report_path(prepared.source.path, report.report_dir)
    return plan_reports(path, rows=rows, source_format=prepared.source.format, settings=report)


def _summarize(
    prepared: PreparedFile,
    *,
    results: list[RowResult],
    settings: Settings,
    mode: Mode,
    started: datetime,
    stopped_by: ImporterError | None,
    report_path: Path,
    remote: bool = False,
    streamed: StreamedFile | None = None,
) -> RunSummary:
    finished = datetime.now(UTC)
    seconds = max((finished - started).total_seconds(), 1e-9)
    rows = len(results) if streamed is None else streamed.rows
    counts = count_statuses(results) if streamed is None else status_counts(streamed.counts)
    return RunSummary(
        tool_version=__version__,
        phonenumbers_version=version("phonenumbers"),
        mode=mode,
        input=input_facts(prepared.source, rows, prepared.mapping),
        base_url=settings.api.base_url if mode == "run" or remote else None,
        counts=counts,
        started_at=started,
        finished_at=finished,
        duration_seconds=round(seconds, 3),
        rows_per_second=round(rows / seconds, 1),
        # a streamed run keeps every row that did not end well: the exit code is the same
        exit_code=stopped_by.exit_code if stopped_by else exit_code_for(results),
        report_path=str(report_path),
        stopped_reason=str(stopped_by) if stopped_by else None,
    )
