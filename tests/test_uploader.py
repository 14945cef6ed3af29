"""The register operation on the executor: every valid row once, retries what may succeed,
and a stop on 401/403.

Most tests drive the real client through `httpx.MockTransport` with `FakeApi`, a small
stateful stand-in scripted per number; waits are recorded, never slept. The last group
runs against the real sandbox over loopback.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from importer import send
from importer.config import ApiSettings
from importer.errors import ApiUnreachableError, AuthError, RunStopped
from importer.models import RawRow, RowResult, Status
from importer.sandbox import (
    CREATE_ONLY_TOKEN,
    DEFAULT_CARRIER_SID,
    PARTNER_B_TOKEN,
    READ_ONLY_TOKEN,
    SandboxServer,
)
from importer.send import Batch, Executor, RetryPolicy
from importer.send.client import make_client
from importer.send.operations import register
from importer.send.operations.preflight import preflight
from importer.send.retry import backoff_delay
from importer.signals import StopSwitch

BASE_URL = "http://api.test/core/v2"
TOKEN = "uploader-test-token"
SandboxFactory = Callable[..., SandboxServer]
UploadBatch = Batch[RowResult]


async def register_rows(
    results: list[RowResult],
    client: httpx.AsyncClient,
    settings: ApiSettings,
    *,
    sleep: Any = asyncio.sleep,
    rng: random.Random | None = None,
    on_result: Any = None,
    journal: Any = None,
    stop: StopSwitch | None = None,
    reconcile: frozenset[int] = frozenset(),
    clock: Any = time.monotonic,
) -> UploadBatch:
    """The register pass on an executor built from these hooks (waits recorded by `sleep`)."""
    policy = RetryPolicy.from_settings(settings, sleep=sleep, rng=rng)
    executor = Executor(client, settings, policy=policy, stop=stop, journal=journal, clock=clock)
    return await send.register_rows(results, executor, on_result=on_result, reconcile=reconcile)


def number(i: int) -> str:
    return f"1205555{i:04d}"


def would_register(i: int, capabilities: int = 3) -> RowResult:
    digits = number(i)
    return RowResult(
        row=RawRow(i + 2, (f"+{digits}", str(capabilities))),
        status=Status.WOULD_REGISTER,
        payload={"phonenumber": digits, "capabilities": capabilities},
        normalized_phonenumber=digits,
    )


def problem(
    status: int, message: str, *errors: tuple[str | None, str, str | None]
) -> httpx.Response:
    body = {
        "message": message,
        "errors": [{"field": f, "message": m, "reference_sid": s} for f, m, s in errors],
    }
    return httpx.Response(status, json=body)


# A scripted reply for one POST: a status, a full response, or one of these words.
LOST = "lost"  # create the record, then answer 503 (the answer was lost)
TIMEOUT = "timeout"  # raise ReadTimeout without creating anything
REFUSED = "refused"  # raise ConnectError (nothing sent)
Reply = int | str | httpx.Response


@dataclass
class FakeApi:
    """The External DIDs endpoints in memory: POST scripted per number, GET list by filter."""

    posts: dict[str, list[Reply]] = field(default_factory=dict)
    lookups: list[Reply] = field(default_factory=list)
    others: set[str] = field(default_factory=set)
    duplicate_status: int = 422
    reference_sid: bool = True
    auth_fails_after: int | None = None
    latency: float = 0.0
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    post_count: Counter[str] = field(default_factory=Counter)
    lookup_count: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            if self.auth_fails_after is not None and self.post_count.total() >= (
                self.auth_fails_after
            ):
                return problem(401, "authentication failed", (None, "invalid token", None))
            if request.method == "POST":
                return self.post(request)
            return self.get(request)
        finally:
            self.in_flight -= 1

    def post(self, request: httpx.Request) -> httpx.Response:
        payload = httpx.Response(200, content=request.content).json()
        digits = payload["phonenumber"]
        self.post_count[digits] += 1
        script = self.posts.get(digits, [])
        reply = script.pop(0) if script else None
        return self.act(reply, digits, payload, request)

    def act(
        self, reply: Reply | None, digits: str, payload: dict[str, Any], request: httpx.Request
    ) -> httpx.Response:
        if isinstance(reply, httpx.Response):
            return reply
        if reply == TIMEOUT:
            raise httpx.ReadTimeout("timed out", request=request)
        if reply == REFUSED:
            raise httpx.ConnectError("connection refused", request=request)
        if reply == LOST:
            self.create(digits, payload)
            return httpx.Response(503, text="upstream went away")
        if isinstance(reply, int):
            return problem(reply, f"scripted {reply}")
        return self.register(digits, payload)

    def register(self, digits: str, payload: dict[str, Any]) -> httpx.Response:
        if digits in self.records or digits in self.others:
            sid = self.records[digits]["external_did_sid"] if digits in self.records else None
            ref = sid if self.reference_sid else None
            return problem(
                self.duplicate_status,
                "object validation error",
                ("phonenumber", "number is already registered", ref),
            )
        return httpx.Response(200, json=self.create(digits, payload))

    def create(self, digits: str, payload: dict[str, Any]) -> dict[str, Any]:
        record = {**payload, "external_did_sid": str(uuid.uuid4()), "status": "assigned"}
        self.records[digits] = record
        return record

    def get(self, request: httpx.Request) -> httpx.Response:
        digits = request.url.params["filter"].split('"')[1]
        self.lookup_count[digits] += 1
        reply = self.lookups.pop(0) if self.lookups else None
        if isinstance(reply, int):
            return problem(reply, f"scripted lookup {reply}")
        items = [self.records[digits]] if digits in self.records else []
        return httpx.Response(200, json={"items": items, "count": len(items), "has_more": False})


@dataclass
class Harness:
    """Runs `register_rows` against a FakeApi, recording every wait instead of sleeping."""

    api: FakeApi
    settings: ApiSettings
    waits: list[float] = field(default_factory=list)
    heard: list[RowResult] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)  # yield, as a real wait would

    def run(
        self, results: list[RowResult], *, on_result: Any = None, **changes: Any
    ) -> UploadBatch:
        settings = self.settings.model_copy(update=changes)

        async def go() -> UploadBatch:
            transport = httpx.MockTransport(self.api)
            async with make_client(settings, transport=transport) as client:
                return await register_rows(
                    results,
                    client,
                    settings,
                    sleep=self.sleep,
                    on_result=on_result or self.heard.append,
                    rng=random.Random(7),
                )

        return asyncio.run(go())


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def harness(api: FakeApi) -> Harness:
    settings = ApiSettings(
        base_url=BASE_URL,
        token=SecretStr(TOKEN),
        concurrency=4,
        max_attempts=4,
        backoff_base=0.5,
        backoff_max=8.0,
        second_pass=False,  # each test pins its attempts; the second pass has its own tests
    )
    return Harness(api, settings)


def codes(result: RowResult) -> list[str]:
    return [issue.code for issue in result.issues]


# -- the happy path ----------------------------------------------------------------
def test_registers_rows_in_order_and_leaves_other_rows_untouched(
    harness: Harness, api: FakeApi
) -> None:
    """Valid rows come back registered with their sid; other rows pass through as given."""
    invalid = RowResult(row=RawRow(99, ("x",)), status=Status.INVALID)
    rows = [would_register(0), invalid, would_register(1), would_register(2)]
    batch = harness.run(rows)
    assert batch.stopped_by is None
    assert batch.results[1] is invalid
    for given, result in zip(rows, batch.results, strict=True):
        assert result.row == given.row
    registered = [batch.results[i] for i in (0, 2, 3)]
    assert [r.status for r in registered] == [Status.REGISTERED] * 3
    assert [r.attempts for r in registered] == [1, 1, 1]
    assert [r.http_status for r in registered] == [200, 200, 200]
    assert [r.external_did_sid for r in registered] == [
        api.records[r.normalized_phonenumber or ""]["external_did_sid"] for r in registered
    ]
    assert harness.waits == []


def test_on_result_hears_each_valid_row_once(harness: Harness) -> None:
    """`on_result` is called once for every row the uploader settles, and only those."""
    rows = [would_register(i) for i in range(6)]
    rows.append(RowResult(row=RawRow(50, ("",)), status=Status.DUPLICATE))
    harness.run(rows)
    assert sorted(r.row.number for r in harness.heard) == [r.row.number for r in rows[:6]]


def test_concurrency_bound_is_respected(harness: Harness, api: FakeApi) -> None:
    """No more than `concurrency` requests are ever in flight at once."""
    api.latency = 0.002
    batch = harness.run([would_register(i) for i in range(40)], concurrency=5)
    assert all(r.status is Status.REGISTERED for r in batch.results)
    assert api.max_in_flight == 5


def test_rate_limit_spaces_requests(harness: Harness) -> None:
    """With `rate`, each request waits for its slot: n-th request about n/rate seconds out."""
    harness.run([would_register(i) for i in range(5)], concurrency=1, rate=20)
    assert harness.waits == pytest.approx([0.05, 0.10, 0.15, 0.20], abs=0.02)


def test_missing_payload_is_a_programming_error(harness: Harness, api: FakeApi) -> None:
    """A would_register row without a payload is refused before any request is sent."""
    broken = RowResult(row=RawRow(2, ("x",)), status=Status.WOULD_REGISTER)
    with pytest.raises(ValueError, match="row 2"):
        harness.run([would_register(0), broken])
    assert api.post_count.total() == 0


# -- retries -----------------------------------------------------------------------
@pytest.mark.parametrize("status", [408, 409, 429])
def test_retryable_refusals_retry_without_lookup(
    harness: Harness, api: FakeApi, status: int
) -> None:
    """408/409/429 created nothing: retried with backoff, no lookup needed."""
    api.posts[number(0)] = [status, status]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert result.attempts == 3
    assert api.lookup_count.total() == 0
    assert len(harness.waits) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_look_up_before_each_retry(
    harness: Harness, api: FakeApi, status: int
) -> None:
    """A 5xx may have created the number: it is looked up (absent) before every retry."""
    api.posts[number(0)] = [status, status]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert result.attempts == 3
    assert api.lookup_count[number(0)] == 2
    assert "reconciled" not in result.extra


def test_retry_after_is_a_floor_for_the_wait(harness: Harness, api: FakeApi) -> None:
    """A 429's Retry-After seconds are waited at least, whatever the jitter draws."""
    limited = httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"})
    api.posts[number(0)] = [limited, limited]
    [result] = harness.run([would_register(0)], backoff_base=0.01).results
    assert result.status is Status.REGISTERED
    assert len(harness.waits) == 2
    assert all(wait >= 3.0 for wait in harness.waits)


def test_backoff_grows_exponentially_with_full_jitter(harness: Harness, api: FakeApi) -> None:
    """Each retry waits between 0 and min(cap, base * 2**(attempt-1))."""
    api.posts[number(0)] = [409] * 5
    harness.run([would_register(0)], max_attempts=6, backoff_base=1.0, backoff_max=4.0)
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(harness.waits) == len(ceilings)
    assert all(0 <= w <= c for w, c in zip(harness.waits, ceilings, strict=True))


@pytest.mark.parametrize("attempt", [1, 2, 3, 10, 100])
def test_backoff_delay_stays_within_its_ceiling(attempt: int) -> None:
    """backoff_delay never exceeds the cap nor base * 2**(attempt-1), and is never negative."""
    rng = random.Random(attempt)
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
    delays = [backoff_delay(attempt, base=0.5, cap=30.0, rng=rng) for _ in range(200)]
    assert all(0 <= d <= ceiling for d in delays)


def test_retries_exhausted_fail_the_row(harness: Harness, api: FakeApi) -> None:
    """After max_attempts POSTs without success the row fails with api.failed."""
    api.posts[number(0)] = [409] * 10
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.FAILED
    assert result.attempts == 4
    assert codes(result) == [register.API_FAILED.code]
    assert "4 attempt(s)" in result.issues[0].message
    assert "HTTP 409" in result.issues[0].message
    assert result.http_status == 409


# -- outcome unknown: never twice --------------------------------------------------
def test_lost_answer_is_reconciled_with_one_post(harness: Harness, api: FakeApi) -> None:
    """A 503 after the number was created is found by the lookup: registered, one POST."""
    api.posts[number(0)] = [LOST]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert result.extra == {"reconciled": True}
    assert result.external_did_sid == api.records[number(0)]["external_did_sid"]
    assert api.post_count[number(0)] == 1
    assert result.attempts == 1


def test_timeout_then_absent_then_post_succeeds(harness: Harness, api: FakeApi) -> None:
    """A read timeout is looked up; absent, the row is sent again and registered."""
    api.posts[number(0)] = [TIMEOUT]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert api.post_count[number(0)] == 2
    assert api.lookup_count[number(0)] == 1
    assert result.attempts == 2


def test_failed_lookups_never_lead_to_another_post(harness: Harness, api: FakeApi) -> None:
    """If no lookup answers after an unknown outcome, the row fails without a second POST."""
    api.posts[number(0)] = [TIMEOUT]
    api.lookups = [503] * 10
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.FAILED
    assert api.post_count[number(0)] == 1
    assert api.lookup_count[number(0)] == 4
    assert "outcome unknown" in result.issues[-1].message


def test_lookup_retried_until_it_answers(harness: Harness, api: FakeApi) -> None:
    """A failed lookup is retried with backoff; when one finds the number, the row is done."""
    api.posts[number(0)] = [LOST]
    api.lookups = [502, 429]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert result.extra == {"reconciled": True}
    assert api.post_count[number(0)] == 1
    assert api.lookup_count[number(0)] == 3


def test_unknown_outcome_on_last_attempt_is_still_looked_up(harness: Harness, api: FakeApi) -> None:
    """Even after the final attempt, an unknown outcome is reconciled before failing."""
    api.posts[number(0)] = [503, 503, 503, LOST]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert api.post_count[number(0)] == 4


def test_unknown_outcome_exhausted_and_absent_fails(harness: Harness, api: FakeApi) -> None:
    """Unknown outcomes on every attempt, each looked up absent, end failed api.failed."""
    api.posts[number(0)] = [TIMEOUT] * 4
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.FAILED
    assert codes(result) == [register.API_FAILED.code]
    assert api.post_count[number(0)] == 4
    assert api.lookup_count[number(0)] == 4


def test_duplicate_after_our_own_unknown_attempt_counts_as_registered(
    harness: Harness, api: FakeApi
) -> None:
    """A duplicate answer after our own unanswered attempt means that attempt created it."""
    late = problem(422, "object validation error", ("phonenumber", "already exists", "sid-late"))
    api.posts[number(0)] = [TIMEOUT, late]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert result.external_did_sid == "sid-late"
    assert result.extra == {"reconciled": True}


def test_unreadable_success_is_reconciled(harness: Harness, api: FakeApi) -> None:
    """A 200 whose body cannot be read is treated as unknown and looked up."""
    api.posts[number(0)] = [httpx.Response(200, text="<html>ok</html>")]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert api.post_count[number(0)] == 2


def test_undecodable_answer_is_treated_as_unknown(harness: Harness, api: FakeApi) -> None:
    """An answer whose body cannot be decoded is an unknown outcome: looked up, then resent."""
    garbled = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
    )
    api.posts[number(0)] = [garbled]
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REGISTERED
    assert api.lookup_count[number(0)] == 1
    assert api.post_count[number(0)] == 2


# -- duplicates and rejections -----------------------------------------------------
@pytest.mark.parametrize("duplicate_status", [422, 409])
@pytest.mark.parametrize("reference_sid", [True, False])
def test_number_already_ours_is_already_registered(
    harness: Harness, api: FakeApi, duplicate_status: int, reference_sid: bool
) -> None:
    """A duplicate answer for our own number ends already_registered with the existing sid."""
    api.duplicate_status, api.reference_sid = duplicate_status, reference_sid
    existing = api.create(number(0), {"phonenumber": number(0), "capabilities": 3})
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.ALREADY_REGISTERED
    assert result.external_did_sid == existing["external_did_sid"]
    assert result.http_status == duplicate_status
    assert result.issues == ()
    assert api.lookup_count[number(0)] == (0 if reference_sid else 1)


@pytest.mark.parametrize("duplicate_status", [422, 409])
def test_number_held_by_another_account_is_rejected(
    harness: Harness, api: FakeApi, duplicate_status: int
) -> None:
    """A duplicate the lookup cannot find belongs to someone else: rejected api.number_taken."""
    api.duplicate_status = duplicate_status
    api.others.add(number(0))
    [result] = harness.run([would_register(0)]).results
    assert result.status is Status.REJECTED
    assert codes(result) == [register.API_NUMBER_TAKEN.code]
    assert result.issues[0].field == "phonenumber"
    assert result.issues[0].value == number(0)
    assert api.post_count[number(0)] == 1


@pytest.mark.parametrize("second_pass", [False, True])
def test_duplicate_with_unanswered_lookup_fails(
    harness: Harness, api: FakeApi, second_pass: bool
) -> None:
    """When the owner of a duplicate cannot be checked, the row fails rather than guessing,
    and the second pass never POSTs it again (the API said it exists)."""
    api.others.add(number(0))
    api.lookups = [503] * 20
    [result] = harness.run([would_register(0)], second_pass=second_pass).results
    assert result.status is Status.FAILED
    assert [issue.code for issue in result.issues] == [register.API_OWNER_UNKNOWN.code]
    assert api.post_count[number(0)] == 1


@pytest.mark.parametrize(
    ("reply", "field", "value"),
    [
        (
            problem(422, "validation", ("capabilities", "voice not allowed", None)),
            "capabilities",
            "7",
        ),
        (
            problem(422, "validation", ("phonenumber", "outside prefixes", None)),
            "phonenumber",
            None,
        ),
        (problem(400, "malformed json"), None, None),
        (problem(415, "unsupported media type"), None, None),
        (httpx.Response(404, text="no such path"), None, None),
    ],
)
def test_permanent_refusals_reject_the_row(
    harness: Harness, api: FakeApi, reply: httpx.Response, field: str | None, value: str | None
) -> None:
    """Other 4xx reject the row with api.rejected, the API's field and message, no retry."""
    row = would_register(0, capabilities=7)
    api.posts[number(0)] = [reply]
    [result] = harness.run([row]).results
    assert result.status is Status.REJECTED
    assert result.http_status == reply.status_code
    assert result.attempts == 1
    [issue] = result.issues
    assert issue.code == register.API_REJECTED.code
    assert issue.field == field
    assert f"HTTP {reply.status_code}" in issue.message
    if field == "capabilities":
        assert issue.value == value
        assert "voice not allowed" in issue.message
    if field == "phonenumber":
        assert issue.value == number(0)


# -- stopping the run --------------------------------------------------------------
def test_auth_refusal_mid_run_stops_dispatching(harness: Harness, api: FakeApi) -> None:
    """A 401 stops the run: later rows are not attempted, the refused row fails."""
    api.auth_fails_after = 3
    batch = harness.run([would_register(i) for i in range(8)], concurrency=1)
    assert isinstance(batch.stopped_by, AuthError)
    assert batch.stopped_by.status_code == 401
    assert TOKEN not in str(batch.stopped_by)
    statuses = [r.status for r in batch.results]
    assert statuses == [Status.REGISTERED] * 3 + [Status.FAILED] + [Status.NOT_ATTEMPTED] * 4
    assert codes(batch.results[3]) == [register.API_AUTH_REFUSED.code]
    assert all(codes(r) == [register.API_NOT_ATTEMPTED.code] for r in batch.results[4:])
    assert all(r.attempts == 0 for r in batch.results[4:])
    assert batch.results[3].attempts == 1
    assert batch.results[3].http_status == 401
    assert len(harness.heard) == 8


def test_auth_refusal_lets_in_flight_rows_finish(harness: Harness, api: FakeApi) -> None:
    """Rows already in flight when a 401 arrives finish; nothing new is dispatched."""
    api.auth_fails_after = 2
    api.latency = 0.001
    batch = harness.run([would_register(i) for i in range(20)], concurrency=4)
    assert isinstance(batch.stopped_by, AuthError)
    counts = Counter(r.status for r in batch.results)
    assert counts[Status.REGISTERED] == 2
    assert counts[Status.NOT_ATTEMPTED] >= 20 - 4 - 2
    assert api.post_count.total() <= 2 + 4


def test_retrying_row_fails_when_the_run_stops(harness: Harness, api: FakeApi) -> None:
    """A row waiting to retry when the run stops ends failed, not not_attempted."""
    api.posts[number(0)] = [409, 409, 409]
    api.posts[number(1)] = [httpx.Response(403, json={"message": "external dids disabled"})]
    batch = harness.run([would_register(0), would_register(1)], concurrency=2)
    assert isinstance(batch.stopped_by, AuthError)
    first, second = batch.results
    assert first.status is Status.FAILED
    assert "the run stopped" in first.issues[0].message
    assert second.status is Status.FAILED
    assert codes(second) == [register.API_AUTH_REFUSED.code]


def test_connection_refused_everywhere_stops_as_unreachable(harness: Harness, api: FakeApi) -> None:
    """Three rows in a row that never connect stop the run with ApiUnreachableError."""
    for i in range(10):
        api.posts[number(i)] = [REFUSED] * 10
    batch = harness.run([would_register(i) for i in range(10)], concurrency=1, max_attempts=2)
    assert isinstance(batch.stopped_by, ApiUnreachableError)
    assert BASE_URL in str(batch.stopped_by)
    statuses = [r.status for r in batch.results]
    assert statuses == [Status.FAILED] * 3 + [Status.NOT_ATTEMPTED] * 7
    assert api.lookup_count.total() == 0


def test_refused_lookup_stops_the_run_and_fails_the_row(harness: Harness, api: FakeApi) -> None:
    """A 401 on the reconciling lookup stops the run; the row's outcome stays unknown."""
    api.posts[number(0)] = [LOST]
    api.lookups = [401]
    batch = harness.run([would_register(0), would_register(1)], concurrency=1)
    assert isinstance(batch.stopped_by, AuthError)
    assert [r.status for r in batch.results] == [Status.FAILED, Status.NOT_ATTEMPTED]
    assert "outcome unknown" in batch.results[0].issues[0].message
    assert api.post_count.total() == 1


def test_a_bug_in_a_callback_surfaces_unwrapped(harness: Harness) -> None:
    """An exception raised by `on_result` reaches the caller as itself, not an ExceptionGroup."""

    def explode(result: RowResult) -> None:
        raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        harness.run([would_register(0)], on_result=explode)


def test_row_waiting_to_reconcile_fails_when_the_run_stops(harness: Harness, api: FakeApi) -> None:
    """A row whose outcome is unknown when the run stops is failed, never called not sent."""
    api.posts[number(0)] = [LOST]
    api.posts[number(1)] = [httpx.Response(401, json={"message": "token expired"})]
    batch = harness.run([would_register(0), would_register(1)], concurrency=2)
    assert isinstance(batch.stopped_by, AuthError)
    first = batch.results[0]
    assert first.status is Status.FAILED
    assert "outcome unknown" in first.issues[0].message
    assert "the run stopped" in first.issues[0].message


# -- against the real sandbox over loopback ------------------------------------------
def valid_row(i: int, **payload: Any) -> RowResult:
    """A row with a number the sandbox accepts (Birmingham, AL: 1205905xxxx)."""
    digits = f"1205905{i:04d}"
    return RowResult(
        row=RawRow(i + 2, (f"+{digits}",)),
        status=Status.WOULD_REGISTER,
        payload={"phonenumber": digits, "capabilities": 3, **payload},
        normalized_phonenumber=digits,
    )


def upload(
    server: SandboxServer, rows: list[RowResult], *, token: str | None = None, **changes: Any
) -> UploadBatch:
    """Preflight, then register `rows` on `server` with real waits (shortened backoff)."""
    settings = ApiSettings(
        base_url=server.base_url,
        token=SecretStr(token or server.token),
        timeout=5,
        backoff_base=0.001,
        backoff_max=0.05,
    ).model_copy(update=changes)

    async def go() -> UploadBatch:
        async with make_client(settings) as client:
            await preflight(Executor(client, settings))
            return await register_rows(rows, client, settings)

    return asyncio.run(go())


def numbers_held(server: SandboxServer) -> Counter[str]:
    return Counter(record["phonenumber"] for record in server.state.records)


def test_sandbox_registers_then_rerun_is_already_registered(sandbox: SandboxServer) -> None:
    """20 rows make 20 records; the same rows again are already_registered, still 20 records."""
    rows = [valid_row(i) for i in range(20)]
    first = upload(sandbox, rows)
    assert [r.status for r in first.results] == [Status.REGISTERED] * 20
    sids = {record["phonenumber"]: record["external_did_sid"] for record in sandbox.state.records}
    assert {r.normalized_phonenumber: r.external_did_sid for r in first.results} == sids

    again = upload(sandbox, rows)
    assert [r.status for r in again.results] == [Status.ALREADY_REGISTERED] * 20
    assert [r.external_did_sid for r in again.results] == [
        r.external_did_sid for r in first.results
    ]
    assert all(r.http_status == 422 for r in again.results)
    assert len(sandbox.state.records) == 20


def test_sandbox_duplicate_as_409(make_sandbox: SandboxFactory) -> None:
    """With the 409 switch, a re-run still reads duplicates as already_registered."""
    server = make_sandbox(duplicate_status=409)
    rows = [valid_row(i) for i in range(5)]
    upload(server, rows)
    again = upload(server, rows)
    assert [r.status for r in again.results] == [Status.ALREADY_REGISTERED] * 5
    assert all(r.http_status == 409 for r in again.results)
    assert len(server.state.records) == 5


def test_sandbox_number_of_another_partner_is_taken(sandbox: SandboxServer) -> None:
    """A number partner-b holds is rejected api.number_taken for partner-a."""
    theirs = valid_row(0, underlying_carrier_sid=DEFAULT_CARRIER_SID)  # partner-b has no default
    [held] = upload(sandbox, [theirs], token=PARTNER_B_TOKEN).results
    assert held.status is Status.REGISTERED
    [result] = upload(sandbox, [valid_row(0)]).results
    assert result.status is Status.REJECTED
    assert codes(result) == [register.API_NUMBER_TAKEN.code]
    assert len(sandbox.state.records) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"capabilities": 7}, "capabilities"),
        (
            {"underlying_carrier_sid": "00000000-0000-4000-8000-000000000000"},
            "underlying_carrier_sid",
        ),
    ],
)
def test_sandbox_validation_refusal_is_rejected_with_field(
    sandbox: SandboxServer, payload: dict[str, Any], field: str
) -> None:
    """A 422 on a field rejects the row with api.rejected naming that field."""
    [result] = upload(sandbox, [valid_row(0, **payload)]).results
    assert result.status is Status.REJECTED
    assert result.http_status == 422
    assert result.issues[0].field == field
    assert sandbox.state.records == []


def test_sandbox_bad_token_fails_preflight(sandbox: SandboxServer) -> None:
    """A wrong token is refused by the preflight: AuthError 401, nothing written."""
    with pytest.raises(AuthError) as caught:
        upload(sandbox, [valid_row(0)], token="not-a-token")
    assert caught.value.status_code == 401
    assert sandbox.state.records == []


def test_sandbox_create_only_token_fails_preflight(sandbox: SandboxServer) -> None:
    """A token that cannot read is refused up front: lost answers could not be reconciled."""
    with pytest.raises(AuthError, match=r"phonenumber\.read"):
        upload(sandbox, [valid_row(0)], token=CREATE_ONLY_TOKEN)


def test_sandbox_read_only_token_stops_at_first_post(sandbox: SandboxServer) -> None:
    """A token that can read but not create stops the run at the first POST (403)."""
    batch = upload(sandbox, [valid_row(i) for i in range(5)], token=READ_ONLY_TOKEN, concurrency=1)
    assert isinstance(batch.stopped_by, AuthError)
    assert batch.stopped_by.status_code == 403
    statuses = [r.status for r in batch.results]
    assert statuses == [Status.FAILED] + [Status.NOT_ATTEMPTED] * 4


def test_sandbox_stopped_server_is_unreachable(make_sandbox: SandboxFactory) -> None:
    """A server that is gone makes the preflight raise ApiUnreachableError naming the URL."""
    server = make_sandbox()
    server.stop()
    with pytest.raises(ApiUnreachableError, match=server.root_url):
        upload(server, [valid_row(0)])


def test_sandbox_faults_never_register_a_number_twice(make_sandbox: SandboxFactory) -> None:
    """Under 5xx, dropped connections and lost answers every row ends registered, once."""
    server = make_sandbox(fail_rate=0.1, drop_rate=0.05, lose_answer_rate=0.05, seed=11)
    rows = [valid_row(i) for i in range(200)]
    batch = upload(server, rows, concurrency=8, max_attempts=10)
    assert batch.stopped_by is None
    assert {r.status for r in batch.results} <= {Status.REGISTERED, Status.ALREADY_REGISTERED}
    held = numbers_held(server)
    assert set(held) == {r.normalized_phonenumber for r in rows}
    assert set(held.values()) == {1}
    faults = Counter(entry["fault"] for entry in server.state.requests)
    assert faults["failed"] > 0
    assert faults["dropped"] > 0
    reconciled = [r for r in batch.results if r.extra.get("reconciled")]
    assert len(reconciled) >= faults["lost_answer_cut"] > 0
    post_statuses = Counter(e["status"] for e in server.state.requests if e["method"] == "POST")
    assert post_statuses[422] == 0  # never sent again after a POST that had created it


def test_sandbox_timed_out_answer_is_reconciled(make_sandbox: SandboxFactory) -> None:
    """A registration whose answer comes after the client's timeout is found by the lookup."""
    server = make_sandbox(lose_answer_rate=1.0, lose_answer_delay_s=1.0)
    [result] = upload(server, [valid_row(0)], timeout=0.2).results
    assert result.status is Status.REGISTERED
    assert result.extra == {"reconciled": True}
    assert result.attempts == 1
    assert numbers_held(server) == Counter({valid_row(0).normalized_phonenumber: 1})
    assert [e["method"] for e in server.state.requests].count("POST") == 1


def test_sandbox_rate_limit_burst_is_absorbed(make_sandbox: SandboxFactory) -> None:
    """A 500-row burst against 50 requests/second meets 429s, waits them out, registers all."""
    server = make_sandbox(rate_limit=50)
    rows = [valid_row(i) for i in range(500)]
    started = time.monotonic()
    batch = upload(server, rows, concurrency=64, max_attempts=15)
    assert time.monotonic() - started < 20
    assert all(r.status is Status.REGISTERED for r in batch.results)
    assert any(entry["status"] == 429 for entry in server.state.requests)
    assert set(numbers_held(server).values()) == {1}
    assert len(server.state.records) == 500


# -- flow control, stopping, journal and resume hooks --------------------------------
@dataclass
class RecordingLog:
    """A RowLog that records the calls, and the POSTs the API had seen at each call."""

    api: FakeApi
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def sending(self, row_number: int, attempts: int) -> None:
        self.calls.append(("sending", row_number, self.api.post_count.total()))

    def sending_rows(self, marks: Sequence[tuple[int, int]]) -> None:
        for row_number, attempts in marks:
            self.sending(row_number, attempts)

    def settled(self, result: RowResult) -> None:
        self.calls.append(("settled", result.row.number, self.api.post_count.total()))


def run_with(harness: Harness, results: list[RowResult], **hooks: Any) -> UploadBatch:
    """Like Harness.run, with the uploader's journal/stop/reconcile hooks."""

    async def go() -> UploadBatch:
        transport = httpx.MockTransport(harness.api)
        async with make_client(harness.settings, transport=transport) as client:
            return await register_rows(
                results, client, harness.settings, sleep=harness.sleep, **hooks
            )

    return asyncio.run(go())


def test_journal_hears_sending_before_each_post(harness: Harness, api: FakeApi) -> None:
    """`sending` is journaled before the POST leaves; `settled` once after the answer."""
    api.posts[number(0)] = [409]
    log = RecordingLog(api)
    run_with(harness, [would_register(0)], journal=log)
    assert log.calls == [("sending", 2, 0), ("sending", 2, 1), ("settled", 2, 2)]


def test_reconcile_rows_are_looked_up_before_any_post(harness: Harness, api: FakeApi) -> None:
    """A row an unfinished run may have sent is looked up first: found means no POST at all."""
    api.create(number(0), {"phonenumber": number(0), "capabilities": 3})
    batch = run_with(harness, [would_register(0), would_register(1)], reconcile={2, 3})
    first, second = batch.results
    assert first.status is Status.REGISTERED
    assert first.extra == {"reconciled": True}
    assert api.post_count[number(0)] == 0
    assert second.status is Status.REGISTERED  # absent: sent as usual
    assert api.post_count[number(1)] == 1
    assert api.lookup_count[number(1)] == 1


def test_reconcile_lookup_unanswered_fails_without_post(harness: Harness, api: FakeApi) -> None:
    """If the reconciling lookup never answers, the row fails and is not sent on a guess."""
    api.lookups = [503] * 10
    [result] = run_with(harness, [would_register(0)], reconcile={2}).results
    assert result.status is Status.FAILED
    assert api.post_count.total() == 0


def test_circuit_breaker_stops_the_run_resumably(harness: Harness, api: FakeApi) -> None:
    """When most requests fail, the breaker stops the run with RunStopped (exit 4)."""
    for i in range(100):
        api.posts[number(i)] = [500] * 20
    api.lookups = []
    batch = harness.run([would_register(i) for i in range(100)], concurrency=4, max_error_rate=0.5)
    assert isinstance(batch.stopped_by, RunStopped)
    assert batch.stopped_by.exit_code == 4
    assert "circuit breaker" in str(batch.stopped_by)
    counts = Counter(r.status for r in batch.results)
    assert counts[Status.NOT_ATTEMPTED] > 50
    assert api.post_count.total() < 100


def test_429s_do_not_trip_the_breaker(harness: Harness, api: FakeApi) -> None:
    """Rate limiting is not failure: many 429s slow the run but never stop it."""
    for i in range(30):
        api.posts[number(i)] = [429, 429]
    batch = harness.run([would_register(i) for i in range(30)], max_error_rate=0.1)
    assert batch.stopped_by is None
    assert all(r.status is Status.REGISTERED for r in batch.results)


@pytest.mark.parametrize(("bad", "stops"), [(3, True), (2, False)], ids=["over", "within"])
def test_canary_stops_when_its_rows_fail(
    harness: Harness, api: FakeApi, bad: int, stops: bool
) -> None:
    """--canary 5 at 50 %: 3 rejected canary rows stop the run before the rest; 2 do not."""
    for i in range(bad):
        api.posts[number(i)] = [problem(422, "bad", ("capabilities", "nope", None))]
    rows = [would_register(i) for i in range(20)]
    batch = harness.run(rows, canary=5, max_error_rate=0.5)
    assert isinstance(batch.stopped_by, RunStopped) is stops
    if stops:
        assert "canary" in str(batch.stopped_by)
        assert api.post_count.total() == 5
        assert {r.status for r in batch.results[5:]} == {Status.NOT_ATTEMPTED}
    else:
        assert api.post_count.total() == 20


def test_stop_request_lets_in_flight_rows_finish(harness: Harness, api: FakeApi) -> None:
    """A stop request: rows in flight finish, nothing new is sent, RunStopped (exit 4)."""
    api.latency = 0.01
    switch = StopSwitch()
    rows = [would_register(i) for i in range(40)]

    def heard(result: RowResult) -> None:
        if not switch.requested:
            switch.request("SIGINT")

    batch = run_with(harness, rows, stop=switch, on_result=heard)
    assert isinstance(batch.stopped_by, RunStopped)
    assert "interrupted (SIGINT)" in str(batch.stopped_by)
    counts = Counter(r.status for r in batch.results)
    assert counts[Status.REGISTERED] == api.post_count.total() <= 4
    assert counts[Status.NOT_ATTEMPTED] == 40 - counts[Status.REGISTERED]


def test_abort_cancels_requests_in_flight(harness: Harness, api: FakeApi) -> None:
    """A second request aborts: in-flight rows end failed (outcome unknown), at once."""
    api.latency = 30.0  # would take 30 s without the abort
    switch = StopSwitch()

    async def go() -> UploadBatch:
        transport = httpx.MockTransport(api)
        async with make_client(harness.settings, transport=transport) as client:
            task = asyncio.create_task(
                register_rows(
                    [would_register(i) for i in range(10)], client, harness.settings, stop=switch
                )
            )
            await asyncio.sleep(0.05)
            switch.request("SIGINT")
            switch.request("SIGINT")
            return await task

    started = time.monotonic()
    batch = asyncio.run(go())
    assert time.monotonic() - started < 2
    counts = Counter(r.status for r in batch.results)
    assert counts == {Status.FAILED: 4, Status.NOT_ATTEMPTED: 6}
    assert all("aborted" in r.issues[-1].message for r in batch.results[:4])
