"""The default transport against hostile servers: one deadline per attempt, no redirects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from hostile_server import API, Drip, HostileFactory, Redirect, Reply
from pydantic import SecretStr

from importer.config import ApiSettings
from importer.send.client import EXTERNAL_DIDS, make_client
from importer.send.reading import Kind, read_transport_error
from importer.send.transport import SafeAiohttpTransport

T = TypeVar("T")
REGISTER = ("POST", f"{API}{EXTERNAL_DIDS}")
LIST = ("GET", f"{API}{EXTERNAL_DIDS}")
SLOW_BODY = b'{"items": [], "has_more": false}'  # 32 bytes: 16 s at 0.5 s a byte
DEADLINE_SLACK_S = 2.0
NUMBER = {"phonenumber": "12059051025", "capabilities": 3}


def settings_for(base_url: str, timeout: float = 1.0, concurrency: int = 4) -> ApiSettings:
    return ApiSettings(
        base_url=base_url, token=SecretStr("t" * 16), timeout=timeout, concurrency=concurrency
    )


def with_client(settings: ApiSettings, action: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `action` on a fresh `make_client(settings)` (the default aiohttp transport)."""

    async def main() -> T:
        async with make_client(settings) as client:
            return await action(client)

    return asyncio.run(main())


def failing(
    settings: ApiSettings, method: str, body: Any = None, **options: Any
) -> tuple[httpx.RequestError, float]:
    """The error one request to EXTERNAL_DIDS ends with, and the seconds it took."""

    async def send(client: httpx.AsyncClient) -> httpx.RequestError:
        with pytest.raises(httpx.RequestError) as caught:
            await client.request(method, EXTERNAL_DIDS, json=body, **options)
        return caught.value

    started = time.monotonic()
    error = with_client(settings, send)
    return error, time.monotonic() - started


def answer(settings: ApiSettings, method: str, body: Any = None) -> httpx.Response:
    """The (fully read) answer to one request to EXTERNAL_DIDS."""

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, EXTERNAL_DIDS, json=body)

    return with_client(settings, send)


# -- --timeout is the deadline of the whole attempt -------------------------------------------


@pytest.mark.parametrize(("method", "body"), [("POST", NUMBER), ("GET", None)])
def test_a_dripping_body_ends_at_the_deadline(
    hostile: HostileFactory, method: str, body: Any
) -> None:
    """A body that keeps trickling in (each byte within the read timeout) stops at --timeout."""
    server = hostile({(method, f"{API}{EXTERNAL_DIDS}"): Drip(SLOW_BODY, every=0.5)})
    error, elapsed = failing(settings_for(server.base_url, timeout=1), method, body)
    assert isinstance(error, httpx.ReadTimeout)
    assert "within 1 s" in str(error)
    assert elapsed < 1 + DEADLINE_SLACK_S
    assert len(server.requests) == 1


def test_a_post_cut_mid_body_by_the_deadline_was_sent(hostile: HostileFactory) -> None:
    """The deadline passing mid-body means "sent, outcome unknown": look up before resending."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.5)})
    error, _ = failing(settings_for(server.base_url), "POST", NUMBER)
    verdict = read_transport_error(error)
    assert verdict.kind is Kind.UNKNOWN
    assert verdict.reached is True


def test_a_dripping_head_ends_at_the_deadline_as_sent(hostile: HostileFactory) -> None:
    """Status line and headers trickling in: the deadline still holds, and the POST was sent."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.2, head=True)})
    error, elapsed = failing(settings_for(server.base_url), "POST", NUMBER)
    assert isinstance(error, httpx.ReadTimeout)
    assert elapsed < 1 + DEADLINE_SLACK_S
    assert read_transport_error(error).kind is Kind.UNKNOWN


def test_no_connection_by_the_deadline_is_not_sent(
    hostile: HostileFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still connecting at the deadline (httpx's own timeouts longer): ConnectTimeout, not sent."""
    monkeypatch.setattr(aiohttp.TCPConnector, "_create_connection", _never_connects)
    server = hostile({REGISTER: Reply(200, b"{}")})
    settings = settings_for(server.base_url)
    error, elapsed = failing(settings, "POST", NUMBER, timeout=httpx.Timeout(30))
    assert isinstance(error, httpx.ConnectTimeout)
    assert elapsed < 1 + DEADLINE_SLACK_S
    assert read_transport_error(error).kind is Kind.RETRY
    assert server.requests == []


def test_a_session_of_its_own_makes_a_late_connect_count_as_sent(
    hostile: HostileFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a session passed in, the transport cannot tell: a deadline then says "sent"."""
    monkeypatch.setattr(aiohttp.TCPConnector, "_create_connection", _never_connects)
    server = hostile({REGISTER: Reply(200, b"{}")})
    transport = SafeAiohttpTransport(client=aiohttp.ClientSession, total_timeout=1)

    async def post() -> httpx.RequestError:
        async with httpx.AsyncClient(base_url=server.base_url, transport=transport) as client:
            with pytest.raises(httpx.RequestError) as caught:
                await client.post(EXTERNAL_DIDS, json=NUMBER, timeout=30)
            return caught.value

    assert read_transport_error(asyncio.run(post())).kind is Kind.UNKNOWN


def test_a_fast_answer_is_unaffected_by_the_deadline(hostile: HostileFactory) -> None:
    """A prompt answer, even one of many chunks, arrives whole under a 1 s deadline."""
    big = b'{"items": [], "pad": "' + b"x" * 300_000 + b'"}'
    server = hostile({REGISTER: Reply(200, big, {"Content-Type": "application/json"})})
    response = answer(settings_for(server.base_url), "POST", NUMBER)
    assert response.status_code == 200
    assert response.content == big


def test_after_a_deadline_the_next_request_starts_afresh(hostile: HostileFactory) -> None:
    """One pooled connection: the request after a timed-out one gets its own deadline, and works."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.5), LIST: Reply(200, b"{}")})
    settings = settings_for(server.base_url, concurrency=1)

    async def twice(client: httpx.AsyncClient) -> int:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(EXTERNAL_DIDS, json=NUMBER)
        return (await client.get(EXTERNAL_DIDS)).status_code

    assert with_client(settings, twice) == 200
    assert [seen.method for seen in server.requests] == ["POST", "GET"]


# -- redirects are never followed -------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_reaches_the_caller_unfollowed(
    hostile: HostileFactory, method: str, status: int
) -> None:
    """A 3xx comes back as it is, Location intact; one request, and none to the Location."""
    target = f"{API}/elsewhere"
    server = hostile(
        {(method, f"{API}{EXTERNAL_DIDS}"): Redirect(target, status=status), **_anything(target)}
    )
    response = answer(settings_for(server.base_url), method, NUMBER if method == "POST" else None)
    assert response.status_code == status
    assert response.is_redirect
    assert response.headers["Location"] == target
    assert [(seen.method, seen.path) for seen in server.requests] == [
        (method, f"{API}{EXTERNAL_DIDS}")
    ]


def test_a_redirect_to_another_host_sends_nothing_there(hostile: HostileFactory) -> None:
    """A 307 to another server (absolute Location): that server never hears from the client."""
    elsewhere = hostile({REGISTER: Reply(200, b"{}")})
    server = hostile({REGISTER: Redirect(f"{elsewhere.base_url}{EXTERNAL_DIDS}", status=307)})
    response = answer(settings_for(server.base_url), "POST", NUMBER)
    assert response.status_code == 307
    assert response.headers["Location"] == f"{elsewhere.base_url}{EXTERNAL_DIDS}"
    assert len(server.requests) == 1
    assert elsewhere.requests == []


def test_make_client_says_it_follows_no_redirects() -> None:
    """`follow_redirects=False` is explicit in make_client, not left to httpx's default."""

    async def follows(client: httpx.AsyncClient) -> bool:
        return client.follow_redirects

    assert with_client(settings_for("http://127.0.0.1:9/core/v2"), follows) is False


async def _never_connects(*_args: Any, **_kwargs: Any) -> Any:
    """Stands in for aiohttp's connection set-up: waits until cancelled (by the deadline)."""
    await asyncio.Event().wait()


def _anything(path: str) -> dict[tuple[str, str], Reply]:
    """Routes that would answer 200 to any method at `path` (were a redirect followed)."""
    return {(method, path): Reply(200, b"{}") for method in ("GET", "POST", "PUT")}
