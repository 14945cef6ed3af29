"""The send stage: every request a run makes, on one executor with one retry policy.

    importer.send.reading      how one answer is read (DONE, REFUSED, RETRY, UNKNOWN, …)
    importer.send.retry        the retry policy: backoff, Retry-After, --max-wait
    importer.send.steps        the one retry loop, per item
    importer.send.executor     the pool, rate limit, breaker, canary, stop switch, journal
    importer.send.operation    what an operation module contains
    importer.send.operations   preflight, register, lookup, update, replace, delete,
                               verify, messaging
    importer.send.apply        a plan carried out: every planned write, in order

`send_rows` is what a run calls: preflight, register, then the follow-up steps asked
for, all on one executor (one client, one rate limit, one breaker, one stop switch).
`register_rows` is the register pass alone. `send_changes` (`importer.send.apply`) is
what `apply` and `delete` call: preflight, register, update, replace, delete, then the
follow-up steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError, RunStopped
from importer.models import RowResult
from importer.send.apply import send_changes
from importer.send.executor import Batch, Executor, RowLog
from importer.send.feed import Feed
from importer.send.flow import Clock
from importer.send.operations.messaging import EnableMessaging
from importer.send.operations.preflight import preflight
from importer.send.operations.register import Register, not_attempted
from importer.send.operations.verify import Verify
from importer.send.retry import RetryPolicy
from importer.signals import StopSwitch

__all__ = [
    "Batch",
    "Executor",
    "Feed",
    "RetryPolicy",
    "register_rows",
    "send_changes",
    "send_rows",
]

OnResult = Callable[[RowResult], None]


async def register_rows(
    results: Sequence[RowResult] | Feed[RowResult],
    executor: Executor,
    *,
    on_result: OnResult | None = None,
    reconcile: Collection[int] = frozenset(),
) -> Batch[RowResult]:
    """Register each `would_register` row; rows in `reconcile` are looked up first."""

    register = Register()
    return await executor.run_rows(
        register,
        results,
        on_result=on_result,
        canary=executor.settings.canary,
        tally=lambda result: register.tally(result, reconcile),
    )


async def send_rows(
    results: Sequence[RowResult] | Feed[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    journal: RowLog | None = None,
    stop: StopSwitch | None = None,
    on_result: OnResult | None = None,
    reconcile: Collection[int] = frozenset(),
    policy: RetryPolicy | None = None,
    clock: Clock = time.monotonic,
) -> Batch[RowResult]:
    """Preflight, register, then --verify and --enable-messaging when asked for.

    `results` may be a `Feed` still growing (a run whose later chunks are still judged):
    its rows are registered as they arrive; the follow-up steps wait for all of them."""
    executor = Executor(client, settings, policy=policy, stop=stop, journal=journal, clock=clock)
    try:
        await preflight(executor)
    except (ApiError, RunStopped) as error:
        rows = await results.complete() if isinstance(results, Feed) else results
        return Batch(not_attempted(rows), error)
    batch = await register_rows(results, executor, on_result=on_result, reconcile=reconcile)
    if batch.stopped_by is not None or executor.stop.requested:
        return batch
    if settings.verify:
        batch.results = (await executor.run_rows(Verify(), batch.results)).results
    if settings.enable_messaging is not None:
        messaging = EnableMessaging(settings)
        batch.results = (await executor.run_rows(messaging, batch.results)).results
    return batch
