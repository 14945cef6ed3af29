"""Carry a plan out: every planned write on one executor, one journal (`send_changes`).

    preflight   one read before any write
    register    every would_register row (canary first)
    update      every would_update row: PATCH with the differing fields
    replace     every would_replace row: DELETE, then POST (two journaled steps)
    delete      every would_delete row: DELETE
    verify      --verify: registered and replaced rows read back
    messaging   --enable-messaging: registered, already registered and replaced rows

A pass that stops (401/403, the breaker, the canary, a stop request) stops the run: the
planned writes not sent yet become `not_attempted` (`change.not_sent`). Rows an
unfinished run may have sent (`reconcile`, by sheet row) are looked up before any write;
`steps` gives a row's journaled step (a replace's `deleted`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError, RunStopped
from importer.journal.plans import STEP_DELETED
from importer.models import RowResult
from importer.send.executor import Batch, Executor, RowLog
from importer.send.flow import Clock
from importer.send.operations.change import not_sent
from importer.send.operations.delete import Delete
from importer.send.operations.messaging import EnableMessaging
from importer.send.operations.preflight import preflight
from importer.send.operations.register import Register
from importer.send.operations.replace import Replace
from importer.send.operations.update import Update
from importer.send.operations.verify import Verify
from importer.send.retry import RetryPolicy
from importer.signals import StopSwitch

__all__ = ["send_changes"]

OnResult = Callable[[RowResult], None]


async def send_changes(
    results: Sequence[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    journal: RowLog | None = None,
    stop: StopSwitch | None = None,
    on_result: OnResult | None = None,
    reconcile: Collection[int] = frozenset(),
    steps: Mapping[int, str] | None = None,
    policy: RetryPolicy | None = None,
    clock: Clock = time.monotonic,
) -> Batch[RowResult]:
    """Preflight, register, update, replace, delete, then --verify and --enable-messaging."""
    executor = Executor(client, settings, policy=policy, stop=stop, journal=journal, clock=clock)
    try:
        await preflight(executor)
    except (ApiError, RunStopped) as error:
        return Batch(not_sent(results), error)
    batch = await _writes(results, executor, on_result, reconcile, steps or {})
    if batch.stopped_by is not None or executor.stop.requested:
        batch.results = not_sent(batch.results)
        return batch
    if settings.verify:
        batch.results = (await executor.run_rows(Verify(), batch.results)).results
    if settings.enable_messaging is not None:
        messaging = EnableMessaging(settings)
        batch.results = (await executor.run_rows(messaging, batch.results)).results
    return batch


async def _writes(
    results: Sequence[RowResult],
    executor: Executor,
    on_result: OnResult | None,
    reconcile: Collection[int],
    steps: Mapping[int, str],
) -> Batch[RowResult]:
    """The write passes in order; the first that stops ends them.

    A resumed run first finishes the replaces an earlier run left between their DELETE
    and their POST (their numbers are absent from the account until then), then
    registers, updates, replaces and deletes.
    """
    register = Register()
    canary = executor.settings.canary
    unfinished = Unfinished(steps)
    batch = await executor.run_rows(
        unfinished,
        results,
        on_result=on_result,
        tally=functools.partial(unfinished.tally, reconcile=reconcile, steps=steps),
    )
    if batch.stopped_by is not None or executor.stop.requested:
        return batch
    batch = await executor.run_rows(
        register,
        batch.results,
        on_result=on_result,
        canary=canary,
        tally=lambda result: register.tally(result, reconcile),
    )
    for operation in (Update(), Replace(), Delete()):
        if batch.stopped_by is not None or executor.stop.requested:
            break
        batch = await executor.run_rows(
            operation,
            batch.results,
            on_result=on_result,
            canary=canary,
            tally=functools.partial(operation.tally, reconcile=reconcile, steps=steps),
        )
    return batch


class Unfinished(Replace):
    """The replaces a killed run left half-done (journaled step `deleted`), taken first."""

    def __init__(self, steps: Mapping[int, str]) -> None:
        self.journaled_steps = steps

    def takes(self, result: RowResult) -> bool:
        """Planned replaces whose DELETE an earlier run journaled as done."""
        deleted = self.journaled_steps.get(result.row.number) == STEP_DELETED
        return deleted and super().takes(result)
