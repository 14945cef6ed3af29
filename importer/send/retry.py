"""The one retry policy: how long to wait before sending again, and when to give up.

Stamina's habit: only what an operation's reading declares retryable is tried again
(`Kind.RETRY`, and `Kind.UNKNOWN` once reconciled); everything else is final. Each
wait is full-jitter exponential backoff, with the answer's `Retry-After` as a floor::

    wait = max(retry_after, uniform(0, min(backoff_max, backoff_base * 2**(attempt-1))))

A wait longer than `max_wait` is not waited: the row is left for the next run with a
clear message (`api.deferred`), since a run that sits silent for an hour helps no one.
Long waits that are taken are logged first (`retry_wait`), so a quiet run says why.

`RetryPolicy.without_waits()` is the test mode: the same decisions, no sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from importer.config import ApiSettings
from importer.logs import event, get_logger

__all__ = ["LOUD_WAIT_SECONDS", "RetryPolicy", "Sleep", "backoff_delay"]

Sleep = Callable[[float], Awaitable[None]]

LOUD_WAIT_SECONDS = 10.0
"""A wait at least this long is logged before it starts."""

_log = get_logger("importer.send")


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0.0, min(cap, base * 2.0 ** (attempt - 1)))


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)  # still yield, as a real wait would


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Attempts, backoff and the longest wait a run will sit through (see the module doc)."""

    max_attempts: int
    backoff_base: float
    backoff_max: float
    max_wait: float
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(
        cls,
        settings: ApiSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> RetryPolicy:
        """The policy `settings` describe; `sleep` and `rng` are for tests."""
        return cls(
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            max_wait=settings.max_wait,
            sleep=sleep,
            rng=rng or random.Random(),
        )

    def without_waits(self) -> RetryPolicy:
        """The same policy that never sleeps (for tests)."""
        return replace(self, sleep=_no_wait)

    def delay(self, attempt: int, floor: float) -> float:
        """Seconds to wait after the `attempt`-th try whose answer asked for `floor` at least."""
        jitter = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max, rng=self.rng)
        return max(floor, jitter)

    def too_long(self, seconds: float) -> bool:
        """True when a wait is longer than this run will sit through."""
        return seconds > self.max_wait

    async def wait(self, seconds: float, *, what: str) -> None:
        """Sleep `seconds` (through the injected `sleep`), saying so first when it is long."""
        if seconds >= LOUD_WAIT_SECONDS:
            message = f"{what}: waiting {seconds:.0f} s before trying again"
            event(_log, "retry_wait", message, level=logging.WARNING, seconds=seconds)
        await self.sleep(seconds)
