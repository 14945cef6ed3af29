"""The HTTP edge and how answers are read: client construction, preflight, lookups,
error bodies, reading kinds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from pydantic import SecretStr

from importer import __version__
from importer.config import ApiSettings
from importer.errors import ApiError, ApiUnreachableError, AuthError
from importer.send import Executor, RetryPolicy
from importer.send.client import (
    make_client,
    parse_problem,
    retry_after,
    unreachable,
)
from importer.send.operation import AnsweredOnce
from importer.send.operations.lookup import find_number
from importer.send.operations.preflight import preflight
from importer.send.operations.register import read_registration
from importer.send.reading import Kind, Reading, Request, read_transport_error
from importer.send.steps import Steps
from importer.send.transport import SafeAiohttpTransport, translate

BASE_URL = "http://api.test/core/v2"
TOKEN = "s3cret-token-value"
RECORD = {"external_did_sid": "sid-1", "phonenumber": "12059051025", "capabilities": 3}

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def error_body(message: str, *errors: tuple[str | None, str, str | None]) -> dict[str, Any]:
    return {
        "message": message,
        "errors": [{"field": f, "message": m, "reference_sid": s} for f, m, s in errors],
    }


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings(base_url=BASE_URL, token=SecretStr(TOKEN), timeout=7, concurrency=3)


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


@pytest.fixture
def call(
    settings: ApiSettings, seen: list[httpx.Request]
) -> Callable[[Handler, Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]]], Any]:
    """Run `action(client)` against a client whose transport is `handler` (requests recorded)."""

    def _call(
        handler: Handler, action: Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]]
    ) -> Any:
        def recording(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        async def go() -> Any:
            async with make_client(settings, transport=httpx.MockTransport(recording)) as client:
                return await action(client)

        return run(go())

    return _call


def executor(client: httpx.AsyncClient) -> Executor:
    """An executor on `client` whose retries never sleep."""
    settings = ApiSettings(base_url=BASE_URL, token=SecretStr(TOKEN), max_attempts=3)
    policy = RetryPolicy.from_settings(settings).without_waits()
    return Executor(client, settings, policy=policy)


async def preflight_on(client: httpx.AsyncClient) -> None:
    """The preflight, on an executor that never sleeps."""
    await preflight(executor(client))


class _Find(AnsweredOnce):
    """A one-item operation around `find_number`, to drive it alone."""

    name = "find"

    async def settle(self, item: str, steps: Steps) -> Reading:
        return await find_number(steps, item)


def find(digits: str) -> Callable[[httpx.AsyncClient], Coroutine[Any, Any, Reading]]:
    """An action that looks `digits` up and returns the reading."""

    async def action(client: httpx.AsyncClient) -> Reading:
        return (await executor(client).run(_Find(), [digits])).results[0]

    return action


def page(*items: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"items": list(items), "count": len(items), "has_more": False})


# -- make_client -------------------------------------------------------------------
def test_client_sends_bearer_token_user_agent_and_joins_base_url(
    call: Any, seen: list[httpx.Request]
) -> None:
    """Requests carry `Authorization: Bearer`, the did-import User-Agent, under the base path."""
    call(lambda _: page(), preflight_on)
    request = seen[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == f"did-import/{__version__}"
    assert str(request.url) == f"{BASE_URL}/phonenumber/external_dids?limit=1"
    assert request.method == "GET"


def test_client_without_token_sends_no_authorization() -> None:
    """With no token configured, no Authorization header is sent at all."""
    client = make_client(ApiSettings(base_url=BASE_URL))
    assert "Authorization" not in client.headers
    run(client.aclose())


def test_client_timeout_comes_from_settings(settings: ApiSettings) -> None:
    """The client's timeouts are the configured one."""
    client = make_client(settings)
    assert client.timeout == httpx.Timeout(7)
    assert str(client.base_url) == f"{BASE_URL}/"
    run(client.aclose())


# -- preflight ---------------------------------------------------------------------
@pytest.mark.parametrize(("status", "said"), [(401, "token refused"), (403, "permission denied")])
def test_preflight_auth_refusal_raises_auth_error(call: Any, status: int, said: str) -> None:
    """401/403 raise AuthError naming the status and the API's message, never the token."""
    body = error_body("authentication failed", (None, "bad credentials", None))
    with pytest.raises(AuthError) as caught:
        call(lambda _: httpx.Response(status, json=body), preflight_on)
    message = str(caught.value)
    assert caught.value.status_code == status
    assert f"HTTP {status}" in message
    assert said in message
    assert "authentication failed" in message
    assert TOKEN not in message
    assert "\n" not in message
    assert ("phonenumber.read" in message) is (status == 403)


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadTimeout("")]
)
def test_preflight_transport_error_raises_unreachable(call: Any, error: Exception) -> None:
    """Connect errors and timeouts raise ApiUnreachableError naming the base URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(ApiUnreachableError) as caught:
        call(handler, preflight_on)
    assert BASE_URL in str(caught.value)
    assert "\n" not in str(caught.value)


def test_preflight_other_status_raises_api_error(call: Any) -> None:
    """Any other non-200 answer raises ApiError (exit 3) with the status in one line."""
    with pytest.raises(ApiError, match="HTTP 404") as caught:
        call(lambda _: httpx.Response(404, text="<html>Not Found</html>"), preflight_on)
    assert type(caught.value) is ApiError


def test_preflight_accepts_a_page(call: Any) -> None:
    """A 200 page means the token can read: preflight returns quietly."""
    assert call(lambda _: page(RECORD), preflight_on) is None


@pytest.mark.parametrize("busy", [429, 503])
def test_preflight_retries_a_busy_api(call: Any, busy: int, seen: list[httpx.Request]) -> None:
    """A 429 or 5xx on the preflight is retried like any request, not a refusal (exit 3)."""
    answers = iter([httpx.Response(busy, headers={"Retry-After": "1"}), page()])
    assert call(lambda _: next(answers), preflight_on) is None
    assert len(seen) == 2


# -- find_number -------------------------------------------------------------------
def test_find_number_filters_by_quoted_digits(call: Any, seen: list[httpx.Request]) -> None:
    """The lookup asks for `phonenumber eq "<digits>"` with limit 1 and returns the record."""
    found = call(lambda _: page(RECORD), find("12059051025"))
    assert found.kind is Kind.DONE
    assert found.body == RECORD
    params = seen[0].url.params
    assert params["filter"] == 'phonenumber eq "12059051025"'
    assert params["limit"] == "1"


@pytest.mark.parametrize(
    "reply",
    [page(), page({**RECORD, "phonenumber": "19999999999"}), page("not a record")],  # type: ignore[arg-type]
)
def test_find_number_none_without_matching_record(call: Any, reply: httpx.Response) -> None:
    """An empty page, or one whose items are not this number, means not ours."""
    found = call(lambda _: reply, find("12059051025"))
    assert (found.kind, found.body) == (Kind.DONE, None)


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (lambda: httpx.Response(503, text="busy"), Kind.UNKNOWN),
        (lambda: httpx.Response(200, text="not json"), Kind.REFUSED),
        (lambda: httpx.Response(200, json={"no": "items"}), Kind.REFUSED),
        (lambda: httpx.Response(401, json=error_body("unauthorized")), Kind.STOP),
        (
            lambda: httpx.Response(
                200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
            ),
            Kind.UNKNOWN,
        ),
    ],
)
def test_find_number_without_usable_answer_is_not_absent(
    call: Any, reply: Callable[[], httpx.Response], kind: Kind
) -> None:
    """A lookup that gets no usable answer reads as such, never as 'absent'."""
    found = call(lambda _: reply(), find("12059051025"))
    assert found.kind is kind


def test_find_number_wants_bare_digits(call: Any) -> None:
    """A number with '+' or spaces is a programming error, refused before any request."""
    with pytest.raises(ValueError, match="digits"):
        call(lambda _: page(), find("+12059051025"))


# -- parse_problem -----------------------------------------------------------------
def response(status: int, content: bytes | str) -> httpx.Response:
    return httpx.Response(status, content=content.encode() if isinstance(content, str) else content)


def test_parse_problem_reads_the_error_body() -> None:
    """Message, field errors and reference_sid are read from the documented body."""
    body = error_body(
        "object validation error",
        ("phonenumber", "already registered", "sid-9"),
        ("capabilities", "voice not allowed", None),
    )
    problem = parse_problem(response(422, json.dumps(body)))
    assert problem.status == 422
    assert problem.field == "phonenumber"
    assert problem.errors[0].reference_sid == "sid-9"
    assert problem.about("capabilities") is not None
    assert problem.about("capabilities").message == "voice not allowed"  # type: ignore[union-attr]
    assert problem.detail == (
        "HTTP 422: object validation error; phonenumber: already registered; "
        "capabilities: voice not allowed"
    )


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("<html>\n  Bad   Gateway\n</html>", "HTTP 502: <html> Bad Gateway </html>"),
        ("", "HTTP 502"),
        ("[1, 2]", "HTTP 502: [1, 2]"),
        ('{"message": "", "errors": "oops"}', 'HTTP 502: {"message": "", "errors": "oops"}'),
        ('{"errors": [7, {"message": "m"}]}', "HTTP 502: m"),
        (b"\xff\xfe\x00garbage", None),
    ],
)
def test_parse_problem_survives_odd_bodies(content: str | bytes, detail: str | None) -> None:
    """Non-JSON or oddly shaped bodies still give a one-line detail starting with the status."""
    problem = parse_problem(response(502, content))
    assert problem.detail.startswith("HTTP 502")
    assert "\n" not in problem.detail
    if detail is not None:
        assert problem.detail == detail


def test_parse_problem_keeps_only_the_first_200_characters_of_text() -> None:
    """A long non-JSON body is cut to its first 200 characters."""
    problem = parse_problem(response(500, "x" * 5000))
    assert problem.detail == "HTTP 500: " + "x" * 200


# -- retry_after -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("1.5", 1.5), ("-3", 0.0), ("", None), ("soon", None), ("inf", None)],
)
def test_retry_after_seconds(header: str, seconds: float | None) -> None:
    """Retry-After in seconds is read as a float; junk or absence gives None."""
    reply = httpx.Response(429, headers={"Retry-After": header} if header else {})
    assert retry_after(reply) == seconds


@pytest.mark.parametrize(
    "date", ["Sun, 22 Nov 2026 15:00:30 GMT", "Sun, 22 Nov 2026 15:00:30 -0000"]
)
def test_retry_after_http_date(date: str) -> None:
    """Retry-After as an HTTP-date is the number of seconds from now until then."""
    reply = httpx.Response(429, headers={"Retry-After": date})
    now = datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC)
    assert retry_after(reply, now=now) == 30.0


# -- reading answers ----------------------------------------------------------------------
POST = Request(method="POST", path="/phonenumber/external_dids", what="+12059051025")
DUPLICATE = error_body("conflict", ("phonenumber", "number already registered", None))
DUPLICATE_OURS = error_body("conflict", ("phonenumber", "already registered", "sid-7"))
PREFIX = error_body("validation", ("phonenumber", "outside the allowed prefixes", None))
VOICE = error_body("validation", ("capabilities", "voice is not allowed", None))


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, RECORD, Kind.DONE),
        (200, {"no": "sid"}, Kind.UNKNOWN),
        (422, DUPLICATE, Kind.DONE),
        (409, DUPLICATE, Kind.DONE),
        (422, DUPLICATE_OURS, Kind.DONE),
        (422, PREFIX, Kind.REFUSED),
        (422, VOICE, Kind.REFUSED),
        (400, error_body("malformed json"), Kind.REFUSED),
        (415, error_body("unsupported media type"), Kind.REFUSED),
        (401, error_body("unauthorized"), Kind.STOP),
        (403, error_body("forbidden"), Kind.STOP),
        (409, error_body("conflict, try later"), Kind.RETRY),
        (429, error_body("slow down"), Kind.RETRY),
        (408, None, Kind.RETRY),
        (500, None, Kind.UNKNOWN),
        (502, None, Kind.UNKNOWN),
        (503, error_body("unavailable"), Kind.UNKNOWN),
        (504, None, Kind.UNKNOWN),
    ],
)
def test_registration_reading_follows_the_failure_table(
    status: int, body: dict[str, Any] | None, kind: Kind
) -> None:
    """Each registration answer reads as the kind carrierx-api.md's table gives it."""
    reply = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    reading = read_registration(reply, POST)
    assert reading.kind is kind
    assert reading.status == status


@pytest.mark.parametrize("status", [429, 503])
def test_reading_keeps_retry_after_as_floor(status: int) -> None:
    """A 429's (or 5xx's) Retry-After becomes the reading's wait floor."""
    reading = read_registration(httpx.Response(status, headers={"Retry-After": "4"}), POST)
    assert reading.wait_floor == 4.0


def test_duplicate_reading_keeps_reference_sid() -> None:
    """A duplicate answer carries the phonenumber error, with its reference_sid."""
    reading = read_registration(httpx.Response(422, json=DUPLICATE_OURS), POST)
    assert reading.problem is not None
    error = reading.problem.about("phonenumber")
    assert error is not None
    assert error.reference_sid == "sid-7"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_reading_stops_the_run_naming_the_target(status: int) -> None:
    """A 3xx is never followed: it reads STOP with an ApiError naming the Location."""
    reply = httpx.Response(status, headers={"Location": "https://elsewhere.example/v2"})
    reading = read_registration(reply, POST)
    assert reading.kind is Kind.STOP
    assert isinstance(reading.error, ApiError)
    assert "https://elsewhere.example/v2" in str(reading.error)
    assert "--base-url" in str(reading.error)


@pytest.mark.parametrize(
    ("error", "kind", "reached"),
    [
        (httpx.ConnectError("refused"), Kind.RETRY, False),
        (httpx.ConnectTimeout("slow"), Kind.RETRY, False),
        (httpx.PoolTimeout("pool"), Kind.RETRY, False),
        (httpx.ReadTimeout("read"), Kind.UNKNOWN, True),
        (httpx.WriteTimeout("write"), Kind.UNKNOWN, True),
        (httpx.ReadError("reset"), Kind.UNKNOWN, True),
        (httpx.RemoteProtocolError("closed"), Kind.UNKNOWN, True),
        (httpx.DecodingError("bad gzip"), Kind.UNKNOWN, True),
    ],
)
def test_transport_error_readings(error: httpx.RequestError, kind: Kind, reached: bool) -> None:
    """Errors before sending are safe to retry; after sending the outcome is unknown."""
    reading = read_transport_error(error)
    assert reading.kind is kind
    assert reading.reached is reached
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):  # said in words
        assert reading.detail == str(error)
    else:
        assert reading.detail.startswith(type(error).__name__)


# -- the aiohttp transport: which failures mean "nothing was sent" --------------------
def _request() -> httpx.Request:
    return httpx.Request("POST", f"{BASE_URL}/phonenumber/external_dids")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(111, "Connect call failed ('127.0.0.1', 9)"), "connection refused"),
        (OSError(113, "no route"), "no route to host"),
    ],
)
def test_a_failed_connection_says_why_in_words(error: OSError, words: str) -> None:
    """A connection that failed reads `connection refused`, not aiohttp's own text
    (`ClientConnectorError: Cannot connect to host … ssl:default […]`, even for http://)."""
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    translated = translate(aiohttp.ClientConnectorError(key, error), _request())
    assert str(translated) == words
    assert read_transport_error(translated).detail == words
    stopped = unreachable("http://127.0.0.1:9/core/v2/", words, what="preflight")
    assert str(stopped) == f"preflight: cannot reach http://127.0.0.1:9/core/v2 ({words})"


@pytest.mark.parametrize(
    ("error", "expected", "kind"),
    [
        (aiohttp.ConnectionTimeoutError("connect timed out"), httpx.ConnectTimeout, Kind.RETRY),
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
                OSError(111, "refused"),
            ),
            httpx.ConnectError,
            Kind.RETRY,
        ),
        (aiohttp.SocketTimeoutError("read timed out"), httpx.ReadTimeout, Kind.UNKNOWN),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, Kind.UNKNOWN),
        (aiohttp.ClientOSError(104, "reset"), httpx.RemoteProtocolError, Kind.UNKNOWN),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError, Kind.UNKNOWN),
    ],
    ids=["connect-timeout", "connect-refused", "read-timeout", "disconnect", "reset", "payload"],
)
def test_transport_counts_only_connect_failures_as_not_sent(
    error: Exception, expected: type[httpx.TransportError], kind: Kind
) -> None:
    """Only a failure to connect means the POST never left; anything later is unknown."""
    translated = translate(error, _request())
    assert type(translated) is expected
    assert read_transport_error(translated).kind is kind


def test_transport_rereads_a_coarse_httpx_aiohttp_translation() -> None:
    """httpx-aiohttp's ConnectTimeout for a server disconnect is re-read from its cause."""
    coarse = httpx.ConnectTimeout("Server disconnected")
    coarse.__cause__ = aiohttp.ServerDisconnectedError()
    assert type(translate(coarse, _request())) is httpx.RemoteProtocolError


def test_default_transport_dropped_connection_is_unknown(make_sandbox: Any) -> None:
    """Against a server that reads the POST and hangs up, the outcome is unknown, not unsent."""
    server = make_sandbox(drop_rate=1.0)
    settings = ApiSettings(base_url=server.base_url, token=SecretStr(server.token), timeout=5)

    async def post() -> httpx.RequestError:
        async with make_client(settings) as client:
            assert isinstance(client._transport, SafeAiohttpTransport)
            with pytest.raises(httpx.RequestError) as caught:
                await client.post("/phonenumber/external_dids", json={"phonenumber": "1"})
            return caught.value

    assert read_transport_error(run(post())).kind is Kind.UNKNOWN


def test_default_transport_refused_connection_is_not_sent() -> None:
    """Nothing listening: a connect error, so the POST is safe to send again."""
    settings = ApiSettings(base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"), timeout=2)

    async def post() -> httpx.RequestError:
        async with make_client(settings) as client:
            with pytest.raises(httpx.RequestError) as caught:
                await client.post("/phonenumber/external_dids", json={"phonenumber": "1"})
            return caught.value

    assert read_transport_error(run(post())).kind is Kind.RETRY
