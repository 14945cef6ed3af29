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

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import httpx

from importer import __version__
from importer.catalogue import API_NOT_ATTEMPTED
from importer.client import make_client, preflight
from importer.config import Settings
from importer.errors import ApiError
from importer.loader import load_file
from importer.mapping import build_mapping
from importer.models import RowResult, SourceInfo, Status
from importer.reporter import default_report_path, write_report, write_summary_json
from importer.summary import Mode, RunSummary, count_statuses, exit_code_for, input_facts
from importer.uploader import UploadBatch, register_rows
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
    stopped_by: ApiError | None = None

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
    results = validate_rows(loaded.rows, mapping, settings.defaults)
    return PreparedFile(loaded.source, mapping.describe(), results)


def validate_file(path: Path, settings: Settings) -> RunOutcome:
    """Dry run: load, map, validate and write the report; never sends a request."""
    started = datetime.now(UTC)
    prepared = prepare_file(path, settings)
    return _finish(prepared, prepared.results, settings, mode="validate", started=started)


def run_import(
    path: Path,
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: ResultCallback | None = None,
) -> RunOutcome:
    """Validate, register every valid row concurrently, and write the report."""
    started = datetime.now(UTC)
    prepared = prepare_file(path, settings)
    batch = asyncio.run(_register(prepared.results, settings, transport, on_result))
    return _finish(
        prepared,
        batch.results,
        settings,
        mode="run",
        started=started,
        stopped_by=batch.stopped_by,
    )


async def _register(
    results: list[RowResult],
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    on_result: ResultCallback | None,
) -> UploadBatch:
    if not any(result.status is Status.WOULD_REGISTER for result in results):
        return UploadBatch(results=results, stopped_by=None)
    async with make_client(settings.api, transport=transport) as client:
        try:
            await preflight(client)
        except ApiError as error:
            return UploadBatch(results=mark_not_attempted(results), stopped_by=error)
        return await register_rows(results, client, settings.api, on_result=on_result)


def mark_not_attempted(results: Sequence[RowResult]) -> list[RowResult]:
    """Every row that was going to be sent becomes `not_attempted`."""
    issue = API_NOT_ATTEMPTED.issue()
    return [
        replace(result, status=Status.NOT_ATTEMPTED, issues=(*result.issues, issue))
        if result.status is Status.WOULD_REGISTER
        else result
        for result in results
    ]


def _finish(
    prepared: PreparedFile,
    results: list[RowResult],
    settings: Settings,
    *,
    mode: Mode,
    started: datetime,
    stopped_by: ApiError | None = None,
) -> RunOutcome:
    report_path = settings.report.report_path or default_report_path(
        prepared.source.path, settings.report.report_dir
    )
    summary = _summarize(
        prepared,
        results=results,
        settings=settings,
        mode=mode,
        started=started,
        stopped_by=stopped_by,
        report_path=report_path,
    )
    write_report(report_path, prepared.source.header, results, summary, mapping=prepared.mapping)
    summary_path = settings.report.summary_json
    if summary_path is not None:
        write_summary_json(summary_path, summary)
    return RunOutcome(results, summary, report_path, summary_path, stopped_by)


def _summarize(
    prepared: PreparedFile,
    *,
    results: list[RowResult],
    settings: Settings,
    mode: Mode,
    started: datetime,
    stopped_by: ApiError | None,
    report_path: Path,
) -> RunSummary:
    finished = datetime.now(UTC)
    seconds = max((finished - started).total_seconds(), 1e-9)
    return RunSummary(
        tool_version=__version__,
        phonenumbers_version=version("phonenumbers"),
        mode=mode,
        input=input_facts(prepared.source, len(results), prepared.mapping),
        base_url=settings.api.base_url if mode == "run" else None,
        counts=count_statuses(results),
        started_at=started,
        finished_at=finished,
        duration_seconds=round(seconds, 3),
        rows_per_second=round(len(results) / seconds, 1),
        exit_code=stopped_by.exit_code if stopped_by else exit_code_for(results),
        report_path=str(report_path),
        stopped_reason=str(stopped_by) if stopped_by else None,
    )
