"""Steps after registration, each explicit: read-back verification and messaging enablement.

`verify_rows` (`--verify`) reads back each record registered in this run and flags
`api.verify_mismatch` when its `active_capabilities` differ from its `capabilities`
(CarrierX documents them equal right after registration). `enable_messaging`
(`--enable-messaging a2p|p2p`, with `--campaign-sid` for a2p) asks CarrierX to enable
messaging on every registered or already-registered number: it is billed monthly per
number, so it only ever runs when asked for. Both only add warnings and `extra` fields:
a row's registration status never changes here.

Each request is retried with the uploader's backoff on 409/429/5xx/transport errors
(both requests are safe to repeat); a 401/403 stops the step for the remaining rows.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import httpx

from importer import catalogue
from importer.client import get_record, set_messaging
from importer.config import ApiSettings
from importer.errors import ApiError, AuthError
from importer.models import Issue, RowResult, Status
from importer.uploader import backoff_delay

__all__ = ["enable_messaging", "verify_rows"]

Sleep = Callable[[float], Awaitable[None]]
Call = Callable[[str], Awaitable[dict[str, Any]]]
_MESSAGING_ROWS = frozenset({Status.REGISTERED, Status.ALREADY_REGISTERED})


async def verify_rows(
    results: Sequence[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    sleep: Sleep = asyncio.sleep,
) -> list[RowResult]:
    """Read back every row registered in this run; flag capability mismatches."""

    async def check(result: RowResult, sid: str) -> RowResult:
        try:
            record = await _retrying(lambda s: get_record(client, s), sid, settings, sleep)
        except AuthError:
            raise
        except ApiError as error:
            return _warn(result, catalogue.API_VERIFY_FAILED.issue(detail=str(error)))
        active, wanted = record.get("active_capabilities"), record.get("capabilities")
        checked = replace(result, extra={**result.extra, "verified": active == wanted})
        if active == wanted:
            return checked
        issue = catalogue.API_VERIFY_MISMATCH.issue(active=active, wanted=wanted)
        return _warn(checked, issue)

    def wanted(result: RowResult) -> bool:
        return result.status is Status.REGISTERED and not result.extra.get("from_journal")

    def refused(result: RowResult, error: AuthError) -> RowResult:
        return _warn(result, catalogue.API_VERIFY_FAILED.issue(detail=str(error)))

    return await _each(results, wanted, check, refused, settings.concurrency)


async def enable_messaging(
    results: Sequence[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    sleep: Sleep = asyncio.sleep,
) -> list[RowResult]:
    """Enable `settings.enable_messaging` on every registered number; note the outcome."""
    kind = settings.enable_messaging
    body = {"enabled": True, "type": kind, "campaign_sid": settings.campaign_sid}

    async def enable(result: RowResult, sid: str) -> RowResult:
        try:
            answer = await _retrying(lambda s: set_messaging(client, s, body), sid, settings, sleep)
        except AuthError:
            raise
        except ApiError as error:
            issue = catalogue.API_MESSAGING_FAILED.issue(kind=kind, detail=str(error))
            return _warn(result, issue)
        return replace(result, extra={**result.extra, "messaging": answer.get("status")})

    def wanted(result: RowResult) -> bool:
        return result.status in _MESSAGING_ROWS

    def refused(result: RowResult, error: AuthError) -> RowResult:
        issue = catalogue.API_MESSAGING_FAILED.issue(kind=kind, detail=str(error))
        return _warn(result, issue)

    return await _each(results, wanted, enable, refused, settings.concurrency)


async def _each(
    results: Sequence[RowResult],
    wanted: Callable[[RowResult], bool],
    step: Callable[[RowResult, str], Awaitable[RowResult]],
    refused: Callable[[RowResult, AuthError], RowResult],
    concurrency: int,
) -> list[RowResult]:
    """Run `step` on the wanted rows with a sid, `concurrency` at a time; a 401/403 ends it."""
    gate = asyncio.Semaphore(concurrency)
    refusals: list[AuthError] = []

    async def one(result: RowResult) -> RowResult:
        sid = result.external_did_sid
        if not wanted(result) or sid is None:
            return result
        async with gate:
            if refusals:
                return refused(result, refusals[0])
            try:
                return await step(result, sid)
            except AuthError as error:
                refusals.append(error)
                return refused(result, error)

    return list(await asyncio.gather(*(one(result) for result in results)))


async def _retrying(call: Call, sid: str, settings: ApiSettings, sleep: Sleep) -> dict[str, Any]:
    """`call(sid)`, retried with backoff on anything but a refusal (AuthError)."""
    rng = random.Random()
    for attempt in range(1, settings.max_attempts + 1):
        try:
            return await call(sid)
        except AuthError:
            raise
        except ApiError:
            if attempt == settings.max_attempts:
                raise
            delay = backoff_delay(
                attempt, base=settings.backoff_base, cap=settings.backoff_max, rng=rng
            )
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _warn(result: RowResult, issue: Issue) -> RowResult:
    return replace(result, issues=(*result.issues, issue))
