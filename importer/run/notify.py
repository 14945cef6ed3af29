"""Notifications: POST a run's JSON summary to a URL when the run ends.

A monitor (a chat webhook relay, an alerting endpoint, an Airflow sensor) learns the
outcome without reading files. Delivery is best effort by contract: a few attempts
with a timeout and backoff, then a warning in the log. Nothing here ever raises to the
caller or changes the run's exit code, and no request carries the API token: the body
is a summary (which never holds it) passed through `importer.config.redact` anyway, and
there is no `Authorization` header.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from importer import __version__
from importer.config import ApiSettings, NotifySettings, redact
from importer.logs import event, get_logger
from importer.reporter import redact_url
from importer.reporter.summary import RunSummary
from importer.send import Executor, RetryPolicy
from importer.send.operations.notify import Notify
from importer.send.reading import Kind
from importer.send.steps import Tally

BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0

Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one notification: delivered or not, attempts, last answer."""

    delivered: bool
    attempts: int
    detail: str


def notify(
    payload: Mapping[str, Any],
    settings: NotifySettings,
    *,
    secrets: Sequence[str] = (),
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = time.sleep,
    logger: logging.Logger | None = None,
) -> Delivery | None:
    """POST `payload` as JSON to `settings.url` (None when no URL is set); never raises.

    Sent by the `notify` operation on the executor (the one retry policy): transport
    errors, 408/409/425/429 and 5xx are retried up to `settings.attempts` times; the
    outcome is logged as `notify_sent` or, as a warning, `notify_failed`.
    """
    if settings.url is None:
        return None
    body = redact(json.dumps(payload, default=str), secrets).encode("utf-8")
    delivery = asyncio.run(_send(settings.url, settings, body, transport=transport, sleep=sleep))
    _log(logger or get_logger("importer.run.notify"), settings.url, delivery)
    return delivery


def summary_payload(summary: RunSummary) -> dict[str, Any]:
    """A run's JSON summary as `--summary-json` writes it (base URL without credentials)."""
    payload: dict[str, Any] = json.loads(summary.model_dump_json())
    payload["base_url"] = redact_url(summary.base_url)
    return payload


async def _send(
    url: str,
    settings: NotifySettings,
    body: bytes,
    *,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Sleep,
) -> Delivery:
    """One notify pass on its own client and executor (the one retry policy)."""
    steps = ApiSettings(
        max_attempts=settings.attempts,
        backoff_base=BACKOFF_BASE,
        backoff_max=BACKOFF_MAX,
        max_wait=BACKOFF_MAX,  # a webhook asking for longer is not worth holding the run for
        concurrency=1,
        max_error_rate=1.0,
        second_pass=False,
    )

    async def wait(seconds: float) -> None:
        sleep(seconds)

    headers = {"Content-Type": "application/json", "User-Agent": f"did-import/{__version__}"}
    policy = RetryPolicy.from_settings(steps, sleep=wait)
    async with httpx.AsyncClient(timeout=settings.timeout, transport=transport) as client:
        executor = Executor(client, steps, policy=policy)
        tally = Tally()
        batch = await executor.run(Notify(url, headers), [body], tallies=[tally])
    reading = batch.results[0]
    detail = f"HTTP {reading.status}" if reading.status is not None else reading.detail
    return Delivery(reading.kind is Kind.DONE, tally.attempts, detail)


def _log(logger: logging.Logger, url: str, delivery: Delivery) -> None:
    where = safe_url(url)
    detail = delivery.detail.replace(url, where)
    if delivery.delivered:
        message = f"summary sent to {where} ({delivery.detail})"
        event(logger, "notify_sent", message, url=where, attempts=delivery.attempts)
        return
    event(
        logger,
        "notify_failed",
        f"could not send the summary to {where} after {delivery.attempts} attempt(s):"
        f" {detail}; the run's outcome is unchanged",
        level=logging.WARNING,
        url=where,
        attempts=delivery.attempts,
        detail=detail,
    )


def safe_url(url: str) -> str:
    """Scheme, host and port only: webhook URLs often carry a secret in the path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"
