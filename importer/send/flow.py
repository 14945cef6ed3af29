"""Flow control for the uploader: a shared rate limit that adapts to 429, and a circuit breaker.

`TokenBucket` paces every request of a run (POSTs and lookups alike): each request
takes the next free slot, `1/rate` seconds after the previous one, so the limit holds
across all workers. `AdaptiveRate` owns the bucket and, once per `WINDOW_SECONDS` of
answers, moves its rate:

    more than THROTTLE_TOLERANCE of the answers were 429
        → rate = DECREASE_FACTOR * the rate the API accepted (non-429 answers/second),
          never below MIN_RATE (this works whether or not a rate was configured)
    otherwise, while limited below the configured rate
        → rate * RECOVERY_FACTOR (slow recovery), up to the configured rate; with none
          configured, the limit is lifted once it reaches twice the first cut

A few scattered 429s (under the tolerance) are noise: those rows wait out their
`Retry-After` and retry, and the rate stays; a real limit shows up as a high share.

`CircuitBreaker` watches the last `window` request outcomes (server errors and lost
answers count, 429 and row rejections do not) and trips when their error rate passes
`max_error_rate`; the uploader then stops the run (exit 4, resumable).

Time and waits are injected (`clock`, `sleep`), so tests drive them without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = [
    "DECREASE_FACTOR",
    "DEFAULT_ERROR_WINDOW",
    "MIN_ERROR_SAMPLES",
    "MIN_RATE",
    "RECOVERY_FACTOR",
    "THROTTLE_TOLERANCE",
    "WINDOW_SECONDS",
    "AdaptiveRate",
    "CircuitBreaker",
    "TokenBucket",
]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MIN_RATE = 1.0
"""Requests/second the adaptive rate never goes below."""
WINDOW_SECONDS = 1.0
"""The rate is judged, and moved, once per this many seconds of answers."""
THROTTLE_TOLERANCE = 0.10
"""A window with more than this share of 429s cuts the rate; fewer are noise, retried."""
DECREASE_FACTOR = 0.9
"""A cut sets the rate to this share of what the API accepted in the window."""
RECOVERY_FACTOR = 1.1
"""Each window within tolerance raises the rate by 10 %, up to the configured one."""
DEFAULT_ERROR_WINDOW = 100
"""The circuit breaker judges the last this-many requests."""
MIN_ERROR_SAMPLES = 20
"""…and only once it has seen at least this many."""


class TokenBucket:
    """A requests/second limit shared by all workers; `rate=None` means no limit."""

    def __init__(
        self, rate: float | None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this request's slot (returns at once when there is no limit)."""
        if not self.rate:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await self._sleep(slot - now)


class AdaptiveRate:
    """A `TokenBucket` whose rate follows what the API accepts (see the module doc)."""

    def __init__(
        self, ceiling: float | None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.ceiling = ceiling
        self.bucket = TokenBucket(ceiling, clock=clock, sleep=sleep)
        self._clock = clock
        self._window_start = clock()
        self._answers = 0
        self._throttled = 0
        self._lift_at: float | None = None

    @property
    def rate(self) -> float | None:
        """The limit in force now (None: unlimited)."""
        return self.bucket.rate

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        await self.bucket.acquire()

    def answered(self, *, throttled: bool) -> None:
        """Count one answer (`throttled`: it was a 429); adjust the rate once per window."""
        now = self._clock()
        elapsed = now - self._window_start
        if elapsed >= WINDOW_SECONDS:
            self._adjust(elapsed)
            self._window_start, self._answers, self._throttled = now, 0, 0
        self._answers += 1
        self._throttled += throttled

    def _adjust(self, elapsed: float) -> None:
        if not self._answers:
            return
        if self._throttled / self._answers > THROTTLE_TOLERANCE:
            accepted = (self._answers - self._throttled) / elapsed
            self.bucket.rate = max(MIN_RATE, accepted * DECREASE_FACTOR)
            if self.ceiling is None and self._lift_at is None:
                self._lift_at = 2 * self.bucket.rate
            return
        rate = self.bucket.rate
        if rate is None or rate == self.ceiling:
            return
        raised = rate * RECOVERY_FACTOR
        if self.ceiling is not None:
            self.bucket.rate = min(raised, self.ceiling)
        elif self._lift_at is not None and raised >= self._lift_at:
            self.bucket.rate, self._lift_at = None, None
        else:
            self.bucket.rate = raised


class CircuitBreaker:
    """Trips when the error rate over the last `window` outcomes passes `max_error_rate`."""

    def __init__(self, max_error_rate: float, *, window: int = DEFAULT_ERROR_WINDOW) -> None:
        self.max_error_rate = max_error_rate
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._errors = 0

    @property
    def error_rate(self) -> float:
        """Errors / outcomes in the window (0 when empty)."""
        return self._errors / len(self._outcomes) if self._outcomes else 0.0

    @property
    def samples(self) -> int:
        """How many outcomes the window holds."""
        return len(self._outcomes)

    def record(self, error: bool) -> bool:
        """Count one outcome; True when the breaker is (now) tripped."""
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen and outcomes[0]:
            self._errors -= 1
        outcomes.append(error)
        self._errors += error
        return self.tripped

    @property
    def tripped(self) -> bool:
        """Enough samples, and more errors among them than allowed."""
        enough = len(self._outcomes) >= min(MIN_ERROR_SAMPLES, self._outcomes.maxlen or 0)
        return enough and self.error_rate > self.max_error_rate
