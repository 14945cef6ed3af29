"""The explicit steps after registration: --verify read-back, and --enable-messaging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from importer.api import run_import
from importer.config import ApiSettings, build_settings
from importer.models import RawRow, RowResult, Status
from importer.sandbox import SandboxServer
from importer.send import Executor
from importer.send.client import make_client
from importer.send.operations import messaging, verify
from importer.send.operations.messaging import EnableMessaging
from importer.send.operations.verify import Verify

SandboxFactory = Callable[..., SandboxServer]
SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
SETTINGS = ApiSettings(
    base_url="http://api.test/core/v2",
    token=SecretStr("t"),
    max_attempts=3,
    backoff_base=0.0,
    backoff_max=0.0,
    enable_messaging="a2p",
    campaign_sid="campaign-1",
    second_pass=False,
)


async def verify_rows(
    results: list[RowResult], client: httpx.AsyncClient, settings: ApiSettings
) -> list[RowResult]:
    """The verify pass on an executor that never sleeps."""
    executor = Executor(client, settings)
    executor.policy = executor.policy.without_waits()
    return (await executor.run_rows(Verify(), results)).results


async def enable_messaging(
    results: list[RowResult], client: httpx.AsyncClient, settings: ApiSettings
) -> list[RowResult]:
    """The messaging pass on an executor that never sleeps."""
    executor = Executor(client, settings)
    executor.policy = executor.policy.without_waits()
    return (await executor.run_rows(EnableMessaging(settings), results)).results


def result(i: int, status: Status = Status.REGISTERED, **extra: Any) -> RowResult:
    return RowResult(
        row=RawRow(i + 2, (str(i),)),
        status=status,
        external_did_sid=f"sid-{i}",
        normalized_phonenumber=f"1205905{i:04d}",
        extra=extra,
    )


def drive(step: Any, results: list[RowResult], handler: Any) -> list[RowResult]:
    async def go() -> list[RowResult]:
        async with make_client(SETTINGS, transport=httpx.MockTransport(handler)) as client:
            out: list[RowResult] = await step(results, client, SETTINGS)
            return out

    return asyncio.run(go())


def record(active: int, wanted: int = 3) -> httpx.Response:
    return httpx.Response(200, json={"active_capabilities": active, "capabilities": wanted})


def codes(row: RowResult) -> list[str]:
    return [issue.code for issue in row.issues]


def test_verify_flags_capability_mismatch() -> None:
    """A record whose active_capabilities differ from capabilities gets a warning; status stays."""
    answers = {
        "/core/v2/phonenumber/external_dids/sid-0": record(3),
        "/core/v2/phonenumber/external_dids/sid-1": record(0),
    }
    out = drive(verify_rows, [result(0), result(1)], lambda r: answers[r.url.path])
    assert [r.status for r in out] == [Status.REGISTERED, Status.REGISTERED]
    assert codes(out[0]) == []
    assert out[0].extra["verified"] is True
    assert codes(out[1]) == [verify.API_VERIFY_MISMATCH.code]
    assert "active_capabilities is 0" in out[1].issues[0].message


def test_verify_skips_rows_not_registered_now() -> None:
    """Only rows registered in this run are read back (not journaled or pre-existing ones)."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path.rsplit("/", 1)[-1])
        return record(3)

    rows = [result(0), result(1, Status.ALREADY_REGISTERED), result(2, from_journal=True)]
    drive(verify_rows, rows, handler)
    assert seen == ["sid-0"]


def test_verify_retries_then_warns_when_it_cannot_read() -> None:
    """A read that keeps failing is retried, then flagged api.verify_failed (a warning)."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, json={"message": "down"})

    [out] = drive(verify_rows, [result(0)], handler)
    assert len(calls) == SETTINGS.max_attempts
    assert codes(out) == [verify.API_VERIFY_FAILED.code]


def test_messaging_posts_the_enablement_for_registered_rows() -> None:
    """Registered and already-registered rows get one enablement POST each; others none."""
    bodies: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"status": "enabled"})
        bodies.append((request.url.path, request.content))
        return httpx.Response(200, json={"status": "in_progress"})

    rows = [result(0), result(1, Status.ALREADY_REGISTERED), result(2, Status.REJECTED)]
    out = drive(enable_messaging, rows, handler)
    assert [path.split("/")[-2] for path, _ in bodies] == ["sid-0", "sid-1"]
    assert b'"type":"a2p"' in bodies[0][1].replace(b" ", b"")
    assert b'"campaign_sid":"campaign-1"' in bodies[0][1].replace(b" ", b"")
    assert [r.extra.get("messaging") for r in out] == ["enabled", "enabled", None]
    assert [codes(r) for r in out] == [[], [], []]


def test_messaging_reads_the_state_until_it_is_final() -> None:
    """An in_progress enablement is read back until it ends; `failed` gives a warning."""
    states = iter(["in_progress", "in_progress", "failed"])
    gets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"status": "in_progress"})
        gets.append(request.url.path)
        return httpx.Response(200, json={"status": next(states)})

    [out] = drive(enable_messaging, [result(0)], handler)
    assert len(gets) == 3
    assert out.extra["messaging"] == "failed"
    assert codes(out) == [messaging.API_MESSAGING_FAILED.code]
    assert "'failed'" in out.issues[0].message


def test_messaging_still_in_progress_is_reported_pending() -> None:
    """An enablement still in progress after every read-back is a messaging_pending warning."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "in_progress"})

    [out] = drive(enable_messaging, [result(0)], handler)
    assert out.extra["messaging"] == "in_progress"
    assert codes(out) == [messaging.API_MESSAGING_PENDING.code]


def test_messaging_permanent_refusal_is_not_retried() -> None:
    """A 400 on the enablement (a bad campaign) is sent once per row, never retried."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        error = {"field": "campaign_sid", "message": "unknown campaign"}
        return httpx.Response(400, json={"message": "bad request", "errors": [error]})

    out = drive(enable_messaging, [result(i) for i in range(13)], handler)
    assert calls == ["POST"] * 13
    assert all(codes(r) == [messaging.API_MESSAGING_FAILED.code] for r in out)
    assert "unknown campaign" in out[0].issues[0].message


def test_messaging_refused_stops_the_step() -> None:
    """A 403 on the first enablement is not retried, and no later row is tried."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(403, json={"message": "messaging not allowed"})

    out = drive(enable_messaging, [result(0), result(1), result(2)], handler)
    assert len(calls) == 1
    assert all(codes(r) == [messaging.API_MESSAGING_FAILED.code] for r in out)


def test_a2p_without_campaign_is_a_config_error() -> None:
    """--enable-messaging a2p needs --campaign-sid: refused before anything is sent."""
    with pytest.raises(ValueError, match="campaign_sid"):
        ApiSettings(enable_messaging="a2p")


def test_sandbox_run_with_verify_and_messaging(sandbox: SandboxServer, tmp_path: Path) -> None:
    """End to end: registered rows are read back clean, then enabled for a2p messaging."""
    settings = build_settings(
        {
            "api": {
                "base_url": sandbox.base_url,
                "token": sandbox.token,
                "verify": True,
                "enable_messaging": "a2p",
                "campaign_sid": "c-1",
            },
            "report": {"report_dir": tmp_path},
        }
    )
    outcome = run_import(SAMPLES / "partner_numbers.csv", settings)
    registered = [r for r in outcome.results if r.status is Status.REGISTERED]
    assert len(registered) == 40
    assert all(r.extra.get("verified") is True for r in registered)
    assert all(r.extra.get("messaging") == "enabled" for r in registered)
    assert not any(i.code.startswith("api.") for r in registered for i in r.issues)
    posts = [
        e
        for e in sandbox.state.requests
        if e["path"].endswith("/messaging") and e["method"] == "POST"
    ]
    assert len(posts) == 40
    assert all(e["status"] == 200 for e in posts)
