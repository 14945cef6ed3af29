"""The library's front door: `validate_file`, `run_import` and `export_account`.

The CLI and schedulers (cron, systemd, Airflow) call these; each reads a file, runs the
pipeline top to bottom and writes the report::

    from importer.api import run_import
    from importer.config import build_settings

    outcome = run_import(Path("numbers.xlsx"), build_settings(environ=os.environ))
    print(outcome.summary.counts, outcome.report_path)

Both are a `importer.run.Run` of one command, which owns every step of a run (the
journal, validation, sending, the report, the notification). Run-stopping input and
configuration problems raise `importer.errors.ImporterError` before anything is sent.
An API that refuses us mid-run does not raise: the report is written for what was
done and `RunOutcome.stopped_by` says why (exit code 3).

`export_account` writes the whole account in the template's layout (no input file, no
journal: it only reads); it raises what stops it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from importer.config import Settings
from importer.models import RowResult
from importer.reporter.export import (
    Add,
    ExportOutcome,
    default_export_path,
    export_format,
    write_export,
)
from importer.run import Command, Hooks, Run
from importer.run.outcome import RunOutcome
from importer.send.operations.listing import OnPage, Page, list_account
from importer.signals import StopSwitch

__all__ = ["ExportOutcome", "RunOutcome", "export_account", "run_import", "validate_file"]


def validate_file(
    path: Path,
    settings: Settings,
    *,
    check_remote: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunOutcome:
    """Dry run: load, map, validate and write the report; never sends a write request.

    The file is validated as a stream (`importer.validate.streaming`): above
    `workbook_row_limit` rows, `RunOutcome.results` holds only the rows needing
    attention, and every row's result is in the results CSV. With `check_remote`,
    valid rows are looked up read-only on the API and planned `would_register` or
    `already_registered` (`importer.send.remote`); a 401/403 or an unreachable API stops the
    check (`RunOutcome.stopped_by`, exit 3). Raises `ConfigError` for `check_remote`
    without a token, before the file is read.
    """
    command = Command.CHECK_REMOTE if check_remote else Command.VALIDATE
    return Run(path, settings, command, Hooks(transport=transport)).execute()


def run_import(
    path: Path,
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[RowResult], None] | None = None,
    stop: StopSwitch | None = None,
    handle_signals: bool = False,
    on_start: Callable[[int], None] | None = None,
) -> RunOutcome:
    """Validate, register every valid row concurrently, write the report, notify.

    The run is journaled (`importer.journal`): an unfinished run of the same file is
    resumed. `stop` (or, with `handle_signals`, SIGINT/SIGTERM from the first line)
    stops it with exit 4. The JSON summary is POSTed to `settings.notify.url` when one
    is set. Raises `ConfigError` without a token, before the file is read.
    """
    hooks = Hooks(
        transport=transport,
        on_start=on_start,
        on_result=on_result,
        stop=stop,
        handle_signals=handle_signals,
    )
    return Run(path, settings, Command.RUN, hooks).execute()


def export_account(
    settings: Settings,
    out: Path | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_page: OnPage | None = None,
    stop: StopSwitch | None = None,
) -> ExportOutcome:
    """Write every External DID of the account to `out` (.xlsx or .csv; by default
    `<report_dir>/export-<UTC date-time>.xlsx`) in the template's layout, page by page
    (`importer.reporter.export`); `on_page` follows the pages (progress).

    Raises `ConfigError` (exit 2, nothing sent) for another extension or without a
    token, `ApiError` (exit 3) when the API refuses us or cannot be reached, and
    `RunStopped` (exit 4) on `stop`; then no file is left behind.
    """
    path = out or default_export_path(settings.report.report_dir)
    kind = export_format(path)
    settings.api.require_token("export")

    def fill(add: Add) -> None:
        def page(arrived: Page) -> None:
            add(arrived.items)
            if on_page is not None:
                on_page(arrived)

        list_account(settings.api, transport=transport, on_page=page, stop=stop, keep=False)

    return ExportOutcome(path=path, records=write_export(path, fill), format=kind)
