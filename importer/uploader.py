"""The uploader stage: register every `would_register` row, concurrently, and never twice.

`register_rows` sends `POST /phonenumber/external_dids` for each row validation passed,
through a fixed pool of `settings.concurrency` workers and an optional requests/second
pacer (`settings.rate`, shared by POSTs and lookups), and returns every row in the order
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

Waits (backoff, `Retry-After`, pacing) go through the injected `sleep`, so tests record
them instead of sleeping: exponential backoff with full jitter, `Retry-After` as a floor.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum, auto
from typing import Any

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
from importer.errors import ApiError, ApiUnreachableError, AuthError
from importer.models import Issue, RowResult, Status

__all__ = [
    "UNREACHABLE_AFTER_ROWS",
    "UploadBatch",
    "backoff_delay",
    "register_rows",
]

Sleep = Callable[[float], Awaitable[None]]
OnResult = Callable[[RowResult], None]

UNREACHABLE_AFTER_ROWS = 3
"""Stop with `ApiUnreachableError` after this many rows in a row failed to connect at all."""

_RETRYABLE = frozenset({Outcome.RETRY, Outcome.UNKNOWN})


@dataclass(slots=True)
class UploadBatch:
    """The uploader's answer: every row in input order, and what stopped the run, if anything."""

    results: list[RowResult]
    stopped_by: ApiError | None = None


async def register_rows(
    results: Sequence[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    sleep: Sleep = asyncio.sleep,
    on_result: OnResult | None = None,
    rng: random.Random | None = None,
) -> UploadBatch:
    """Register each `would_register` row; `on_result` hears each of them once it is final."""
    uploader = _Uploader(client, settings, sleep, rng or random.Random())
    return await uploader.run(results, on_result)


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

    def stopped(self, reason: ApiError) -> RowResult:
        if self.attempts == 0:
            return self.finish(Status.NOT_ATTEMPTED, catalogue.API_NOT_ATTEMPTED.issue())
        return self.failed(f"the run stopped before a retry ({reason})")


class _Pacer:
    """Shared requests/second limit: each request takes the next free time slot."""

    def __init__(self, rate: float | None, sleep: Sleep) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._sleep = sleep
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


class _Uploader:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: ApiSettings,
        sleep: Sleep,
        rng: random.Random,
    ) -> None:
        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.rng = rng
        self.pacer = _Pacer(settings.rate, sleep)
        self.stopped_by: ApiError | None = None
        self.unreachable_rows = 0

    async def run(self, results: Sequence[RowResult], on_result: OnResult | None) -> UploadBatch:
        out = list(results)
        rows = {
            i: _Row.start(r) for i, r in enumerate(results) if r.status is Status.WOULD_REGISTER
        }
        pending = iter(rows.items())

        async def worker() -> None:
            for index, row in pending:
                out[index] = await self.register(row)
                if on_result is not None:
                    on_result(out[index])

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.settings.concurrency, len(rows))):
                    group.create_task(worker())
        except BaseExceptionGroup as errors:  # a bug in a worker: surface it unwrapped
            raise errors.exceptions[0] from None
        return UploadBatch(out, self.stopped_by)

    async def register(self, row: _Row) -> RowResult:
        """Send one row until it is settled; the heart of the outcome rules above."""
        while True:
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

    async def _post(self, row: _Row) -> Answer:
        await self.pacer.wait()
        row.attempts += 1
        try:
            response = await self.client.post(EXTERNAL_DIDS, json=row.payload)
        except httpx.RequestError as error:
            answer = classify_transport_error(error)
        else:
            self.unreachable_rows = 0
            answer = classify(response)
        row.last_status = answer.status
        row.maybe_created |= answer.outcome is Outcome.UNKNOWN
        row.connect_failures += not answer.reached
        return answer

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
            await self.pacer.wait()
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

    def _stop(self, error: ApiError) -> None:
        if self.stopped_by is None:
            self.stopped_by = error
