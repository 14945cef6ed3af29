"""A scripted, hostile HTTP/1.1 server on loopback, for tests of the HTTP edge.

Each route, a `(method, path)` pair (the path without its query), answers as scripted:

    Reply(429, headers={"Retry-After": "3600"})    a fixed status, headers and body
    Redirect("/core/v2/elsewhere", status=307)     a redirect: `Location` and an empty body
    Drip(b'{"items": []}', every=0.5)              the head at once, then one body byte
                                                   every 0.5 s (`head=True`: the status
                                                   line and headers drip too)

A route may also hold a sequence of answers, used in turn (the last one repeats):
`[Reply(429, headers={"Retry-After": "1"}), Reply(200, body=b"{}")]`. A request no
route matches gets a 404 with a CarrierX-style error body. Every answer carries
`Connection: close` and the server hangs up after it; a request body is read by its
`Content-Length` (chunked bodies are not supported). The server keeps a record of
every request it read (`requests`, `wait_for`), before answering it.

Usage, through the `hostile` fixture of tests/conftest.py (stopped at teardown)::

    def test_a_307_is_not_followed(hostile: HostileFactory) -> None:
        server = hostile(routes={
            ("POST", f"{API}/phonenumber/external_dids"): Redirect(f"{API}/elsewhere"),
        })
        settings = ApiSettings(base_url=server.base_url, token=SecretStr("t" * 16))
        ...  # POST through make_client(settings)
        assert [seen.path for seen in server.requests] == [f"{API}/phonenumber/external_dids"]

`server.base_url` ends in `/core/v2`, like the API's. The server runs its own event
loop in a thread; `stop()` cancels answers still dripping and joins the thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

API = "/core/v2"
HOST = "127.0.0.1"
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """A fixed answer: status, headers, body (`Content-Length` is added)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Redirect:
    """A redirect to `location` (absolute, or relative to the request's URL)."""

    location: str
    status: int = 307


@dataclass(frozen=True)
class Drip:
    """A 200 (or `status`) whose body comes one byte every `every` seconds.

    With `head=True` the status line and headers drip too, so not even the answer's
    head is complete until the end.
    """

    body: bytes
    every: float = 0.5
    status: int = 200
    head: bool = False


Answer = Reply | Redirect | Drip
Script = Answer | Sequence[Answer]
Routes = Mapping[tuple[str, str], Script]
NOT_FOUND = Reply(
    404,
    b'{"message": "no item error", "errors": [{"field": null, "message": "not scripted"}]}',
    {"Content-Type": "application/json"},
)


@dataclass(frozen=True)
class Seen:
    """One request the server read: method, path, query, headers (lower-case names), body."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed as JSON."""
        return json.loads(self.body)


class HostileFactory(Protocol):
    """The `hostile` fixture: start a server with these routes (stopped at teardown)."""

    def __call__(self, routes: Routes | None = None) -> HostileServer: ...


class HostileServer:
    """The server itself; see the module doc. Use it through the `hostile` fixture."""

    def __init__(self, routes: Routes | None = None) -> None:
        self.routes: dict[tuple[str, str], Script] = dict(routes or {})
        self.port = 0
        self._served: dict[tuple[str, str], int] = {}
        self._seen: list[Seen] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/core/v2`: what `ApiSettings.base_url` takes."""
        return f"{self.origin}{API}"

    @property
    def requests(self) -> list[Seen]:
        """The requests read so far, oldest first."""
        with self._changed:
            return list(self._seen)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Seen]:
        """The requests, once at least `count` were read; `TimeoutError` after `timeout` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._seen) >= count, timeout):
                raise TimeoutError(f"hostile server: {len(self._seen)} of {count} requests")
            return list(self._seen)

    def start(self) -> HostileServer:
        """Listen on a free loopback port; return once ready (raise if it could not start)."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._error is not None:
            raise RuntimeError(f"hostile server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Cancel the answers in progress, close the listener, join the thread."""
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            raise RuntimeError("hostile server did not stop")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start()
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._converse(reader, writer)
            finally:
                connections.discard(task)

        listener = await asyncio.start_server(on_connect, HOST, 0, limit=MAX_HEAD_BYTES)
        self.port = listener.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        listener.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await listener.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request, record it, answer as scripted, hang up."""
        try:
            seen = await _read_request(reader)
            with self._changed:
                self._seen.append(seen)
                self._changed.notify_all()
            await _answer(writer, self._next_answer(seen))
        except (ConnectionError, ValueError, EOFError, asyncio.LimitOverrunError):
            pass  # the client went away (EOFError: IncompleteReadError), or sent nonsense
        finally:
            writer.close()

    def _next_answer(self, seen: Seen) -> Answer:
        key = (seen.method, seen.path)
        script = self.routes.get(key, NOT_FOUND)
        if not isinstance(script, Sequence):
            return script
        turn = self._served.get(key, 0)
        self._served[key] = turn + 1
        return script[min(turn, len(script) - 1)]


async def _read_request(reader: asyncio.StreamReader) -> Seen:
    """One HTTP/1.1 request: request line, headers, a `Content-Length` body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *lines = head.split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length", "0")), MAX_BODY_BYTES)
    body = await reader.readexactly(length)
    path, _mark, query = target.partition("?")
    return Seen(method=method, path=path, query=query, headers=headers, body=body)


async def _answer(writer: asyncio.StreamWriter, answer: Answer) -> None:
    """Write `answer`; a `Drip` one byte at a time (the drip's pauses are its behaviour)."""
    if isinstance(answer, Redirect):
        answer = Reply(answer.status, headers={"Location": answer.location})
    if isinstance(answer, Reply):
        writer.write(_head(answer.status, answer.headers, len(answer.body)) + answer.body)
        await writer.drain()
        return
    head = _head(answer.status, {"Content-Type": "application/json"}, len(answer.body))
    if not answer.head:
        writer.write(head)
        await writer.drain()
    for byte in (head if answer.head else b"") + answer.body:
        await asyncio.sleep(answer.every)
        writer.write(bytes([byte]))
        await writer.drain()


def _head(status: int, headers: Mapping[str, str], length: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    lines += [f"Content-Length: {length}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")
