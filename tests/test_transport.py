"""The default transport against hostile servers: one deadline per attempt, no redirects.

Every test that sends runs on both roads to the transport: httpx's client
(`client.request`, what a plain httpx caller gets) and the executor's direct route
(`Executor.send` → `SafeAiohttpTransport.send_directly`, what a run uses).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from hostile_server import API, Drip, HostileFactory, Redirect, Reply
from pydantic import SecretStr

from importer.config import ApiSettings
from importer.send.client import EXTERNAL_DIDS, direct_route, make_client, parse_problem
from importer.send.executor import Executor
from importer.send.reading import Kind, Request, read_transport_error
from importer.send.remote import ReadOnlyTransport, WriteRefusedError, read_only_client
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


Send = Callable[..., Awaitable[httpx.Response]]
ROADS = ("client", "direct")


@pytest.fixture(params=ROADS)
def road(request: pytest.FixtureRequest) -> str:
    """Which road a test's requests take to the transport (see the module doc)."""
    return str(request.param)


def sender(road: str, client: httpx.AsyncClient, settings: ApiSettings) -> Send:
    """`send(method, path, body=None, **httpx_options)` on `road`; the direct road takes no
    httpx options (its socket waits are the deadline itself)."""
    executor = Executor(client, settings)
    assert direct_route(client) is not None

    async def send(method: str, path: str, body: Any = None, **options: Any) -> httpx.Response:
        if road == "client":
            return await client.request(method, path, json=body, **options)
        return await executor.send(Request(method=method, path=path, what="test", json=body))

    return send


def with_client(
    settings: ApiSettings, action: Callable[[Send], Awaitable[T]], road: str = "client"
) -> T:
    """Run `action` with a `send` on a fresh `make_client(settings)` (the aiohttp transport)."""

    async def main() -> T:
        async with make_client(settings) as client:
            return await action(sender(road, client, settings))

    return asyncio.run(main())


def failing(
    settings: ApiSettings, road: str, method: str, body: Any = None, **options: Any
) -> tuple[httpx.RequestError, float]:
    """The error one request to EXTERNAL_DIDS ends with, and the seconds it took."""

    async def once(send: Send) -> httpx.RequestError:
        with pytest.raises(httpx.RequestError) as caught:
            await send(method, EXTERNAL_DIDS, body, **options)
        return caught.value

    started = time.monotonic()
    error = with_client(settings, once, road)
    return error, time.monotonic() - started


def answer(settings: ApiSettings, road: str, method: str, body: Any = None) -> httpx.Response:
    """The (fully read) answer to one request to EXTERNAL_DIDS."""

    async def once(send: Send) -> httpx.Response:
        return await send(method, EXTERNAL_DIDS, body)

    return with_client(settings, once, road)


# -- --timeout is the deadline of the whole attempt -------------------------------------------


@pytest.mark.parametrize(("method", "body"), [("POST", NUMBER), ("GET", None)])
def test_a_dripping_body_ends_at_the_deadline(
    hostile: HostileFactory, road: str, method: str, body: Any
) -> None:
    """A body that keeps trickling in (each byte within the read timeout) stops at --timeout."""
    server = hostile({(method, f"{API}{EXTERNAL_DIDS}"): Drip(SLOW_BODY, every=0.5)})
    error, elapsed = failing(settings_for(server.base_url, timeout=1), road, method, body)
    assert isinstance(error, httpx.ReadTimeout)
    assert "within 1 s" in str(error)
    assert elapsed < 1 + DEADLINE_SLACK_S
    assert len(server.requests) == 1


def test_a_post_cut_mid_body_by_the_deadline_was_sent(hostile: HostileFactory, road: str) -> None:
    """The deadline passing mid-body means "sent, outcome unknown": look up before resending."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.5)})
    error, _ = failing(settings_for(server.base_url), road, "POST", NUMBER)
    verdict = read_transport_error(error)
    assert verdict.kind is Kind.UNKNOWN
    assert verdict.reached is True


def test_a_dripping_head_ends_at_the_deadline_as_sent(hostile: HostileFactory, road: str) -> None:
    """Status line and headers trickling in: the deadline still holds, and the POST was sent."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.2, head=True)})
    error, elapsed = failing(settings_for(server.base_url), road, "POST", NUMBER)
    assert isinstance(error, httpx.ReadTimeout)
    assert elapsed < 1 + DEADLINE_SLACK_S
    assert read_transport_error(error).kind is Kind.UNKNOWN


def test_no_connection_by_the_deadline_is_not_sent(
    hostile: HostileFactory, monkeypatch: pytest.MonkeyPatch, road: str
) -> None:
    """Still connecting at the deadline (httpx's own timeouts longer): ConnectTimeout, not sent."""
    monkeypatch.setattr(aiohttp.TCPConnector, "_create_connection", _never_connects)
    server = hostile({REGISTER: Reply(200, b"{}")})
    settings = settings_for(server.base_url)
    options = {"timeout": httpx.Timeout(30)} if road == "client" else {}
    error, elapsed = failing(settings, road, "POST", NUMBER, **options)
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


def test_a_fast_answer_is_unaffected_by_the_deadline(hostile: HostileFactory, road: str) -> None:
    """A prompt answer, even one of many chunks, arrives whole under a 1 s deadline."""
    big = b'{"items": [], "pad": "' + b"x" * 300_000 + b'"}'
    server = hostile({REGISTER: Reply(200, big, {"Content-Type": "application/json"})})
    response = answer(settings_for(server.base_url), road, "POST", NUMBER)
    assert response.status_code == 200
    assert response.content == big


def test_after_a_deadline_the_next_request_starts_afresh(
    hostile: HostileFactory, road: str
) -> None:
    """One pooled connection: the request after a timed-out one gets its own deadline, and works."""
    server = hostile({REGISTER: Drip(SLOW_BODY, every=0.5), LIST: Reply(200, b"{}")})
    settings = settings_for(server.base_url, concurrency=1)

    async def twice(send: Send) -> int:
        with pytest.raises(httpx.ReadTimeout):
            await send("POST", EXTERNAL_DIDS, NUMBER)
        return (await send("GET", EXTERNAL_DIDS)).status_code

    assert with_client(settings, twice, road) == 200
    assert [seen.method for seen in server.requests] == ["POST", "GET"]


# -- redirects are never followed -------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_reaches_the_caller_unfollowed(
    hostile: HostileFactory, road: str, method: str, status: int
) -> None:
    """A 3xx comes back as it is, Location intact; one request, and none to the Location."""
    target = f"{API}/elsewhere"
    server = hostile(
        {(method, f"{API}{EXTERNAL_DIDS}"): Redirect(target, status=status), **_anything(target)}
    )
    body = NUMBER if method == "POST" else None
    response = answer(settings_for(server.base_url), road, method, body)
    assert response.status_code == status
    assert response.is_redirect
    assert response.headers["Location"] == target
    assert [(seen.method, seen.path) for seen in server.requests] == [
        (method, f"{API}{EXTERNAL_DIDS}")
    ]


def test_a_redirect_to_another_host_sends_nothing_there(hostile: HostileFactory, road: str) -> None:
    """A 307 to another server (absolute Location): that server never hears from the client."""
    elsewhere = hostile({REGISTER: Reply(200, b"{}")})
    server = hostile({REGISTER: Redirect(f"{elsewhere.base_url}{EXTERNAL_DIDS}", status=307)})
    response = answer(settings_for(server.base_url), road, "POST", NUMBER)
    assert response.status_code == 307
    assert response.headers["Location"] == f"{elsewhere.base_url}{EXTERNAL_DIDS}"
    assert len(server.requests) == 1
    assert elsewhere.requests == []


def test_make_client_says_it_follows_no_redirects() -> None:
    """`follow_redirects=False` is explicit in make_client, not left to httpx's default."""

    async def follows() -> bool:
        async with make_client(settings_for("http://127.0.0.1:9/core/v2")) as client:
            return client.follow_redirects

    assert asyncio.run(follows()) is False


async def _never_connects(*_args: Any, **_kwargs: Any) -> Any:
    """Stands in for aiohttp's connection set-up: waits until cancelled (by the deadline)."""
    await asyncio.Event().wait()


def _anything(path: str) -> dict[tuple[str, str], Reply]:
    """Routes that would answer 200 to any method at `path` (were a redirect followed)."""
    return {(method, path): Reply(200, b"{}") for method in ("GET", "POST", "PUT")}


# -- the direct route sends what httpx would send, and reads the answer as httpx would ------


@pytest.mark.parametrize(
    "request_",
    [
        Request(method="POST", path=EXTERNAL_DIDS, what="register", json={"name": "Zoë", **NUMBER}),
        Request(method="GET", path=EXTERNAL_DIDS, what="lookup", params={"filter": "a eq 'b c'"}),
        Request(method="PATCH", path=f"{EXTERNAL_DIDS}/x", what="update", json={"name": None}),
        Request(method="DELETE", path=f"{EXTERNAL_DIDS}/x", what="delete", headers={"X-A": "1"}),
    ],
    ids=["post-json", "get-query", "patch-null", "delete-header"],
)
def test_both_roads_send_the_same_request(hostile: HostileFactory, request_: Request) -> None:
    """Method, path, query, headers (token, agent, type, length) and body bytes are identical."""
    server = hostile({(request_.method, f"{API}{request_.path}"): Reply(200, b"{}")})
    settings = settings_for(server.base_url)

    async def both() -> None:
        async with make_client(settings) as client:
            executor = Executor(client, settings)
            await executor.send(request_)
            executor._direct = None  # the long road, for comparison
            await executor.send(request_)

    asyncio.run(both())
    direct, through_httpx = server.requests
    assert (direct.method, direct.path, direct.query, direct.body) == (
        through_httpx.method,
        through_httpx.path,
        through_httpx.query,
        through_httpx.body,
    )
    for name in ("authorization", "user-agent", "accept", "content-type", "content-length", "x-a"):
        assert direct.headers.get(name) == through_httpx.headers.get(name), name


def test_the_direct_route_decodes_a_compressed_answer(hostile: HostileFactory) -> None:
    """A gzip-encoded answer reads as its JSON, as httpx would decode it."""
    body = gzip.compress(b'{"items": [], "has_more": false}')
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    server = hostile({LIST: Reply(200, body, headers)})
    response = answer(settings_for(server.base_url), "direct", "GET")
    assert response.json() == {"items": [], "has_more": False}


def test_the_direct_route_answer_knows_its_request(hostile: HostileFactory) -> None:
    """The answer carries its request (URL, token header): errors are redacted from it."""
    server = hostile({REGISTER: Reply(422, b'{"message": "bad tttttttttttttttt"}')})
    response = answer(settings_for(server.base_url), "direct", "POST", NUMBER)
    assert response.request.url == f"{server.base_url}{EXTERNAL_DIDS}"
    assert "t" * 16 not in parse_problem(response).detail


@pytest.mark.parametrize(
    "client",
    [
        lambda s: make_client(s, transport=httpx.MockTransport(lambda r: httpx.Response(200))),
        lambda s: make_client(s, transport=ReadOnlyTransport(SafeAiohttpTransport())),
        lambda s: _hooked(make_client(s)),
        lambda s: httpx.AsyncClient(transport=SafeAiohttpTransport()),
    ],
    ids=["test-transport", "read-only", "event-hooks", "plain-httpx-client"],
)
def test_only_a_plain_default_client_has_a_direct_route(
    client: Callable[[ApiSettings], httpx.AsyncClient],
) -> None:
    """A test's transport, the read-only guard, or hooks keep every request on httpx's road."""
    assert direct_route(client(settings_for("http://127.0.0.1:9/core/v2"))) is None


def _hooked(client: httpx.AsyncClient) -> httpx.AsyncClient:
    async def hook(_: httpx.Request) -> None:
        pass

    client.event_hooks = {"request": [hook], "response": []}
    return client


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_read_only_client_refuses_writes_on_the_direct_route(
    hostile: HostileFactory, method: str
) -> None:
    """`read_only_client` keeps its guard on the direct route: a write never leaves."""
    server = hostile(_anything(f"{API}{EXTERNAL_DIDS}") | {LIST: Reply(200, b"{}")})
    settings = settings_for(server.base_url)

    async def attempt() -> int:
        async with read_only_client(settings) as client:
            executor = Executor(client, settings)
            assert direct_route(client) is not None
            read = await executor.send(Request(method="GET", path=EXTERNAL_DIDS, what="read"))
            with pytest.raises(WriteRefusedError, match=f"refused to send {method}"):
                await executor.send(Request(method=method, path=EXTERNAL_DIDS, what="w", json={}))
            return read.status_code

    assert asyncio.run(attempt()) == 200
    assert [seen.method for seen in server.requests] == ["GET"]
