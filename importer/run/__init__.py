"""One run's life, from its first line to its notification: `Run`.

`validate_file`, `run_import`, the command line and the inbox all build a `Run` and
call `execute()`; none of them repeats any step of it. In order:

    signals        SIGINT/SIGTERM stop the run from here on (with `handle_signals`)
    token          `run` and `--check-remote` need one, before the file is read
    lock           commands that write: the journal's lock (`importer.journal.held`),
                   before any input is read: a second run on the journal exits 5 at once
    input          `-` or a pipe: read to its end into a private temporary file, which
                   the run reads instead (`importer.loader.piped`); reports, summaries
                   and the journal name it as given (`-`)
    validate       the file streamed and judged in chunks (`importer.validate.streaming`);
                   a stop ends the read between two chunks
    check          --check-remote: valid rows looked up read-only (`importer.send.remote`)
    journal        `run`: opened, with its lock, once the file is read to its end
                   (`session.begin_run`); resumes an unfinished run of the same file
    send           `run`: preflight, register, follow-ups (`session.upload`), with
                   progress events (a bar on a terminal); the rows of each chunk are
                   journaled and sent as soon as it is judged, while later chunks are
                   (`importer.run.overlap`: the file is streamed in a thread)
    report         the workbook, its CSV twins, the JSON summary (`importer.run.outcome`)
    journal close  `run`: the run's end, exit code and report (`session.close_run`)
    notify         `run`: the JSON summary POSTed to `[notify] url` (`importer.run.notify`)

A stop while the file is read ends the read: the report holds the rows judged so far
(up to the row the Summary names) and the run exits 4 with one line saying where it
stopped; a `run` then has sent nothing and opened no journal. A `run` reads its whole
file before judging it and sends while later chunks are judged: once the file is read a
stop is the uploader's (`importer.signals`), and the chunks left are still judged, so
its report holds every row. Once the last row is settled a signal no
longer changes the outcome: the report is written and the run ends with its own code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from importer.config import Settings, secrets_of
from importer.errors import ConfigError, ImporterError, RunStopped
from importer.journal import held
from importer.journal.lock import FileLock
from importer.loader.piped import is_piped, readable_copy, shown
from importer.logs import RowProgress, row_progress
from importer.models import PLANNED_WRITES, RowResult, SourceInfo
from importer.plan.saved import SavedPlan, holds_plan, looks_like_plan
from importer.reporter.files import twin_paths
from importer.reporter.spool import SpoolTarget
from importer.run.command import NEEDS_TOKEN, Command
from importer.run.notify import notify, summary_payload
from importer.run.outcome import Ending, RunOutcome, report_path, write_outcome
from importer.run.overlap import ChunkStream, RowFollower, send_streamed
from importer.run.session import (
    RunHooks,
    apply_changes,
    begin_run,
    close_run,
    journal_path,
    open_run,
    run_loop,
)
from importer.run.sync import (
    Confirm,
    PlanRequest,
    account_listing,
    confirm,
    note_plan,
    options_of,
    plan_streamed,
    read_saved,
    save,
    still_current,
)
from importer.send import remote
from importer.send.account import AccountListing
from importer.send.drift import flag_drift
from importer.send.operations.register import not_attempted
from importer.signals import Interrupted, SignalStop, StopSwitch, stop_on_signals
from importer.validate.streaming import StreamedFile, stream_file

__all__ = ["Command", "Hooks", "Run", "RunOutcome"]

ResultCallback = Callable[[RowResult], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """What a caller may plug into a run.

    `transport` (tests) carries the API requests; `on_start(total)` (once the whole
    file is judged: rows may have been sent before) and `on_result` follow the rows
    sent; `stop` stops the run when flipped (by a scheduler, or by SIGINT/SIGTERM with
    `handle_signals`, which only the main thread can have); `tty` shows the progress as
    a bar (else a `progress` event every few seconds); `confirm` asks before a replace
    or delete is sent, and `yes` says it may go on unasked.
    """

    transport: httpx.AsyncBaseTransport | None = None
    on_start: Callable[[int], None] | None = None
    on_result: ResultCallback | None = None
    stop: StopSwitch | None = None
    handle_signals: bool = False
    tty: bool = False
    confirm: Confirm | None = None
    yes: bool = False


class Run:
    """One run of `command` on the file at `path` (see the module doc for its steps)."""

    def __init__(
        self,
        path: Path,
        settings: Settings,
        command: Command = Command.RUN,
        hooks: Hooks | None = None,
    ) -> None:
        self.path = path
        self.given: str | None = None  # `path` as the user gave it, once it is a copy
        self.settings = settings
        self.command = command
        self.hooks = hooks or Hooks()
        self.switch = self.hooks.stop or StopSwitch()
        self.started = datetime.now(UTC)

    def execute(self) -> RunOutcome:
        """Every step in order; the outcome (its `exit_code` is design.md's).

        Raises `ImporterError` for what stops a run before any report (exit 2: no
        token, an unusable file or mapping); everything later is in the outcome.
        """
        with self._signals() as signals:
            if self.command in NEEDS_TOKEN:
                self.settings.api.require_token(NEEDS_TOKEN[self.command])
            self._read_saved_plan()
            with self._journal_lock() as lock, self._readable_input(signals):
                self.started = datetime.now(UTC)
                if self.command is Command.RUN:
                    outcome = run_loop(self._run(lock))
                else:
                    outcome = self._validate(signals, lock)
            self._notify(outcome)
        return outcome

    @contextmanager
    def _readable_input(self, signals: SignalStop) -> Iterator[None]:
        """`-` or a pipe: copied to a private file, which the run reads instead
        (`importer.loader.piped`); a signal while it is copied stops the run (exit 4)."""
        if not is_piped(self.path):
            yield
            return
        given = self.given = str(self.path)
        with ExitStack() as stack:
            try:
                with signals.abrupt():
                    self.path = stack.enter_context(readable_copy(self.path))
            except Interrupted as signal:
                raise RunStopped(
                    f"interrupted ({signal}) while reading the input; nothing was sent"
                ) from None
            if self.command is Command.APPLY and holds_plan(self.path):
                raise ConfigError(
                    f"{shown(Path(given))}: a saved plan is not read from standard input;"
                    " give its file: did-import apply PLAN.json"
                )
            try:
                yield
            except ImporterError as error:  # names the input as given, not its copy
                error.message = error.message.replace(str(self.path), shown(Path(given)))
                raise

    def _read_saved_plan(self) -> None:
        """`apply PLAN.json`: the plan read; the run goes on with its input and options."""
        self.saved: SavedPlan | None = None
        if self.command is Command.APPLY and looks_like_plan(self.path):
            self.saved, self.path, self.settings = read_saved(self.path, self.settings)

    def _plan(
        self,
        streamed: StreamedFile,
        signals: SignalStop,
        lock: FileLock | None,
        listing: AccountListing | None,
    ) -> RunOutcome:
        """Plan the rows read-only; `plan` reports (and saves) it, `apply`/`delete` carry it out."""
        request = PlanRequest(
            options=options_of(self.settings), deletes=self.command is Command.DELETE
        )
        planned, stopped_by = plan_streamed(
            streamed, self.settings, request, signals, self.hooks.transport, listing=listing
        )
        if stopped_by is not None or self.command is Command.PLAN:
            if stopped_by is None and self.settings.plan.out is not None:
                save(self.settings.plan.out, planned, self.settings)
            outcome = self._finish(planned, stopped_by)
            if self.command is Command.PLAN:
                note_plan(planned, outcome, self.settings, started=self.started)
            return outcome
        if self.saved is not None:
            still_current(self.saved, planned, self.settings)
        confirm(planned.kept, self.hooks.confirm, assume_yes=self.hooks.yes)
        return self._apply(planned, lock)

    def _validate(self, signals: SignalStop, lock: FileLock | None) -> RunOutcome:
        """Every command but `run`: the file streamed, then checked, planned or applied."""
        plans, transport = self.command.plans, self.hooks.transport
        with account_listing(self.settings, plans, transport) as listing:
            with self._reading_progress() as on_rows:
                streamed = stream_file(
                    self.path,
                    self.settings,
                    self._spool(),
                    stop=self.switch,
                    on_rows=on_rows,
                    given=self.given,
                )
            if streamed.stopped is not None or self._stop_before_sending():
                return self._stopped_early(streamed)
            if self.command is Command.CHECK_REMOTE:
                return self._check_remote(streamed, signals)
            if plans:
                return self._plan(streamed, signals, lock, listing)
            return self._finish(streamed)

    async def _run(self, lock: FileLock | None) -> RunOutcome:
        """`run`: the file streamed in a thread while its rows are sent (`importer.run.overlap`)."""
        async with ChunkStream(self.path, self.settings, self.switch, self.given) as stream:
            source = await stream.read()
            if source is None or self._stop_before_sending():
                return self._stopped_early(await stream.end())
            return await self._send(stream, source, lock)

    def _journal_lock(self) -> AbstractContextManager[FileLock | None]:
        """`run`: the journal's lock, before the file is read, and before piped input is
        copied (a second run on the same journal stops at once, exit 5, instead of after
        reading its whole file or all of its standard input)."""
        if not self.command.writes or not (self.path.is_file() or is_piped(self.path)):
            return nullcontext(None)  # a missing file is the loader's to report
        return held(journal_path(self.settings))

    def _signals(self) -> AbstractContextManager[SignalStop]:
        if self.hooks.handle_signals:
            return stop_on_signals(self.switch)
        return nullcontext(SignalStop(self.switch))

    def _spool(self) -> SpoolTarget | None:
        """Where rows past the workbook limit go; none when every result must be kept."""
        if self.command.uses_api:  # their statuses change after validation
            return None
        return SpoolTarget(*twin_paths(report_path(self.path, self.settings)))

    def _stop_before_sending(self) -> bool:
        """A `run` asked to stop as its read ended: it sends nothing, opens no journal."""
        return self.command.writes and self.switch.requested

    def _stopped_early(self, streamed: StreamedFile) -> RunOutcome:
        """Stopped while the file was read: a report of the rows read, and where it stopped."""
        where = f"the read stopped after row {streamed.last_row:,}"
        if streamed.stopped is None:
            where = "the whole file was read"
        elif not streamed.rows:
            where = "the read stopped before the first row"
        head = f"interrupted ({self.switch.reason}) while validating; {where}"
        if self.command.writes:
            message = f"{head}; nothing was sent; run the same file again to resume"
            streamed = streamed.with_results(not_attempted(streamed.kept))
        else:
            message = f"{head}; validate the file again for a complete report"
        return self._finish(streamed, RunStopped(message))

    def _check_remote(self, streamed: StreamedFile, signals: SignalStop) -> RunOutcome:
        """Plan the valid rows against the API, read-only; a signal cuts the lookups short."""
        transport = self.hooks.transport
        stopped_by: ImporterError | None
        try:
            with signals.abrupt():
                results, stopped_by = remote.check_remote(
                    streamed.kept, self.settings.api, transport=transport
                )
        except Interrupted as signal:
            results = remote.mark_not_checked(streamed.kept)
            stopped_by = RunStopped(
                f"interrupted ({signal}) while checking the API; numbers not looked up"
                " carry remote.not_checked; validate the file again with --check-remote"
            )
        return self._finish(streamed.with_results(results), stopped_by)

    async def _send(
        self, stream: ChunkStream, source: SourceInfo, lock: FileLock | None
    ) -> RunOutcome:
        """Journal, send (the rows of each chunk as it is judged), report, close the journal."""
        settings, caught = self.settings, self.hooks.handle_signals
        with self._progress() as (follower, on_result):
            hooks = RunHooks(self.hooks.transport, on_result, self.switch, caught)
            with begin_run(source, settings, lock=lock) as journal:
                batch, streamed = await send_streamed(stream, journal, settings, hooks, follower)
                results, stopped_by = await self._drift(batch.results, batch.stopped_by)
                outcome = self._finish(streamed.with_results(results), stopped_by)
                close_run(journal, batch, exit_code=outcome.exit_code, report=outcome.report_path)
        return outcome

    def _apply(self, streamed: StreamedFile, lock: FileLock | None) -> RunOutcome:
        """`apply` / `delete`: journal, every planned write, report, close the journal."""
        settings, caught = self.settings, self.hooks.handle_signals
        with self._planned_progress(streamed.kept) as on_result:
            hooks = RunHooks(self.hooks.transport, on_result, self.switch, caught)
            operation = self.command.value
            with open_run(
                streamed.source, streamed.kept, settings, lock=lock, operation=operation
            ) as journal:
                batch = run_loop(apply_changes(streamed.kept, settings, journal, hooks))
                outcome = self._finish(streamed.with_results(batch.results), batch.stopped_by)
                close_run(journal, batch, exit_code=outcome.exit_code, report=outcome.report_path)
        return outcome

    @contextmanager
    def _reading_progress(self) -> Iterator[Callable[[int], None] | None]:
        """On a terminal, a bar of the rows judged while the file streams (its total is
        known only at the end, so it counts); elsewhere nothing (a dry run is quick)."""
        if not self.hooks.tty:
            yield None
            return
        every = self.settings.log.progress_every
        with row_progress(self.path.name, tty=True, every=every) as progress:
            yield progress.advance

    @contextmanager
    def _planned_progress(self, rows: list[RowResult]) -> Iterator[ResultCallback]:
        """Row progress over a plan's writes: `on_start`, then a callback for each row."""
        every = self.settings.log.progress_every
        with row_progress(self.path.name, tty=self.hooks.tty, every=every) as progress:
            total = sum(result.status in PLANNED_WRITES for result in rows)
            progress.start(total)
            if self.hooks.on_start is not None:
                self.hooks.on_start(total)
            yield _following(progress, self.hooks.on_result)

    async def _drift(
        self, results: list[RowResult], stopped_by: ImporterError | None
    ) -> tuple[list[RowResult], ImporterError | None]:
        """`run`: flag the already registered numbers whose record differs (`remote.differs`)."""
        if self.command is not Command.RUN or stopped_by is not None:
            return results, stopped_by
        return await flag_drift(results, self.settings.api, transport=self.hooks.transport)

    @contextmanager
    def _progress(self) -> Iterator[tuple[RowFollower, ResultCallback]]:
        """Row progress while rows are sent: its total grows as chunks are judged
        (`on_start` gets the final one), a callback moves it on for each row settled."""
        every = self.settings.log.progress_every
        with row_progress(self.path.name, tty=self.hooks.tty, every=every) as progress:
            progress.start(0)
            follower = RowFollower(progress.grow, self.hooks.on_start)
            yield follower, _following(progress, self.hooks.on_result)

    def _finish(
        self, streamed: StreamedFile, stopped_by: ImporterError | None = None
    ) -> RunOutcome:
        ending = Ending(
            mode=self.command.mode,
            started=self.started,
            stopped_by=stopped_by,
            asked_api=self.command.uses_api,
        )
        return write_outcome(streamed, self.settings, ending)

    def _notify(self, outcome: RunOutcome) -> None:
        """`run`: POST the JSON summary to `[notify] url` (best effort, never raises)."""
        if self.command.writes:
            payload = summary_payload(outcome.summary)
            notify(payload, self.settings.notify, secrets=secrets_of(self.settings))


def _following(progress: RowProgress, on_result: ResultCallback | None) -> ResultCallback:
    """A callback that moves `progress` on, then calls the caller's `on_result`."""

    def settled(result: RowResult) -> None:
        progress.advance()
        if on_result is not None:
            on_result(result)

    return settled
