"""Flow control: the shared token bucket, the 429-adaptive rate, and the circuit breaker."""

from __future__ import annotations

import asyncio

import pytest

from importer.send.flow import (
    DECREASE_FACTOR,
    MIN_ERROR_SAMPLES,
    MIN_RATE,
    RECOVERY_FACTOR,
    WINDOW_SECONDS,
    AdaptiveRate,
    CircuitBreaker,
    TokenBucket,
)


class FakeTime:
    """A clock that only moves when told to (or when something sleeps on it)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def acquire_many(bucket: TokenBucket | AdaptiveRate, n: int) -> None:
    async def go() -> None:
        for _ in range(n):
            await bucket.acquire()

    asyncio.run(go())


def test_bucket_without_rate_never_waits(clock: FakeTime) -> None:
    """rate=None is no limit: no request waits."""
    acquire_many(TokenBucket(None, clock=clock, sleep=clock.sleep), 50)
    assert clock.slept == []


def test_bucket_spaces_requests_by_one_over_rate(clock: FakeTime) -> None:
    """At 10 requests/second, 21 requests take 2 seconds: one every 0.1 s after the first."""
    acquire_many(TokenBucket(10, clock=clock, sleep=clock.sleep), 21)
    assert clock.now - 100.0 == pytest.approx(2.0)
    assert all(wait == pytest.approx(0.1) for wait in clock.slept)


def test_bucket_is_shared_by_concurrent_workers(clock: FakeTime) -> None:
    """Eight workers together still get 10 requests/second, not 10 each."""
    waits: list[float] = []

    async def note(seconds: float) -> None:  # time stands still: each wait is its slot
        waits.append(seconds)

    bucket = TokenBucket(10, clock=clock, sleep=note)

    async def go() -> None:
        async def worker() -> None:
            for _ in range(5):
                await bucket.acquire()

        await asyncio.gather(*(worker() for _ in range(8)))

    asyncio.run(go())
    assert sorted(waits) == pytest.approx([i / 10 for i in range(1, 40)])


def answer_window(rate: AdaptiveRate, clock: FakeTime, *, answers: int, throttled: int) -> None:
    """Feed one window's answers, then step past its end."""
    for i in range(answers):
        rate.answered(throttled=i < throttled)
    clock.now += WINDOW_SECONDS
    rate.answered(throttled=False)  # closes the window


def test_many_429s_cut_the_rate_to_what_was_accepted(clock: FakeTime) -> None:
    """Half the answers 429 at 100/s: the rate drops to 0.9 x the 50/s the API accepted."""
    rate = AdaptiveRate(100, clock=clock, sleep=clock.sleep)
    answer_window(rate, clock, answers=100, throttled=50)
    assert rate.rate == pytest.approx(50 * DECREASE_FACTOR)


def test_scattered_429s_below_tolerance_leave_the_rate(clock: FakeTime) -> None:
    """5 % of 429s is noise (rows retry after Retry-After); the rate stays."""
    rate = AdaptiveRate(100, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        answer_window(rate, clock, answers=100, throttled=5)
    assert rate.rate == 100


def test_rate_recovers_slowly_up_to_the_configured_rate(clock: FakeTime) -> None:
    """After a cut, each quiet window raises the rate by 10 %, never past the configured one."""
    rate = AdaptiveRate(100, clock=clock, sleep=clock.sleep)
    answer_window(rate, clock, answers=100, throttled=60)
    cut = rate.rate
    assert cut is not None
    answer_window(rate, clock, answers=10, throttled=0)
    assert rate.rate == pytest.approx(cut * RECOVERY_FACTOR)
    for _ in range(30):
        answer_window(rate, clock, answers=10, throttled=0)
    assert rate.rate == 100


def test_unlimited_run_gets_a_limit_on_429_and_loses_it_later(clock: FakeTime) -> None:
    """Without --rate, a 429 storm imposes a limit; quiet windows lift it again."""
    rate = AdaptiveRate(None, clock=clock, sleep=clock.sleep)
    answer_window(rate, clock, answers=200, throttled=150)
    assert rate.rate == pytest.approx(50 * DECREASE_FACTOR)
    for _ in range(10):
        answer_window(rate, clock, answers=10, throttled=0)
    assert rate.rate is None


def test_rate_never_drops_below_the_floor(clock: FakeTime) -> None:
    """Even when every answer is a 429, the rate stays at MIN_RATE or above."""
    rate = AdaptiveRate(10, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        answer_window(rate, clock, answers=10, throttled=10)
    assert rate.rate == MIN_RATE


def test_breaker_needs_enough_samples() -> None:
    """A few early errors do not trip the breaker: it waits for MIN_ERROR_SAMPLES outcomes."""
    breaker = CircuitBreaker(0.5)
    assert not any(breaker.record(True) for _ in range(MIN_ERROR_SAMPLES - 1))
    assert breaker.record(True)


@pytest.mark.parametrize(
    ("errors", "tripped"), [(50, False), (51, True)], ids=["at-limit", "over-limit"]
)
def test_breaker_trips_only_above_the_limit(errors: int, tripped: bool) -> None:
    """Exactly max_error_rate does not trip; one more error in the window does."""
    breaker = CircuitBreaker(0.5, window=100)
    for i in range(100):
        breaker.record(i < errors)
    assert breaker.tripped is tripped


def test_breaker_forgets_outside_its_window() -> None:
    """Old errors slide out of the window: 100 errors then 100 successes is a 0 % rate."""
    breaker = CircuitBreaker(0.5, window=100)
    for _ in range(100):
        breaker.record(True)
    for _ in range(100):
        breaker.record(False)
    assert breaker.error_rate == 0.0
    assert not breaker.tripped


def test_breaker_at_one_never_trips() -> None:
    """max_error_rate 1.0 disables the breaker: even 100 % errors pass."""
    breaker = CircuitBreaker(1.0)
    assert not any(breaker.record(True) for _ in range(500))
