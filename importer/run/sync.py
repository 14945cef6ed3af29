"""The steps of `plan`, `apply` and `delete` that `Run` adds to a run's life.

saved plan   `apply PLAN.json`: the plan read, its input and options taken from it
plan         the valid rows planned against the account, read-only (a signal cuts
             the lookups short: the rows not planned carry remote.not_checked)
current      `apply PLAN.json`: the new plan must be the saved one (else exit 2)
confirm      a replace or a delete needs a yes: the caller's prompt, or `--yes`;
             without either, exit 2 before anything is sent
save         `plan --out PLAN.json`
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from importer.config import Settings
from importer.errors import ConfigError, ImporterError, RunStopped
from importer.journal.noted import NotedRun, note_run
from importer.journal.resume import touched_numbers
from importer.models import RowResult, Status
from importer.plan.planning import PlanOptions
from importer.plan.saved import SavedPlan, check_current, plan_counts, read_plan, save_plan
from importer.run.outcome import RunOutcome
from importer.run.session import journal_path
from importer.send import remote
from importer.send.account import AccountListing, plan_account
from importer.signals import Interrupted, SignalStop
from importer.validate.streaming import StreamedFile

__all__ = [
    "DESTRUCTIVE",
    "Confirm",
    "PlanRequest",
    "account_listing",
    "confirm",
    "note_plan",
    "options_of",
    "plan_streamed",
    "read_saved",
    "save",
    "still_current",
]

Confirm = Callable[[Mapping[str, int]], bool]
"""Asked with the plan's counts before a replace or delete is sent: True to go on."""

DESTRUCTIVE = frozenset({Status.WOULD_REPLACE, Status.WOULD_DELETE})
"""Planned actions that delete a record: they need a confirmation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRequest:
    """What a plan is asked for: its options, and whether it is `delete FILE`'s."""

    options: PlanOptions
    deletes: bool = False


def options_of(settings: Settings) -> PlanOptions:
    """The plan options of a run's settings."""
    plan = settings.plan
    return PlanOptions(
        prune=plan.prune, allow_replace=plan.allow_replace, empty_clears=plan.empty_clears
    )


def plan_streamed(
    streamed: StreamedFile,
    settings: Settings,
    request: PlanRequest,
    signals: SignalStop,
    transport: httpx.AsyncBaseTransport | None,
    *,
    listing: AccountListing | None = None,
) -> tuple[StreamedFile, ImporterError | None]:
    """The file's rows planned (`listing`: the account being listed meanwhile, for
    `--prune`); the error (or interruption) that cut the plan short."""
    mapped = set(streamed.mapping)
    stopped_by: ImporterError | None
    try:
        with signals.abrupt():
            results, stopped_by = plan_account(
                streamed.kept,
                mapped,
                settings.api,
                request.options,
                deletes=request.deletes,
                transport=transport,
                listing=listing,
            )
    except Interrupted as signal:
        results = remote.mark_not_checked(streamed.kept)
        stopped_by = RunStopped(
            f"interrupted ({signal}) while planning; nothing was sent; plan the file again"
        )
    return streamed.with_results(results), stopped_by


def still_current(saved: SavedPlan, streamed: StreamedFile, settings: Settings) -> None:
    """`apply PLAN.json`: raise `ConfigError` (exit 2) unless the plan made now is the saved one."""
    source, base_url = streamed.source, settings.api.base_url
    key = (source.sha256, base_url, "apply")
    journal = journal_path(settings)
    resumed = frozenset() if settings.journal.fresh else touched_numbers(journal, key)
    check_current(saved, source.path, source.sha256, base_url, streamed.kept, resumed=resumed)


def confirm(results: Sequence[RowResult], ask: Confirm | None, *, assume_yes: bool) -> None:
    """A plan that replaces or deletes goes on only when confirmed; else `ConfigError` (exit 2)."""
    counts = plan_counts(results)
    destructive = {status.value: counts.get(status.value, 0) for status in DESTRUCTIVE}
    if not any(destructive.values()) or assume_yes:
        return
    what = _destructive_text(destructive)
    if ask is None:
        raise ConfigError(
            f"this apply {what}: confirm with --yes (there is no terminal to ask on); "
            "nothing was sent"
        )
    if not ask(counts):
        raise ConfigError(f"not confirmed: this apply {what}; nothing was sent")


def _destructive_text(counts: Mapping[str, int]) -> str:
    replaced = counts.get(Status.WOULD_REPLACE.value, 0)
    deleted = counts.get(Status.WOULD_DELETE.value, 0)
    parts = []
    if deleted:
        parts.append(f"deletes {deleted:,} number(s)")
    if replaced:
        parts.append(f"replaces {replaced:,} (deleted, then registered again)")
    return " and ".join(parts)


def read_saved(path: Path, settings: Settings) -> tuple[SavedPlan, Path, Settings]:
    """`apply PLAN.json`: the plan, the input it names, and the settings with its options."""
    saved = read_plan(path)
    options = saved.options
    plan = settings.plan.model_copy(
        update={
            "prune": options.prune,
            "allow_replace": options.allow_replace,
            "empty_clears": options.empty_clears,
        }
    )
    return saved, Path(saved.file), settings.model_copy(update={"plan": plan})


def note_plan(
    streamed: StreamedFile, outcome: RunOutcome, settings: Settings, *, started: datetime
) -> None:
    """`plan`: its line in the journal's history (no rows, no lock: `importer.journal.noted`)."""
    source = streamed.source
    run = NotedRun(
        file=Path(source.file),
        sha256=source.sha256,
        base_url=settings.api.base_url,
        operation="plan",
        started=started,
        finished=datetime.now(UTC),
    )
    note_run(
        journal_path(settings),
        run,
        counts=outcome.summary.counts,
        exit_code=outcome.exit_code,
        report=outcome.report_path,
    )


def save(path: Path, streamed: StreamedFile, settings: Settings) -> SavedPlan:
    """`plan --out PLAN.json`: the plan of `streamed` written to `path`."""
    source = streamed.source
    return save_plan(
        path,
        streamed.kept,
        source=(source.given or str(source.path.resolve()), source.sha256, settings.api.base_url),
        options=options_of(settings),
        counts=plan_counts(streamed.kept),
    )


@contextmanager
def account_listing(
    settings: Settings, command_plans: bool, transport: httpx.AsyncBaseTransport | None
) -> Iterator[AccountListing | None]:
    """`plan`/`apply --prune`: the account listed while the file is read; else None."""
    if not (command_plans and settings.plan.prune):
        yield None
        return
    listing = AccountListing(settings.api, transport)
    try:
        yield listing
    finally:
        listing.close()
