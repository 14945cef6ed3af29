"""The uploader stage: register every `would_register` row, concurrently, and never twice.

`register_rows` sends `POST /phonenumber/external_dids` for each row validation passed,
through a fixed pool of `settings.concurrency` workers and an optional requests/second
token bucket (`settings.rate`, shared by POSTs and lookups; adaptive on 429, see
`importer.flow`), and returns every row in the order
given; rows of other statuses pass through untouched. `importer.client.classify` reads
each answer; what follows is decided here::

    200                                 → registered
    422 / 409 "phonenumber already …"   → already_registered (ours) | rejected api.number_taken
    other 4xx (400, 404, 415, 422, …)   → rejected api.rejected (the API's field and message)
    401 / 403                           → failed api.auth_refused; the run stops (AuthError)
    408, 409, 429, connect errors       → retried: nothing was created
    5xx, timeouts, resets after sending → outcome unknown: look the number up, then retry
    retries exhausted                   → failed api.failed

Never twice: after an attempt whose outcome is unknown the number is looked up (after the
backoff wait) before any further POST. Found means registered, with `extra["reconciled"]`
(and `http_status` left at the last POST's status, None after a transport error); a failed
lookup is retried with backoff, and if none answers the row fails: it is never sent again
on a guess. A duplicate answer that carries a `reference_sid` is trusted as ours
(carrierx-api.md sets it only for the caller's own record), which saves a lookup per row on
re-runs; without it the number is looked up, and absent means another account holds it.

Stopping: after a 401/403 no row is sent any more. Rows never sent end `not_attempted`;
rows that were between retries end `failed` (their earlier attempts may need a look).
When `UNREACHABLE_AFTER_ROWS` rows in a row could not connect on any attempt, the run
stops the same way with `ApiUnreachableError`. `attempts` counts the POSTs tried.
The run also stops, with `RunStopped` (exit 4, resumable), when the circuit breaker
trips (`settings.max_error_rate` over the last requests, see `importer.flow`), when
the first `settings.canary` rows fail beyond that rate, or when `stop` is requested
(SIGINT/SIGTERM, `importer.signals`): requests in flight finish, for at most
`STOP_GRACE_SECONDS`; an abort (second signal) cancels them at once.

Journal: `journal.sending` is called (and committed) before every POST, and
`journal.settled` once a row has its outcome. Rows listed in `reconcile` (a POST of
theirs may have gone out in an earlier, unfinished run) are looked up before any POST.

Waits (backoff, `Retry-After`, pacing) go through the injected `sleep`, so tests record
them instead of sleeping: exponential backoff with full jitter, `Retry-After` as a floor.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from enum import Enum, auto
from typing import Any, Protocol

import httpx

from importer import catalogue
from importer.client import (
    EXTERNAL_DIDS,
    Answer,
    FieldError,
    Outcome,
    auth_refused,
    classify,
    classify_transport_error,
    find_number,
)
from importer.config import ApiSettings
from importer.errors import ApiError, ApiUnreachableError, AuthError, RunStopped
from importer.flow import AdaptiveRate, CircuitBreaker, Clock
from importer.models import Issue, RowResult, Status
from importer.signals import STOP_GRACE_SECONDS, StopSwitch

__all__ = [
    "UNREACHABLE_AFTER_ROWS",
    "RowLog",
    "UploadBatch",
    "backoff_delay",
    "register_rows",
]

Sleep = Callable[[float], Awaitable[None]]
OnResult = Callable[[RowResult], None]
StopReason = ApiError | RunStopped

UNREACHABLE_AFTER_ROWS = 3
"""Stop with `ApiUnreachableError` after this many rows in a row failed to connect at all."""

_RETRYABLE = frozenset({Outcome.RETRY, Outcome.UNKNOWN})
_NOT_ERRORS = frozenset({409, 429})  # retried, but no sign of a failing server


class RowLog(Protocol):
    """What the uploader tells the journal (`importer.journal.RunJournal` implements it)."""

    def sending(self, row_number: int, attempts: int) -> None: ...

    def settled(self, result: RowResult) -> None: ...


@dataclass(slots=True)
class UploadBatch:
    """The uploader's answer: every row in input order, and what stopped the run, if anything."""

    results: list[RowResult]
    stopped_by: StopReason | None = None


async def register_rows(
    results: Sequence[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    sleep: Sleep = asyncio.sleep,
    on_result: OnResult | None = None,
    rng: random.Random | None = None,
    journal: RowLog | None = None,
    stop: StopSwitch | None = None,
    reconcile: Collection[int] = frozenset(),
    clock: Clock = time.monotonic,
) -> UploadBatch:
    """Register each `would_register` row; `on_result` hears each of them once it is final."""
    uploader = _Uploader(client, settings, sleep, rng or random.Random(), clock)
    uploader.journal, uploader.stop = journal, stop or StopSwitch()
    return await uploader.run(results, on_result, reconcile)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0.0, min(cap, base * 2.0 ** (attempt - 1)))


class _Lookup(Enum):
    ABSENT = auto()
    UNKNOWN = auto()


@dataclass(slots=True)
class _Row:
    """One row on its way through the retries."""

    result: RowResult
    payload: dict[str, Any]
    digits: str
    attempts: int = 0
    connect_failures: int = 0
    maybe_created: bool = False
    last_status: int | None = None
    lookup_error: str | None = None

    @classmethod
    def start(cls, result: RowResult) -> _Row:
        if result.payload is None:
            raise ValueError(f"row {result.row.number}: would_register without a payload")
        payload = dict(result.payload)
        return cls(result, payload, result.normalized_phonenumber or str(payload["phonenumber"]))

    def finish(self, status: Status, issue: Issue | None = None, **changes: Any) -> RowResult:
        issues = self.result.issues + ((issue,) if issue is not None else ())
        return replace(
            self.result,
            status=status,
            issues=issues,
            attempts=self.attempts,
            http_status=self.last_status,
            **changes,
        )

    def registered(self, record: dict[str, Any], *, reconciled: bool) -> RowResult:
        extra = {**self.result.extra, "reconciled": True} if reconciled else self.result.extra
        sid = record.get("external_did_sid")
        return self.finish(Status.REGISTERED, external_did_sid=sid, extra=extra)

    def failed(self, detail: str) -> RowResult:
        issue = catalogue.API_FAILED.issue(value=self.digits, attempts=self.attempts, detail=detail)
        return self.finish(Status.FAILED, issue)

    def stopped(self, reason: StopReason) -> RowResult:
        if self.attempts == 0:
            return self.finish(Status.NOT_ATTEMPTED, catalogue.API_NOT_ATTEMPTED.issue())
        return self.failed(f"the run stopped before a retry ({reason})")

    def cut_short(self) -> RowResult:
        """The run was aborted while this row's request was in flight."""
        if self.attempts == 0:
            return self.finish(Status.NOT_ATTEMPTED, catalogue.API_NOT_ATTEMPTED.issue())
        return self.failed("aborted while a request was in flight; outcome unknown until resumed")


class _Uploader:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: ApiSettings,
        sleep: Sleep,
        rng: random.Random,
        clock: Clock,
    ) -> None:
        self.client = client
        self.settings = settings
        # absolute, built once: httpx parses a relative URL twice per request otherwise
        self.endpoint = httpx.URL(str(client.base_url).rstrip("/") + EXTERNAL_DIDS)
        self.sleep = sleep
        self.rng = rng
        self.flow = AdaptiveRate(settings.rate, clock=clock, sleep=sleep)
        self.breaker = CircuitBreaker(settings.max_error_rate)
        self.journal: RowLog | None = None
        self.stop = StopSwitch()
        self.stopped_by: StopReason | None = None
        self.unreachable_rows = 0

    async def run(
        self,
        results: Sequence[RowResult],
        on_result: OnResult | None,
        reconcile: Collection[int],
    ) -> UploadBatch:
        out = list(results)
        rows = [
            (i, _Row.start(r)) for i, r in enumerate(results) if r.status is Status.WOULD_REGISTER
        ]
        for _, row in rows:
            row.maybe_created = row.result.row.number in reconcile
        canary = min(self.settings.canary, len(rows))
        await self._pool(rows[:canary], out, on_result)
        if canary and self.stopped_by is None:
            self._judge_canary(out[i] for i, _ in rows[:canary])
        await self._pool(rows[canary:], out, on_result)
        for index, row in rows:  # after an abort, rows no worker reached
            if out[index].status is Status.WOULD_REGISTER and self.stopped_by is not None:
                out[index] = row.stopped(self.stopped_by)
        return UploadBatch(out, self.stopped_by)

    async def _pool(
        self, rows: list[tuple[int, _Row]], out: list[RowResult], on_result: OnResult | None
    ) -> None:
        """Settle `rows` with `concurrency` workers; honour stop requests and aborts."""
        pending = iter(rows)

        async def worker() -> None:
            for index, row in pending:
                try:
                    out[index] = await self._settle_row(row)
                except asyncio.CancelledError:
                    out[index] = row.cut_short()
                    raise
                if on_result is not None:
                    on_result(out[index])

        workers = [
            asyncio.create_task(worker()) for _ in range(min(self.settings.concurrency, len(rows)))
        ]
        if not workers:
            return
        watcher = asyncio.create_task(self._watch_stop(workers))
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            watcher.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                for other in workers:
                    other.cancel()
                raise task.exception() from None  # type: ignore[misc]
        if any(not task.done() for task in workers):
            await asyncio.wait(workers)

    async def _watch_stop(self, workers: list[asyncio.Task[None]]) -> None:
        """On a stop request stop dispatching; on abort or after the grace, cancel in flight."""
        await self.stop.wait()
        self._heed_stop()
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await self.stop.wait(abort=True)
        except TimeoutError:
            pass
        for task in workers:
            task.cancel()

    def _judge_canary(self, results: Any) -> None:
        settled = list(results)
        bad = sum(r.status in (Status.REJECTED, Status.FAILED) for r in settled)
        if bad / len(settled) > self.settings.max_error_rate:
            limit = self.settings.max_error_rate
            self._stop(
                RunStopped(
                    f"canary: {bad} of the first {len(settled)} rows were rejected or failed "
                    f"(more than {limit:.0%}); fix them and run again"
                )
            )

    async def _settle_row(self, row: _Row) -> RowResult:
        result = None
        self._heed_stop()
        if row.maybe_created and self.stopped_by is None:  # an earlier run may have sent it
            result = await self._reconcile_first(row)
        if result is None:
            result = await self.register(row)
        if self.journal is not None:
            self.journal.settled(result)
        return result

    async def register(self, row: _Row) -> RowResult:
        """Send one row until it is settled; the heart of the outcome rules above."""
        while True:
            self._heed_stop()
            if self.stopped_by is not None:
                return row.stopped(self.stopped_by)
            answer = await self._post(row)
            if answer.outcome not in _RETRYABLE:
                return await self._settle(row, answer)
            out_of_attempts = row.attempts >= self.settings.max_attempts
            if out_of_attempts and answer.outcome is Outcome.RETRY:
                return self._exhausted(row, answer)
            await self._backoff(row.attempts, answer.wait_floor)
            if answer.outcome is Outcome.UNKNOWN:
                found = await self._look_up(row)
                if found is _Lookup.UNKNOWN:
                    return row.failed(f"outcome unknown ({answer.detail}); {row.lookup_error}")
                if found is not _Lookup.ABSENT:
                    return row.registered(found, reconciled=True)
                if out_of_attempts:
                    return self._exhausted(row, answer)

    async def _reconcile_first(self, row: _Row) -> RowResult | None:
        """Look up a row an unfinished run may have sent; None when absent (send it)."""
        found = await self._look_up(row)
        if found is _Lookup.UNKNOWN:
            return row.failed(f"sent by an unfinished run, still unknown; {row.lookup_error}")
        if found is _Lookup.ABSENT:
            return None
        return row.registered(found, reconciled=True)

    async def _post(self, row: _Row) -> Answer:
        await self.flow.acquire()
        row.attempts += 1
        if self.journal is not None:
            self.journal.sending(row.result.row.number, row.attempts)
        try:
            response = await self.client.post(self.endpoint, json=row.payload)
        except httpx.RequestError as error:
            answer = classify_transport_error(error)
        else:
            self.unreachable_rows = 0
            answer = classify(response)
        row.last_status = answer.status
        row.maybe_created |= answer.outcome is Outcome.UNKNOWN
        row.connect_failures += not answer.reached
        self._observe(answer)
        return answer

    def _observe(self, answer: Answer) -> None:
        """Feed the adaptive rate and the circuit breaker with one answer."""
        self.flow.answered(throttled=answer.status == 429)
        error = answer.outcome is Outcome.UNKNOWN or (
            answer.outcome is Outcome.RETRY and answer.status not in _NOT_ERRORS
        )
        if self.breaker.record(error) and self.stopped_by is None:
            self._stop(
                RunStopped(
                    f"circuit breaker: {self.breaker.error_rate:.0%} of the last "
                    f"{self.breaker.samples} requests failed (limit "
                    f"{self.breaker.max_error_rate:.0%}); run again to resume"
                )
            )

    async def _settle(self, row: _Row, answer: Answer) -> RowResult:
        if answer.outcome is Outcome.CREATED and answer.record is not None:
            return row.registered(answer.record, reconciled=False)
        if answer.outcome is Outcome.DUPLICATE and answer.duplicate is not None:
            return await self._settle_duplicate(row, answer.duplicate)
        assert answer.problem is not None
        if answer.outcome is Outcome.REFUSED:
            error = auth_refused(answer.problem, what=f"registering {row.digits}")
            self._stop(error)
            issue = catalogue.API_AUTH_REFUSED.issue(value=row.digits, detail=answer.detail)
            return row.finish(Status.FAILED, issue)
        field = answer.problem.field
        value = row.payload.get(field) if field else None
        issue = catalogue.API_REJECTED.issue(
            field=field, value=None if value is None else str(value), detail=answer.detail
        )
        return row.finish(Status.REJECTED, issue)

    async def _settle_duplicate(self, row: _Row, error: FieldError) -> RowResult:
        sid = error.reference_sid
        if sid is None:
            found = await self._look_up(row)
            if found is _Lookup.UNKNOWN:
                return row.failed(f"already registered, owner unknown; {row.lookup_error}")
            if found is _Lookup.ABSENT:
                issue = catalogue.API_NUMBER_TAKEN.issue(field="phonenumber", value=row.digits)
                return row.finish(Status.REJECTED, issue)
            sid = found.get("external_did_sid")
        if row.maybe_created:  # our own earlier, unanswered attempt created it
            return row.registered({"external_did_sid": sid}, reconciled=True)
        return row.finish(Status.ALREADY_REGISTERED, external_did_sid=sid)

    async def _look_up(self, row: _Row) -> dict[str, Any] | _Lookup:
        """Find the number; retry failed lookups with backoff; UNKNOWN when none answered."""
        for attempt in range(1, self.settings.max_attempts + 1):
            if self.stopped_by is not None:
                row.lookup_error = f"the run stopped ({self.stopped_by})"
                return _Lookup.UNKNOWN
            await self.flow.acquire()
            try:
                record = await find_number(self.client, row.digits)
            except AuthError as error:
                self._stop(error)
                row.lookup_error = str(error)
                return _Lookup.UNKNOWN
            except ApiError as error:
                row.lookup_error = str(error)
                if attempt < self.settings.max_attempts:
                    await self._backoff(attempt, 0.0)
                continue
            return record if record is not None else _Lookup.ABSENT
        return _Lookup.UNKNOWN

    def _exhausted(self, row: _Row, answer: Answer) -> RowResult:
        if row.connect_failures == row.attempts:
            self.unreachable_rows += 1
            if self.unreachable_rows >= UNREACHABLE_AFTER_ROWS:
                self._stop(
                    ApiUnreachableError(
                        f"cannot reach {self.client.base_url}: {self.unreachable_rows} rows "
                        f"in a row failed to connect ({answer.detail})"
                    )
                )
        return row.failed(answer.detail)

    async def _backoff(self, attempt: int, floor: float) -> None:
        cap, base = self.settings.backoff_max, self.settings.backoff_base
        await self.sleep(max(floor, backoff_delay(attempt, base=base, cap=cap, rng=self.rng)))

    def _heed_stop(self) -> None:
        """Turn a stop request (signal) into the run's stop reason, once."""
        if self.stop.requested:
            self._stop(RunStopped(f"interrupted ({self.stop.reason}); run again to resume"))

    def _stop(self, error: StopReason) -> None:
        if self.stopped_by is None:
            self.stopped_by = error
