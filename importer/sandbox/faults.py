"""Fault injection: latency, 429 + Retry-After, 5xx, dropped connections, lost answers.

Every decision is drawn from one `random.Random(config.seed)`, in a fixed order per
request (latency, drop, fail; lose-answer after a successful register), so the same
seed and the same request sequence give the same faults. All faults are off by default.

Cutting a connection needs the real transport: uvicorn calls the app with its
`RequestResponseCycle.send` bound method, whose owner holds the asyncio transport. The
app stores it in the ASGI scope (`TRANSPORT_KEY`) before any middleware wraps `send`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from importer.sandbox.config import SandboxConfig

TRANSPORT_KEY = "sandbox.transport"
_DISCONNECT_WAIT_S = 1.0


class _Transport(Protocol):
    def close(self) -> None: ...


class ConnectionCutError(Exception):
    """Raised where no real transport exists (e.g. an in-process test client)."""


@dataclass(frozen=True)
class Decision:
    """What the faults do to one request before it is handled."""

    latency_s: float = 0.0
    rate_limited_after: float | None = None
    drop: bool = False
    fail_status: int | None = None


class TokenBucket:
    """A requests/second limit with a burst of one second's worth of requests."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float | None:
        """None when a token was taken, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class Faults:
    """Draws the faults for each request and performs the slow or violent ones."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.random = random.Random(config.seed)
        self.bucket = TokenBucket(config.rate_limit) if config.rate_limit else None
        self._closing: asyncio.Event | None = None

    def decide(self) -> Decision:
        """Draw this request's latency, rate-limit, drop and 5xx decisions."""
        config = self.config
        latency = self._latency_s()
        wait = self.bucket.take() if self.bucket is not None else None
        if wait is not None:
            return Decision(latency_s=latency, rate_limited_after=wait)
        drop = config.drop_rate > 0 and self.random.random() < config.drop_rate
        fail = not drop and config.fail_rate > 0 and self.random.random() < config.fail_rate
        status = self.random.choice(config.fail_statuses) if fail else None
        return Decision(latency_s=latency, drop=drop, fail_status=status)

    def lose_answer(self) -> bool:
        """Whether the answer to a committed register is lost."""
        rate = self.config.lose_answer_rate
        return rate > 0 and self.random.random() < rate

    def retry_after(self, wait_s: float) -> dict[str, str]:
        """The Retry-After header (whole seconds, at least 1), when switched on."""
        if not self.config.retry_after_header:
            return {}
        return {"Retry-After": str(max(1, math.ceil(wait_s)))}

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server is stopping."""
        if seconds <= 0:
            return
        if self._closing is None:
            self._closing = asyncio.Event()
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            return

    def wake(self) -> None:
        """Wake every sleeping request (call on the server's loop, when stopping)."""
        if self._closing is None:
            self._closing = asyncio.Event()
        self._closing.set()

    def _latency_s(self) -> float:
        config = self.config
        if config.latency_ms <= 0 and config.latency_jitter_ms <= 0:
            return 0.0
        jitter = config.latency_jitter_ms
        if config.latency_distribution == "exponential" and jitter > 0:
            extra = self.random.expovariate(1 / jitter)
        else:
            extra = self.random.uniform(-jitter, jitter) if jitter > 0 else 0.0
        return max(0.0, config.latency_ms + extra) / 1000


def transport_of(send: Send) -> Any:
    """The asyncio transport behind uvicorn's `send`, or None for other servers."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if callable(getattr(transport, "close", None)) else None


async def cut_connection(scope: Scope, receive: Receive, *, unread_body: bool = False) -> None:
    """Close the client's connection without an answer and wait until uvicorn sees it.

    With `unread_body`, the request body is read first, so the client sees a clean
    close (FIN, "server disconnected") rather than a reset from unread bytes.
    """
    transport: _Transport | None = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionCutError("the sandbox cut the connection (no transport to close)")
    while unread_body:
        message = await receive()
        unread_body = message["type"] == "http.request" and message.get("more_body", False)
    transport.close()
    try:
        async with asyncio.timeout(_DISCONNECT_WAIT_S):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return
