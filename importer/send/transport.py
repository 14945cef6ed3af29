"""The HTTP transport under the shared `httpx.AsyncClient`: aiohttp, chosen by measurement.

The code speaks httpx everywhere; only the transport underneath differs.
`bench/uploader_throughput.py` measured httpx 0.28's own pool far below the
concurrency/latency ceiling at 64 requests in flight, and aiohttp (through
`httpx-aiohttp`) close to it; the README quotes the figures.

`httpx-aiohttp` translates aiohttp's errors coarsely: a connection the server closed
after reading our request (`ServerDisconnectedError`, a `ClientConnectionError`)
comes out as `httpx.ConnectTimeout`, which would tell the uploader the POST never
left, and it could then send it again without a lookup. `SafeAiohttpTransport` maps
the aiohttp error itself, conservatively::

    could not connect (ClientConnectorError, ConnectionTimeoutError) → httpx.ConnectError /
                                                                       ConnectTimeout (not sent),
                                         saying why in words (`connection refused`)
    read timeout (SocketTimeoutError, TimeoutError)                  → httpx.ReadTimeout
    anything else after connecting (disconnect, reset, bad payload)  → httpx.RemoteProtocolError

so only a failure to connect counts as "nothing was sent".

httpx's timeouts, and aiohttp's `sock_read` that httpx-aiohttp turns them into, bound
each wait for the socket, not the request: a server that sends a byte every few
seconds can hold a request for minutes. `total_timeout` is the deadline of the whole
attempt (connect, send, the answer's head and its whole body), counted from the moment
the request reaches the transport. When it passes::

    before a connection was held (in the pool queue, connecting) → httpx.ConnectTimeout (not sent)
    after (sending, waiting for the answer, reading its body)     → httpx.ReadTimeout   (sent)

The transport knows which through its connector, which marks the attempt in progress
(a context variable) once it holds a connection for it.

Redirects are never followed: httpx-aiohttp asks aiohttp for `allow_redirects=False`
and `make_client` tells httpx `follow_redirects=False`, so a 3xx reaches the caller.

`send_directly` is the executor's short road to the same session: it takes a request
already made (absolute URL, merged headers, encoded body), sends it under the same
deadline and error mapping, and returns the answer read whole, skipping httpx's client
layers (URL merging, auth, redirect and hook machinery, the streamed body). It halves the
client's CPU per request (`bench/uploader_throughput.py`), which is what bounds a run at
a thousand requests a second on two cores.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from httpx_aiohttp import AiohttpTransport

__all__ = ["SafeAiohttpTransport", "translate"]


def translate(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp (or already translated) failure; see the module doc."""
    cause = error.__cause__ if isinstance(error, httpx.TransportError) else error
    cause = cause or error
    message = f"{type(cause).__name__}: {cause}"
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout("timed out connecting", request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(connect_failure(cause), request=request)
    if isinstance(cause, (aiohttp.SocketTimeoutError, TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    return httpx.RemoteProtocolError(message, request=request)


def connect_failure(error: aiohttp.ClientConnectorError) -> str:
    """Why a connection failed, in words: `connection refused`, `host x not found`.

    aiohttp's own text names its internals (`Cannot connect to host 127.0.0.1:9
    ssl:default [Connect call failed …]`, even for a plain http:// URL)."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"host {error.host} not found"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {error.host} is not trusted"
    if isinstance(error, aiohttp.ClientConnectorSSLError):
        return f"the TLS handshake with {error.host} failed"
    failure = error.os_error
    if failure.errno:
        return os.strerror(failure.errno).lower()
    return str(failure) or "connection failed"


@dataclass(slots=True)
class _Attempt:
    """One request in progress: has the connector handed it a connection yet?"""

    connected: bool = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("importer_transport_attempt", default=None)
AIOHTTP_DEFAULT_LIMIT = 100


class _NotingConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector; marks the attempt in progress once it holds a connection."""

    async def connect(
        self, req: aiohttp.ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        attempt = _ATTEMPT.get()
        if attempt is not None:
            attempt.connected = True
        return connection


@dataclass(frozen=True, slots=True)
class _Deadline:
    """When a request must be over (event-loop time; None: never) and its length in seconds."""

    when: float | None
    seconds: float


def _too_late(request: httpx.Request, seconds: float, *, sent: bool) -> httpx.TransportError:
    """The error for an attempt still unfinished at its deadline (see the module doc)."""
    if not sent:
        message = f"no connection within the {seconds:g} s deadline of the request"
        return httpx.ConnectTimeout(message, request=request)
    return httpx.ReadTimeout(f"no complete answer within {seconds:g} s", request=request)


class _SafeStream(httpx.AsyncByteStream):
    """The response body, read by the request's deadline, errors translated like the request's."""

    def __init__(
        self, stream: httpx.AsyncByteStream, request: httpx.Request, deadline: _Deadline
    ) -> None:
        self._stream = stream
        self._request = request
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._stream)
        # Bounded: by the body's length, and by the deadline when there is one.
        while (chunk := await self._next(chunks)) is not None:
            yield chunk

    async def _next(self, chunks: AsyncIterator[bytes]) -> bytes | None:
        timer = asyncio.timeout_at(self._deadline.when)
        try:
            async with timer:
                return await anext(chunks, None)
        except (httpx.TransportError, aiohttp.ClientError, OSError) as error:
            if timer.expired():
                raise _too_late(self._request, self._deadline.seconds, sent=True) from error
            raise translate(error, self._request) from error

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Guard:
    """One attempt's deadline and error mapping (see the module doc), around its head."""

    def __init__(
        self, transport: SafeAiohttpTransport, request: httpx.Request, deadline: _Deadline
    ) -> None:
        self._transport = transport
        self._request = request
        self._deadline = deadline
        self._attempt = _Attempt()
        self._timer = asyncio.timeout_at(deadline.when)

    async def __aenter__(self) -> None:
        self._token = _ATTEMPT.set(self._attempt)
        await self._timer.__aenter__()

    async def __aexit__(self, kind: Any, error: BaseException | None, trace: Any) -> None:
        try:
            await self._timer.__aexit__(kind, error, trace)
        except TimeoutError as late:
            error = late
        finally:
            _ATTEMPT.reset(self._token)
        if isinstance(error, (httpx.TransportError, aiohttp.ClientError, OSError)):
            if self._timer.expired():
                sent = self._attempt.connected or not self._transport._marks_attempts()
                raise _too_late(self._request, self._deadline.seconds, sent=sent) from error
            raise translate(error, self._request) from error


def _read_answer(
    answer: aiohttp.ClientResponse, content: bytes, request: httpx.Request
) -> httpx.Response:
    """The answer as an `httpx.Response` read to its end.

    A body sent as is (no `Content-Encoding`, nearly every answer) is handed over as read:
    `Response(content=…)` would run it through httpx's decoders again (~40 µs an answer).
    That sets what `Response.read` sets (httpx is pinned below 0.29;
    `tests/test_transport.py` compares both roads' answers). An encoded body is decoded by
    httpx, as on the long road."""
    if CONTENT_ENCODING in answer.headers:
        return httpx.Response(
            answer.status, headers=answer.raw_headers, content=content, request=request
        )
    response = httpx.Response(
        answer.status, headers=answer.raw_headers, stream=httpx.ByteStream(content), request=request
    )
    response._content = content  # httpx private: see above
    response.is_stream_consumed = response.is_closed = True
    return response


CONTENT_ENCODING = "Content-Encoding"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A request made whole for the direct route: its method, absolute URL and headers,
    and the `httpx.Request` its answer carries (read-only, shared by every request of
    the same method and path: making one costs ~30 µs, a thousand times a second)."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    request: httpx.Request

    @classmethod
    def of(cls, method: str, url: httpx.URL, headers: httpx.Headers) -> Outgoing:
        """The request `method url` with `headers`."""
        return cls(method, url, headers, httpx.Request(method, url, headers=headers))


class SafeAiohttpTransport(AiohttpTransport):
    """`httpx_aiohttp.AiohttpTransport` with the error mapping and the deadline above.

    `total_timeout` (seconds, None for none) bounds every request whatever its httpx
    timeouts say; `make_client` gives `ApiSettings.timeout`.
    """

    def __init__(self, *, total_timeout: float | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.total_timeout = total_timeout
        self._socket_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=total_timeout, sock_read=total_timeout
        )

    def get_client(self) -> aiohttp.ClientSession:
        """httpx-aiohttp's session, built the same way, on the connector that marks attempts.

        A session given to the constructor (`client=`), or a Unix socket, keeps its own
        connector: a deadline passing before the answer then counts as "sent".

        aiohttp resends an "idempotent" request (DELETE, PUT) by itself when a reused
        connection is cut before its answer; that is off: a DELETE whose answer was lost
        is reconciled by its operation (a silent resend answers 404 for a number our own
        first DELETE removed).
        """
        if self.client is not None or self.uds:
            return super().get_client()
        limit = self.limits.max_connections
        connector = _NotingConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            local_addr=(self.local_address, 0) if self.local_address else None,
            limit=AIOHTTP_DEFAULT_LIMIT if limit is None else limit,
        )
        session = aiohttp.ClientSession(connector=connector)
        session._retry_connection = False  # no public switch (aiohttp 3.14)
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._deadline()
        async with _Guard(self, request, deadline):
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_SafeStream(response.stream, request, deadline),
            request=request,
            extensions=response.extensions,
        )

    async def send_directly(self, outgoing: Outgoing, body: bytes | None) -> httpx.Response:
        """Send one request made whole by the caller and read its answer to the end (see
        the module doc): same session, deadline and errors as `handle_async_request`."""
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        async with (
            _Guard(self, outgoing.request, self._deadline()),
            self.client.request(
                outgoing.method,
                str(outgoing.url),  # as httpx-aiohttp gives it (yarl re-quotes alike)
                headers=outgoing.headers,
                data=body,
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes, as on the long road
                compress=False,
                timeout=self._socket_timeout,
            ) as answer,
        ):
            content = await answer.read()
        return _read_answer(answer, content, outgoing.request)

    def _marks_attempts(self) -> bool:
        """True when the session's connector is ours (a session passed in may not be)."""
        session = self.client
        return isinstance(session, aiohttp.ClientSession) and isinstance(
            session.connector, _NotingConnector
        )

    def _deadline(self) -> _Deadline:
        seconds = self.total_timeout
        if seconds is None:
            return _Deadline(None, 0.0)
        return _Deadline(asyncio.get_running_loop().time() + seconds, seconds)
