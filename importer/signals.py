"""Stopping a run cleanly: SIGINT/SIGTERM become requests that every stage honours.

The first signal *requests* a stop. While the file is read, no further chunk is read
(`importer.validate.streaming`); while rows are sent, the uploader dispatches no new row and
lets the requests in flight finish (at most `STOP_GRACE_SECONDS`). The run then writes
its report (and journal) and exits 4. A second signal *aborts*: requests in flight are
cancelled at once. Either way the journal allows the run to be resumed: a row whose
request was cut short is still marked `sending` and is looked up before any new POST.

`StopSwitch` is plain state (a scheduler or a test can flip it). `stop_on_signals`
wires it to SIGINT/SIGTERM for a whole run, from its first line (Python-level
handlers, heeded between two steps); inside it, `SignalStop.abrupt` makes a signal
also raise `Interrupted`, for a step that cannot look at the switch (a remote check).
`catch_signals` wires it to the running event loop's handlers while rows are sent.
Each restores the handlers it found.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = [
    "STOP_GRACE_SECONDS",
    "Interrupted",
    "SignalStop",
    "StopSwitch",
    "catch_signals",
    "stop_on_signals",
]

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


class Interrupted(BaseException):  # as KeyboardInterrupt: no `except Exception` swallows it
    """A signal inside `SignalStop.abrupt`: the step is cut short (its switch is flipped too)."""


class SignalStop:
    """SIGINT/SIGTERM flip `switch`; inside `abrupt()` they also raise `Interrupted`."""

    def __init__(self, switch: StopSwitch) -> None:
        self.switch = switch
        self._abrupt = False

    def handle(self, number: int, _frame: FrameType | None) -> None:
        """The signal handler (runs in the main thread, between two bytecodes)."""
        name = signal.Signals(number).name
        self.switch.request(name)
        if self._abrupt:
            self._abrupt = False  # once: the step's own cleanup is not cut short again
            raise Interrupted(name)

    @contextmanager
    def abrupt(self) -> Iterator[None]:
        """Inside, a signal raises `Interrupted` where the main thread is (as Ctrl-C would)."""
        if self.switch.requested:
            raise Interrupted(self.switch.reason or "stop")
        self._abrupt = True
        try:
            yield
        finally:
            self._abrupt = False


@contextmanager
def stop_on_signals(switch: StopSwitch) -> Iterator[SignalStop]:
    """While inside, SIGINT/SIGTERM flip `switch` instead of ending the process.

    Only the main thread can set signal handlers: elsewhere this does nothing (the
    process keeps its handlers, and `switch` is for the caller to flip).
    """
    stop = SignalStop(switch)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, stop.handle) for sig in _SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def catch_signals(switch: StopSwitch) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM flip `switch` (needs a running loop in the main thread).

    On the way out the handlers found are set again: the loop's removal alone would
    leave the defaults (a SIGTERM would then end the process while the report is written).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {sig: signal.getsignal(sig) for sig in _SIGNALS}
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
            if previous[sig] is not None:
                signal.signal(sig, previous[sig])
