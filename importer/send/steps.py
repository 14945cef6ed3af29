"""The one retry loop: `Steps.send` sends a request until its answer is final.

Each item an operation settles gets its own `Steps` (and `Tally`): the operation calls
`steps.send(request, read, reconcile=...)` for every request it needs and gets back a
`Reading` whose kind is final for it (DONE, REFUSED, STOP, HALTED, DEFERRED), or the
last transient reading (RETRY, UNKNOWN) once attempts ran out (`tally.exhausted`).

    while the run goes on:
        attempt: rate slot, journal `sending` (writes; a first write was journaled
                 with its group as it was dispatched), request, read, breaker fed
        DONE / REFUSED / STOP   → return it
        out of attempts         → return it, exhausted (unknown writes: after reconciling)
        wait = policy.delay(…)  → over --max-wait: DEFERRED (reconciled first if unknown)
        sleep(wait)
        UNKNOWN write           → reconcile(): settled → return it; absent → send again;
                                  no usable lookup → return it, held for the second pass

Reads are safe to repeat, so an unknown read is simply sent again; so is a write the
operation gives no `reconcile` for (it declares it safe to repeat).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from importer.send.reading import Kind, Reading, Request, read_answer, read_transport_error

if TYPE_CHECKING:
    from importer.send.executor import Pass

__all__ = ["Read", "Reconcile", "Steps", "Tally"]

Read = Callable[[httpx.Response, Request], Reading]
Reconcile = Callable[[], Awaitable[Reading | None]]

_FINAL = frozenset({Kind.DONE, Kind.REFUSED, Kind.STOP, Kind.HALTED})


@dataclass(slots=True)
class Tally:
    """One item's history: what the report and the journal need to know of it."""

    journal_row: int | None = None
    """The sheet row journaled `sending` before each write (None: not journaled)."""
    attempts: int = 0
    """Writes sent for this item (the report's `attempts`)."""
    last_status: int | None = None
    maybe_done: bool = False
    """A write went out whose outcome is unknown: reconcile before sending again."""
    in_flight: bool = False
    """A request of this item is out, unanswered (an abort now leaves its outcome unknown)."""
    connect_failures: int = 0
    exhausted: bool = False
    """Gave up on transient faults: the executor gives it a second pass."""
    premarked: bool = False
    """Its first write was journaled `sending` with its group, just before dispatch."""
    step: str | None = None
    """The step of a several-write item done so far (a replace's `deleted`), as journaled
    by `RowLog.stepped`, or as an unfinished run journaled it."""


class Steps:
    """The requests of one item, sent through the run's executor (see the module doc)."""

    def __init__(self, run: Pass[Any, Any], tally: Tally) -> None:
        self.run = run
        self.tally = tally

    @property
    def stopped_by(self) -> str | None:
        """Why the run stopped, if it has."""
        return None if self.run.stopped_by is None else str(self.run.stopped_by)

    async def send(
        self, request: Request, read: Read = read_answer, *, reconcile: Reconcile | None = None
    ) -> Reading:
        """Send `request` until its answer is final for this item (see the module doc)."""
        policy = self.run.executor.policy
        tries = 0
        while True:
            halted = self.run.halted()
            if halted is not None:
                return halted
            reading = await self._attempt(request, read)
            tries += 1
            if reading.kind in _FINAL:
                return reading
            unknown_write = reading.kind is Kind.UNKNOWN and request.writes
            reconciling = reconcile if unknown_write else None
            if tries >= policy.max_attempts and reconciling is None:
                return self._exhausted(request, reading)
            wait = policy.delay(tries, reading.wait_floor)
            if policy.too_long(wait):
                return await self._deferred(reading, wait, reconciling)
            await self.run.pause(wait, what=request.what)
            if reconciling is not None:
                settled = await reconciling()
                if settled is not None:  # unknown still (no usable lookup): a second pass
                    self.tally.exhausted = settled.kind is Kind.UNKNOWN
                    return settled
                if tries >= policy.max_attempts:
                    return self._exhausted(request, reading)

    def stepped(self, step: str) -> None:
        """An item of several writes finished `step` (a replace's `deleted`): kept in its
        tally, and journaled at once, before its next write leaves."""
        self.tally.step = step
        journal, row = self.run.executor.journal, self.tally.journal_row
        if journal is not None and row is not None:
            journal.stepped(row, step)

    async def pause(self, seconds: float, *, what: str) -> None:
        """Wait `seconds` (an operation's own pacing, e.g. reading a state back), unless the
        run stops first."""
        await self.run.pause(seconds, what=what)

    async def _attempt(self, request: Request, read: Read) -> Reading:
        executor, tally = self.run.executor, self.tally
        await executor.flow.acquire()
        if request.writes:
            tally.attempts += 1
            if tally.premarked:  # journaled with its group (`Pass._dispatched`)
                tally.premarked = False
            elif executor.journal is not None and tally.journal_row is not None:
                executor.journal.sending(tally.journal_row, tally.attempts)
        tally.in_flight = True
        try:
            response = await executor.send(request)
        except httpx.RequestError as error:
            reading = read_transport_error(error, request)
        else:
            reading = read(response, request)
        finally:
            tally.in_flight = False
        if request.writes:
            tally.last_status = reading.status
            tally.maybe_done |= reading.kind is Kind.UNKNOWN
            tally.connect_failures += not reading.reached
        self.run.observe(request, reading)
        return reading

    async def _deferred(
        self, reading: Reading, wait: float, reconcile: Reconcile | None
    ) -> Reading:
        """A wait too long to sit through: left for the next run (reconciled first if unknown)."""
        if reconcile is not None:
            settled = await reconcile()
            if settled is not None:
                return settled
        self.run.deferred(wait)
        return reading.but(Kind.DEFERRED, wait_floor=wait)

    def _exhausted(self, request: Request, reading: Reading) -> Reading:
        """Out of attempts. Only a write is held for the second pass: a read that found no
        answer (a lookup) leaves its item as its operation settles it."""
        self.tally.exhausted = request.writes
        self.run.exhausted(self.tally, reading)
        return reading
