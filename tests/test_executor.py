"""The executor and its one retry policy: second pass, Retry-After cap, redirects, test mode.

These drive the real client through `httpx.MockTransport` with scripted answers; waits
are recorded by an injected `sleep`, never slept.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_server import API, HostileFactory, Redirect, Reply
from pydantic import SecretStr
from typer.testing import CliRunner

from bench.campaign import write_numbers
from importer import send
from importer.api import run_import
from importer.cli import app
from importer.config import ApiSettings, Settings, build_settings
from importer.errors import ApiError, ApiUnreachableError, RunStopped
from importer.models import RawRow, RowResult, Status
from importer.sandbox import SandboxServer
from importer.send import Batch, Executor, RetryPolicy
from importer.send.client import make_client
from importer.send.operations import messaging
from importer.send.operations import register as registration
from importer.send.operations.preflight import preflight
from importer.send.reading import Kind, read_transport_error
from importer.send.retry import LOUD_WAIT_SECONDS
from importer.signals import StopSwitch

BASE_URL = "http://api.test/core/v2"
Handler = Callable[[httpx.Request], httpx.Response]


def row(i: int) -> RowResult:
    digits = f"1205555{i:04d}"
    return RowResult(
        row=RawRow(i + 2, (f"+{digits}",)),
        status=Status.WOULD_REGISTER,
        payload={"phonenumber": digits, "capabilities": 3},
        normalized_phonenumber=digits,
    )


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"external_did_sid": "sid-new", "phonenumber": "x"})


def empty_page() -> httpx.Response:
    return httpx.Response(200, json={"items": [], "has_more": False})


@dataclass
class Script:
    """POST answers in order (then `created`), lookups always empty; waits recorded."""

    posts: Iterator[Handler]
    waits: list[float] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.method)
        if request.method == "GET":
            return empty_page()
        return next(self.posts, created)(request)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def answer(status: int, **headers: str) -> Handler:
    return lambda _: httpx.Response(status, headers=headers, json={"message": f"HTTP {status}"})


def register(script: Script, rows: list[RowResult], **changes: Any) -> Batch[RowResult]:
    settings = ApiSettings(
        base_url=BASE_URL, token=SecretStr("t"), max_attempts=3, concurrency=2
    ).model_copy(update=changes)

    async def go() -> Batch[RowResult]:
        policy = RetryPolicy.from_settings(settings, sleep=script.sleep, rng=random.Random(3))
        async with make_client(settings, transport=httpx.MockTransport(script)) as client:
            return await send.register_rows(rows, Executor(client, settings, policy=policy))

    return asyncio.run(go())


def codes(result: RowResult) -> list[str]:
    return [issue.code for issue in result.issues]


# -- the second pass ------------------------------------------------------------------
def test_second_pass_finishes_a_row_out_of_attempts() -> None:
    """A row that ran out of attempts on 503s/429s is sent again once at the end, and ends well."""
    script = Script(iter([answer(429), answer(409), answer(429)]))
    [result] = register(script, [row(0)]).results
    assert result.status is Status.REGISTERED
    assert result.attempts == 4
    assert script.seen.count("POST") == 4


def test_second_pass_is_bounded() -> None:
    """A row still failing after the second pass fails: 2 x max_attempts POSTs, no more."""
    script = Script(iter([answer(429)] * 20))
    [result] = register(script, [row(0)]).results
    assert result.status is Status.FAILED
    assert codes(result) == [registration.API_FAILED.code]
    assert script.seen.count("POST") == 6


def test_second_pass_can_be_turned_off() -> None:
    """With second_pass off, a row out of attempts fails at once."""
    script = Script(iter([answer(429)] * 3))
    [result] = register(script, [row(0)], second_pass=False).results
    assert result.status is Status.FAILED
    assert script.seen.count("POST") == 3


def test_second_pass_reports_each_row_once() -> None:
    """on_result hears a row held for the second pass once, with its final outcome."""
    heard: list[RowResult] = []
    script = Script(iter([answer(429)] * 3))
    settings = ApiSettings(base_url=BASE_URL, token=SecretStr("t"), max_attempts=3)

    async def go() -> None:
        policy = RetryPolicy.from_settings(settings, sleep=script.sleep)
        async with make_client(settings, transport=httpx.MockTransport(script)) as client:
            executor = Executor(client, settings, policy=policy)
            await send.register_rows([row(0), row(1)], executor, on_result=heard.append)

    asyncio.run(go())
    assert sorted(r.row.number for r in heard) == [2, 3]
    assert all(r.status is Status.REGISTERED for r in heard)


# -- Retry-After and --max-wait ----------------------------------------------------------
def test_retry_after_over_max_wait_leaves_the_row_for_the_next_run() -> None:
    """Retry-After 3600 over --max-wait: no wait, the row fails api.deferred, never 'unknown'."""
    script = Script(iter([answer(429, **{"Retry-After": "3600"})]))
    [result] = register(script, [row(0)], max_wait=300).results
    assert result.status is Status.FAILED
    assert codes(result) == [registration.API_DEFERRED.code]
    message = result.issues[0].message
    assert "3600 s" in message
    assert "nothing was registered" in message
    assert "unknown" not in message
    assert script.waits == []
    assert script.seen == ["POST"]


def test_deferred_rows_are_said_once_a_pass(caplog: pytest.LogCaptureFixture) -> None:
    """Rows left for the next run give one warning for the pass, naming --max-wait."""
    script = Script(iter([answer(429, **{"Retry-After": "3600"})] * 3))
    with caplog.at_level(logging.WARNING, logger="importer.send"):
        results = register(script, [row(0), row(1), row(2)], max_wait=300).results
    assert [codes(r) for r in results] == [[registration.API_DEFERRED.code]] * 3
    said = [r.getMessage() for r in caplog.records if "--max-wait" in r.getMessage()]
    assert len(said) == 1
    assert "3600 s" in said[0]


def test_retry_after_within_max_wait_is_waited_and_said(caplog: pytest.LogCaptureFixture) -> None:
    """A long Retry-After under --max-wait is waited in full, and logged before the wait."""
    script = Script(iter([answer(429, **{"Retry-After": "120"})]))
    with caplog.at_level(logging.WARNING, logger="importer.send"):
        [result] = register(script, [row(0)], max_wait=300).results
    assert result.status is Status.REGISTERED
    assert 120.0 in script.waits
    assert any("waiting 120 s" in record.getMessage() for record in caplog.records)
    assert LOUD_WAIT_SECONDS <= 120


def test_unknown_outcome_with_a_long_wait_is_reconciled_first() -> None:
    """A 503 asking for an hour is looked up before the row is deferred: found means done."""
    created_sid: list[str] = []

    def lost(request: httpx.Request) -> httpx.Response:
        created_sid.append("sid-lost")
        return httpx.Response(503, headers={"Retry-After": "3600"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return lost(request)
        item = {"phonenumber": "12055550000", "external_did_sid": "sid-lost"}
        return httpx.Response(200, json={"items": [item] if created_sid else []})

    script = Script(iter([]))  # for its recorded waits only
    settings = ApiSettings(base_url=BASE_URL, token=SecretStr("t"), max_wait=60)

    async def go() -> Batch[RowResult]:
        policy = RetryPolicy.from_settings(settings, sleep=script.sleep)
        async with make_client(settings, transport=httpx.MockTransport(handler)) as client:
            return await send.register_rows([row(0)], Executor(client, settings, policy=policy))

    [result] = asyncio.run(go()).results
    assert result.status is Status.REGISTERED
    assert result.extra == {"reconciled": True}
    assert result.external_did_sid == "sid-lost"


# -- redirects ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [307, 308])
def test_redirect_on_post_stops_the_run_naming_the_target(status: int) -> None:
    """A 307/308 is never followed nor taken for a row rejection: the run stops, exit 3."""
    target = "https://api.elsewhere.example/core/v2/phonenumber/external_dids"
    script = Script(iter([answer(status, Location=target)]))
    batch = register(script, [row(0), row(1), row(2)], concurrency=1)
    assert isinstance(batch.stopped_by, ApiError)
    assert batch.stopped_by.exit_code == 3
    assert target in str(batch.stopped_by)
    assert "--base-url" in str(batch.stopped_by)
    assert script.seen == ["POST"]
    assert [r.status for r in batch.results] == [
        Status.FAILED,
        Status.NOT_ATTEMPTED,
        Status.NOT_ATTEMPTED,
    ]
    assert codes(batch.results[0]) == [registration.API_FAILED.code]


# -- the policy ------------------------------------------------------------------------------
def test_policy_test_mode_never_sleeps() -> None:
    """RetryPolicy.without_waits keeps the decisions and drops the sleeping."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(
        max_attempts=3, backoff_base=1.0, backoff_max=10.0, max_wait=60.0, sleep=sleep
    ).without_waits()
    asyncio.run(policy.wait(5.0, what="test"))
    assert slept == []
    assert policy.delay(1, floor=7.0) == 7.0
    assert policy.too_long(61.0)
    assert not policy.too_long(60.0)


# -- against the real sandbox over loopback ----------------------------------------------------
SandboxFactory = Callable[..., SandboxServer]


def one_row_file(tmp_path: Path, rows: int = 1) -> Path:
    path = tmp_path / "numbers.csv"
    lines = [f"+1205905{1100 + i},3" for i in range(rows)]
    path.write_text("phonenumber,capabilities\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_settings(server: SandboxServer, tmp_path: Path, **api: Any) -> Settings:
    return build_settings(
        {
            "api": {"base_url": server.base_url, "token": server.token, **api},
            "report": {"report_dir": tmp_path / "reports"},
        }
    )


def test_sandbox_busy_preflight_is_retried(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    """A rate-limited sandbox answers the preflight 429: the run waits it out and registers."""
    server = make_sandbox(rate_limit=0.5)
    auth = {"Authorization": f"Bearer {server.token}"}
    httpx.get(f"{server.base_url}/phonenumber/external_dids", headers=auth)
    outcome = run_import(one_row_file(tmp_path), run_settings(server, tmp_path))
    assert outcome.stopped_by is None
    assert outcome.exit_code == 0
    assert [r.status for r in outcome.results] == [Status.REGISTERED]
    faults = [e["fault"] for e in server.state.requests]
    assert "rate_limited" in faults


def test_sandbox_messaging_final_state_is_read_per_row(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Enablement is read until final; a 'failed' one is a warning on each row, with its state."""
    server = make_sandbox(messaging_outcome="failed", messaging_settle_s=0.3)
    settings = run_settings(server, tmp_path, enable_messaging="p2p")
    outcome = run_import(one_row_file(tmp_path, rows=3), settings)
    assert [r.status for r in outcome.results] == [Status.REGISTERED] * 3
    assert [r.extra.get("messaging") for r in outcome.results] == ["failed"] * 3
    assert all(codes(r) == [messaging.API_MESSAGING_FAILED.code] for r in outcome.results)
    assert outcome.exit_code == 0  # a warning: the numbers are registered


# -- against a hostile server on loopback --------------------------------------------------
EMPTY_PAGE = Reply(200, b'{"items": [], "has_more": false}')
DIDS = f"{API}/phonenumber/external_dids"


def test_an_hour_long_retry_after_is_not_waited(hostile: HostileFactory, tmp_path: Path) -> None:
    """A real 429 with Retry-After: 3600: the run ends at once, the row api.deferred, exit 1."""
    server = hostile(
        routes={
            ("GET", DIDS): EMPTY_PAGE,
            ("POST", DIDS): Reply(429, b'{"message": "slow down"}', {"Retry-After": "3600"}),
        }
    )
    settings = build_settings(
        {
            "api": {"base_url": server.base_url, "token": "t" * 16},
            "report": {"report_dir": tmp_path / "reports"},
        }
    )
    started = time.monotonic()
    outcome = run_import(one_row_file(tmp_path), settings)
    assert time.monotonic() - started < 30
    assert outcome.exit_code == 1
    [result] = outcome.results
    assert (result.status, codes(result)) == (Status.FAILED, [registration.API_DEFERRED.code])
    assert [seen.method for seen in server.requests] == ["GET", "POST"]


def test_cli_redirect_on_post_exits_3_naming_the_target(
    hostile: HostileFactory, tmp_path: Path
) -> None:
    """`run` against a base URL that redirects POSTs: exit 3, one line naming the target."""
    target = "https://api.example.invalid/core/v2/phonenumber/external_dids"
    server = hostile(routes={("GET", DIDS): EMPTY_PAGE, ("POST", DIDS): Redirect(target)})
    arguments = ["run", str(one_row_file(tmp_path, rows=3)), "--concurrency", "1"]
    result = CliRunner().invoke(
        app,
        [*arguments, "--base-url", server.base_url],
        env={"CARRIERX_TOKEN": "t" * 16},
    )
    assert result.exit_code == 3, result.output
    error_lines = [line for line in result.stderr.splitlines() if target in line]
    assert len(error_lines) == 1
    assert "--base-url" in error_lines[0]
    assert "Traceback" not in result.output
    assert [seen.method for seen in server.requests] == ["GET", "POST"]


# -- stopping during waits (review of the engine) ----------------------------------------------
async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def stopped_run(
    handler: Handler, rows: list[RowResult], flips: int, **changes: Any
) -> tuple[Batch[RowResult], float]:
    """Register `rows` with real (short) waits; the stop switch flips `flips` times at 0.2 s."""
    settings = ApiSettings(
        base_url=BASE_URL, token=SecretStr("t"), max_attempts=3, concurrency=1
    ).model_copy(update=changes)
    stop = StopSwitch()

    async def go() -> tuple[Batch[RowResult], float]:
        policy = RetryPolicy.from_settings(settings, sleep=real_sleep, rng=random.Random(1))
        async with make_client(settings, transport=httpx.MockTransport(handler)) as client:
            executor = Executor(client, settings, policy=policy, stop=stop)

            async def flip() -> None:
                await asyncio.sleep(0.2)
                for _ in range(flips):
                    stop.request("SIGINT")

            flipping = asyncio.create_task(flip())
            started = time.monotonic()
            batch = await send.register_rows(rows, executor)
            await flipping
            return batch, time.monotonic() - started

    return asyncio.run(go())


def test_a_stop_is_heard_during_a_retry_wait() -> None:
    """A stop during a 5 s Retry-After wait ends the wait: the row failed, never 'unknown'."""
    slow = answer(429, **{"Retry-After": "5"})
    batch, took = stopped_run(slow, [row(0)], flips=1)
    assert took < 2.0
    [result] = batch.results
    assert result.status is Status.FAILED
    assert "unknown" not in result.issues[0].message
    assert "the run stopped before a retry" in result.issues[0].message


def test_a_stop_is_heard_during_the_pause_before_the_second_pass() -> None:
    """Stop and abort during the pause before the second pass: heard at once, first outcome kept."""
    batch, took = stopped_run(answer(429), [row(0)], flips=2, max_attempts=1, backoff_max=5.0)
    assert took < 2.0
    [result] = batch.results
    assert (result.status, result.attempts) == (Status.FAILED, 1)


def test_a_stop_during_the_preflight_is_a_stop_not_unreachable() -> None:
    """A stop while the preflight waits out a 429 ends the run with exit 4, nothing sent."""

    async def go() -> Batch[RowResult]:
        settings = ApiSettings(base_url=BASE_URL, token=SecretStr("t"))
        stop = StopSwitch()
        transport = httpx.MockTransport(lambda _: httpx.Response(429, headers={"Retry-After": "5"}))
        async with make_client(settings, transport=transport) as client:
            policy = RetryPolicy.from_settings(settings, sleep=real_sleep)
            asyncio.get_running_loop().call_later(0.2, stop.request, "SIGTERM")
            return await send.send_rows([row(0)], client, settings, stop=stop, policy=policy)

    batch = asyncio.run(go())
    assert isinstance(batch.stopped_by, RunStopped)
    assert batch.stopped_by.exit_code == 4
    assert [r.status for r in batch.results] == [Status.NOT_ATTEMPTED]


def test_the_preflight_gets_no_second_pass() -> None:
    """An unreachable preflight fails after max_attempts, with no pause and no second round."""
    seen: list[str] = []

    def refused(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        raise httpx.ConnectError("refused", request=request)

    script = Script(iter([]))
    settings = ApiSettings(base_url=BASE_URL, token=SecretStr("t"), max_attempts=3)

    async def go() -> None:
        policy = RetryPolicy.from_settings(settings, sleep=script.sleep)
        async with make_client(settings, transport=httpx.MockTransport(refused)) as client:
            await preflight(Executor(client, settings, policy=policy))

    with pytest.raises(ApiUnreachableError):
        asyncio.run(go())
    assert seen == ["GET"] * 3
    assert len(script.waits) == 2


def test_a_resumed_row_asked_to_wait_an_hour_is_deferred() -> None:
    """A row an earlier run may have sent: looked up (absent), then a 429 for an hour: deferred."""
    script = Script(iter([answer(429, **{"Retry-After": "3600"})]))
    settings = ApiSettings(base_url=BASE_URL, token=SecretStr("t"), max_wait=60)

    async def go() -> Batch[RowResult]:
        policy = RetryPolicy.from_settings(settings, sleep=script.sleep)
        async with make_client(settings, transport=httpx.MockTransport(script)) as client:
            executor = Executor(client, settings, policy=policy)
            return await send.register_rows([row(0)], executor, reconcile={2})

    [result] = asyncio.run(go()).results
    assert codes(result) == [registration.API_DEFERRED.code]
    assert script.seen == ["GET", "POST"]


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        (ssl.SSLCertVerificationError("certificate verify failed"), Kind.STOP),
        (ssl.SSLEOFError("EOF in violation of protocol"), Kind.UNKNOWN),
    ],
)
def test_only_a_refused_certificate_stops_the_run(cause: Exception, kind: Kind) -> None:
    """An untrusted certificate stops the run; a TLS error after sending is an unknown outcome."""
    error = httpx.RemoteProtocolError("cut")
    error.__cause__ = cause
    assert read_transport_error(error).kind is kind


@pytest.mark.parametrize(("second_pass", "failed"), [(False, 8), (True, 0)])
def test_sandbox_fault_mix_second_pass_finishes_every_row(
    make_sandbox: SandboxFactory, tmp_path: Path, second_pass: bool, failed: int
) -> None:
    """14 % faults, 2 attempts a request: 8 of 300 rows run out; the second pass finishes
    them. One request at a time, so the seeded faults fall on the same requests each run."""
    server = make_sandbox(
        seed=1, fail_rate=0.10, fail_statuses=(429, 503), drop_rate=0.02, lose_answer_rate=0.02
    )
    settings = run_settings(
        server,
        tmp_path,
        max_attempts=2,
        backoff_base=0.001,
        backoff_max=0.01,
        concurrency=1,
        second_pass=second_pass,
    )
    outcome = run_import(write_numbers(tmp_path / "numbers.csv", 300), settings)
    statuses = Counter(r.status for r in outcome.results)
    assert statuses == Counter({Status.REGISTERED: 300 - failed, Status.FAILED: failed})
    held = Counter(record["phonenumber"] for record in server.state.records)
    assert set(held.values()) == {1}  # never twice, faults or not
    assert len(held) == 300 - failed
