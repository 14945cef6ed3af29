"""One run against the API (a registration, or an `apply` / `delete` of a plan).

    journal.begin_run      resume an unfinished run of the same file, or start fresh;
                           its rows journaled chunk by chunk as they are judged
    catch_signals          SIGINT/SIGTERM → stop dispatching (a second one aborts)
    send_rows              importer.send: preflight, register, --verify, --enable-messaging,
                           all on one executor (flow control, reconcile before retry, journal)
    send_changes           apply/delete (`apply_changes`): preflight, register, update,
                           replace, delete, then the same follow-ups
    journal.finish         the run's line in `did-import history`

The journal is opened around all of it by `open_run` and closed with the run's exit
code and report path by `close_run`; a run killed before then stays `running` in the
journal, which is what makes the next run on the same file resume it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from importer.config import Settings
from importer.journal import JOURNAL_NAME, Journal, RunJournal, RunStatus
from importer.journal.lock import FileLock
from importer.models import PLANNED_WRITES, RowResult, SourceInfo, Status
from importer.send import Batch, Feed, send_changes, send_rows
from importer.send.client import make_client
from importer.send.operations.register import Register
from importer.signals import StopSwitch, catch_signals

__all__ = [
    "RunHooks",
    "apply_changes",
    "begin_run",
    "close_run",
    "journal_path",
    "open_run",
    "resumed",
    "run_loop",
    "upload",
]

T = TypeVar("T")
UploadBatch = Batch[RowResult]


@dataclass(frozen=True, slots=True)
class RunHooks:
    """What a caller may plug into a run: transport (tests), progress, stop control."""

    transport: httpx.AsyncBaseTransport | None = None
    on_result: Callable[[RowResult], None] | None = None
    stop: StopSwitch | None = None
    handle_signals: bool = False


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on asyncio's own loop: `bench/uploader_throughput.py` measured
    uvloop no faster for this client (the aiohttp transport does the heavy lifting)."""
    return asyncio.run(coroutine)


def journal_path(settings: Settings) -> Path:
    """The configured journal, else `<report_dir>/journal.sqlite` (reports/journal.sqlite)."""
    return settings.journal.path or settings.report.report_dir / JOURNAL_NAME


@contextmanager
def open_run(
    source: SourceInfo,
    results: Sequence[RowResult],
    settings: Settings,
    *,
    lock: FileLock | None = None,
    operation: str = Register.name,
) -> Iterator[RunJournal]:
    """Open the journal and start (or resume) this file's run of `operation` (`register`,
    `apply`, `delete`) in it; `lock` is the journal's lock when the caller took it
    already (`importer.journal.held`)."""
    with begin_run(source, settings, lock=lock, operation=operation) as run:
        run.add(results)
        yield run


@contextmanager
def begin_run(
    source: SourceInfo,
    settings: Settings,
    *,
    lock: FileLock | None = None,
    operation: str = Register.name,
) -> Iterator[RunJournal]:
    """`open_run` with no rows yet: the run journals them chunk by chunk (`RunJournal.add`)."""
    with Journal(journal_path(settings), lock=lock) as journal:
        yield journal.begin_run(
            Path(source.file),
            source.sha256,
            settings.api.base_url,
            fresh=settings.journal.fresh,
            operation=operation,
        )


def close_run(run: RunJournal, batch: UploadBatch, *, exit_code: int, report: Path) -> None:
    """Write the run's end into the journal: finished, or stopped (resumable)."""
    status = RunStatus.STOPPED if batch.stopped_by is not None else RunStatus.FINISHED
    counts: dict[str, int] = {}
    for result in batch.results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    run.finish(status=status, counts=counts, exit_code=exit_code, report=report)


def resumed(results: Sequence[RowResult], run: RunJournal) -> list[RowResult]:
    """`results` with what an earlier run left: the rows it settled (or whose write a new
    plan finds landed) as they ended, and the rows it left between a replace's DELETE and
    its POST given their replace plan back (`RunJournal.reworked`)."""
    finished, reworked = run.finished_rows, run.reworked
    return [
        finished.get(result.row.number) or reworked.get(result.row.number) or result
        for result in results
    ]


async def upload(
    results: list[RowResult] | Feed[RowResult],
    settings: Settings,
    run: RunJournal | None,
    hooks: RunHooks,
) -> UploadBatch:
    """Preflight, register, then the follow-up steps (`importer.send.send_rows`); signals
    are caught meanwhile. `results` may be a `Feed` still growing, its rows journaled and
    resumed as they come (`importer.run.overlap`): nothing is sent (no client, no
    preflight) until a row to register arrives, and nothing at all if none does."""
    if isinstance(results, Feed):
        feed = results
    else:
        feed = Feed.of(resumed(results, run) if run is not None else results)
    if not await feed.first(_sendable):
        return UploadBatch(results=await feed.complete(), stopped_by=None)
    async with _sending(settings, hooks) as (client, switch):
        return await send_rows(
            feed,
            client,
            settings.api,
            journal=run,
            stop=switch,
            on_result=hooks.on_result,
            reconcile=run.reconcile if run is not None else frozenset(),
        )


async def apply_changes(
    results: list[RowResult], settings: Settings, run: RunJournal | None, hooks: RunHooks
) -> UploadBatch:
    """`apply` / `delete`: what an earlier run left taken back (`resumed`), then every
    planned write (`importer.send.send_changes`); signals are caught meanwhile."""
    if run is not None:
        results = resumed(results, run)
    if not any(result.status in PLANNED_WRITES for result in results):
        return UploadBatch(results=results, stopped_by=None)
    async with _sending(settings, hooks) as (client, switch):
        return await send_changes(
            results,
            client,
            settings.api,
            journal=run,
            stop=switch,
            on_result=hooks.on_result,
            reconcile=run.reconcile if run is not None else frozenset(),
            steps=run.steps if run is not None else None,
        )


@asynccontextmanager
async def _sending(
    settings: Settings, hooks: RunHooks
) -> AsyncIterator[tuple[httpx.AsyncClient, StopSwitch]]:
    """The run's client and stop switch; SIGINT/SIGTERM caught meanwhile when asked."""
    switch = hooks.stop or StopSwitch()
    with catch_signals(switch) if hooks.handle_signals else nullcontext():
        async with make_client(settings.api, transport=hooks.transport) as client:
            yield client, switch


def _sendable(result: RowResult) -> bool:
    return result.status is Status.WOULD_REGISTER
