"""Run the sandbox: a real uvicorn server on loopback, in a thread or in the foreground.

`SandboxServer` binds its socket itself (so port 0 gives a known free port at once),
serves from a background thread on its own event loop (uvloop + httptools, no access
log), and stops in a few milliseconds: it does not wait out uvicorn's graceful-shutdown
ticks, it wakes sleeping requests and closes the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from importer.errors import ConfigError
from importer.sandbox.app import API_PREFIX, create_app
from importer.sandbox.config import SandboxConfig
from importer.sandbox.context import SandboxContext
from importer.sandbox.state import SandboxState

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_START_TIMEOUT_S = 10.0


class SandboxServer:
    """The sandbox on a loopback port, served from a background thread.

    The socket is bound at construction (`base_url` is known at once); a port in use
    raises `ConfigError`. Always `stop()` (or use it as a context manager).
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = DEFAULT_HOST, port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self._socket = _bind(host, port)
        self.state = SandboxState(self.config)
        self.app = create_app(self.config, state=self.state)
        self.context: SandboxContext = self.app.state.sandbox
        self.host, self.port = self._socket.getsockname()[:2]
        self.base_url = f"http://{self.host}:{self.port}{API_PREFIX}"
        self.token = next(iter(self.config.partners[0].tokens))
        self._server = uvicorn.Server(_uvicorn_config(self.app, host, self.port))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def root_url(self) -> str:
        """`http://host:port` without the API prefix (the admin view lives there)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Serve in a background thread; return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        self._thread = threading.Thread(target=self._run, name="did-import-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the sandbox server did not start: {self._error!r}")

    def stop(self) -> None:
        """Stop serving, close every connection and the state file; idempotent."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(_START_TIMEOUT_S)
        self._thread = None
        self._socket.close()
        self.state.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._serve())
        except BaseException as error:  # reported by start(), never lost
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        config = self._server.config
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=[self._socket])
        self._ready.set()
        await self._stopping.wait()
        await _shutdown(self._server, self.context)


def serve(
    config: SandboxConfig,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str, str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted; `on_ready(base_url, token)` once listening."""
    server = SandboxServer(config, host=host, port=port)
    server.start()
    try:
        if on_ready is not None:
            on_ready(server.base_url, server.token)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(f"sandbox: cannot listen on {host}:{port} ({error.strerror})") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        loop="none",
        lifespan="off",
        access_log=False,
        log_level=logging.WARNING,
        proxy_headers=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
    )
    config.load()
    return config


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop on Linux
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _shutdown(server: uvicorn.Server, context: SandboxContext) -> None:
    """Stop accepting, wake sleeping requests, close connections; no graceful ticks."""
    context.faults.wake()
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    for _ in range(50):
        if not server.server_state.tasks:
            break
        await asyncio.sleep(0.002)
    for connection in list(server.server_state.connections):
        connection.transport.close()
    for task in list(server.server_state.tasks):
        task.cancel()
    await asyncio.sleep(0)
