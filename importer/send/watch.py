"""What a pass watches while its items are sent, and what the retry loop tells it.

`Watch` holds a pass's stop reason and turns what happens into it: a stop request
(SIGINT/SIGTERM), a 401/403 or a redirect (`observe`), the circuit breaker tripping,
`UNREACHABLE_AFTER_ITEMS` items in a row that never connected (`exhausted`). It also
waits on the pass's behalf (`pause`: ended by a stop request) and says once a pass that
rows were left for the next run (`deferred`). `importer.send.executor.Pass` is a Watch.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from importer.errors import ApiError, ApiUnreachableError, RunStopped
from importer.logs import event, get_logger
from importer.send.reading import Kind, Reading, Request
from importer.send.steps import Tally

if TYPE_CHECKING:
    from importer.send.executor import Executor

__all__ = ["UNREACHABLE_AFTER_ITEMS", "StopReason", "Watch"]

StopReason = ApiError | RunStopped

UNREACHABLE_AFTER_ITEMS = 3
"""A pass stops with `ApiUnreachableError` after this many items in a row never connected."""

_log = get_logger("importer.send")
_NOT_ERRORS = frozenset({409, 429})  # retried, but no sign of a failing server


class Watch:
    """A pass's stop reason and the signs that set it (see the module doc)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.stopped_by: StopReason | None = None
        self.unreachable_items = 0
        self.deferrals = 0

    async def pause(self, seconds: float, *, what: str) -> None:
        """Wait `seconds` through the policy, unless a stop request comes first."""
        switch = self.executor.stop
        if switch.requested:
            return
        waiting = asyncio.ensure_future(self.executor.policy.wait(seconds, what=what))
        stopping = asyncio.ensure_future(switch.wait())
        try:
            await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopping):
                task.cancel()

    def halted(self) -> Reading | None:
        """A HALTED reading once the pass has stopped (a stop request stops it now)."""
        switch = self.executor.stop
        if switch.requested:
            self.stop(RunStopped(f"interrupted ({switch.reason}); run again to resume"))
        if self.stopped_by is None:
            return None
        return Reading(kind=Kind.HALTED, detail=str(self.stopped_by), error=self.stopped_by)

    def observe(self, request: Request, reading: Reading) -> None:
        """Feed the adaptive rate and the breaker with one answer; stop on STOP."""
        executor = self.executor
        executor.flow.answered(throttled=reading.status == 429)
        if reading.reached:
            self.unreachable_items = 0
        if reading.kind is Kind.STOP and isinstance(reading.error, ApiError):
            self.stop(reading.error)
        if not request.watched:
            return
        error = reading.kind is Kind.UNKNOWN or (
            reading.kind is Kind.RETRY and reading.status not in _NOT_ERRORS
        )
        breaker = executor.breaker
        if breaker.record(error) and self.stopped_by is None:
            self.stop(
                RunStopped(
                    f"circuit breaker: {breaker.error_rate:.0%} of the last "
                    f"{breaker.samples} requests failed (limit "
                    f"{breaker.max_error_rate:.0%}); run again to resume"
                )
            )

    def deferred(self, wait: float) -> None:
        """A row was left for the next run: say so once a pass (the rows say it each)."""
        if self.deferrals == 0:
            limit = self.executor.policy.max_wait
            message = (
                f"the API asked to wait {wait:.0f} s before trying again, longer than"
                f" --max-wait ({limit:.0f} s): such rows are left for the next run (api.deferred)"
            )
            event(_log, "retry_deferred", message, level=logging.WARNING, seconds=wait)
        self.deferrals += 1

    def exhausted(self, tally: Tally, reading: Reading) -> None:
        """An item ran out of attempts: after enough that never connected, stop the pass."""
        if tally.connect_failures < tally.attempts or tally.attempts == 0:
            return
        self.unreachable_items += 1
        if self.unreachable_items >= UNREACHABLE_AFTER_ITEMS:
            self.stop(
                ApiUnreachableError(
                    f"cannot reach {str(self.executor.client.base_url).rstrip('/')}:"
                    f" {self.unreachable_items} rows in a row failed to connect ({reading.detail})"
                )
            )

    def stop(self, error: StopReason) -> None:
        """Stop the pass (the first reason wins)."""
        if self.stopped_by is None:
            self.stopped_by = error

    def _reason(self) -> str:
        return "the run stopped" if self.stopped_by is None else str(self.stopped_by)
