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
                                                                       ConnectTimeout (not sent)
    read timeout (SocketTimeoutError, TimeoutError)                  → httpx.ReadTimeout
    anything else after connecting (disconnect, reset, bad payload)  → httpx.RemoteProtocolError

so only a failure to connect counts as "nothing was sent".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["SafeAiohttpTransport", "translate"]


def translate(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp (or already translated) failure; see the module doc."""
    cause = error.__cause__ if isinstance(error, httpx.TransportError) else error
    cause = cause or error
    message = f"{type(cause).__name__}: {cause}"
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, (aiohttp.SocketTimeoutError, TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    return httpx.RemoteProtocolError(message, request=request)


class _SafeStream(httpx.AsyncByteStream):
    """The response body, with read errors translated like the request's."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError, OSError) as error:
            raise translate(error, self._request) from error

    async def aclose(self) -> None:
        await self._stream.aclose()


class SafeAiohttpTransport(AiohttpTransport):
    """`httpx_aiohttp.AiohttpTransport` with the error mapping above."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError, OSError) as error:
            raise translate(error, request) from error
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_SafeStream(response.stream, request),
            request=request,
            extensions=response.extensions,
        )
