"""Stopping a run cleanly: SIGINT/SIGTERM become requests the uploader honours.

The first signal *requests* a stop: the uploader dispatches no new row, lets the
requests in flight finish (at most `STOP_GRACE_SECONDS`), and the run writes its
journal and report and exits 4. A second signal *aborts*: requests in flight are
cancelled at once. Either way the journal allows the run to be resumed: a row whose
request was cut short is still marked `sending` and is looked up before any new POST.

`StopSwitch` is plain state (a scheduler or a test can flip it); `catch_signals` wires
it to the running event loop's signal handlers and restores them afterwards.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["STOP_GRACE_SECONDS", "StopSwitch", "catch_signals"]

STOP_GRACE_SECONDS = 10.0
"""How long a stopped run waits for requests in flight before cancelling them."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSwitch:
    """A stop request (first call) and an abort (second call), with events to await."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.aborted = False
        self._listeners: list[Callable[[], None]] = []

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self.reason is not None

    def request(self, reason: str) -> None:
        """Ask the run to stop; asking again aborts it."""
        if self.reason is None:
            self.reason = reason
        else:
            self.aborted = True
        for listener in list(self._listeners):
            listener()

    async def wait(self, *, abort: bool = False) -> None:
        """Return once a stop (or, with `abort`, an abort) has been requested."""
        changed = asyncio.Event()
        self._listeners.append(changed.set)
        try:
            while not (self.aborted if abort else self.requested):
                await changed.wait()
                changed.clear()
        finally:
            self._listeners.remove(changed.set)


@contextmanager
def catch_signals(switch: StopSwitch) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM flip `switch` (needs a running loop in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    try:
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, switch.request, signal.Signals(sig).name)
    except NotImplementedError:  # pragma: no cover - Windows: Ctrl-C stays KeyboardInterrupt
        yield
        return
    try:
        yield
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
