"""The inbox: scheduled imports from a drop folder, safe under cron, systemd timers and overlap.

`process_inbox(DIR, settings)` handles every new file once and returns; `watch_inbox`
keeps doing that every `settings.inbox.interval` seconds until told to stop. Layout,
folders created as needed::

    DIR/  and  DIR/incoming/     drop files here (SFTP, shared drive, a script)
    DIR/processing/<job>/        a file while it runs, with its report
    DIR/done/<job>/              exit 0 or 1: the file, <name>.results.xlsx (+ CSV twins),
                                 <name>.summary.json (<name>: the whole file name)
    DIR/failed/<job>/            exit 2 (unusable: <name>.error.json) or 3 (API refused:
                                 the report of what was done)
    DIR/duplicates/<job>/        the same bytes as a file already in done/, not imported
                                 again: the file and <name>.duplicate.json
    DIR/.did-import/lock         flock'd for the whole run: an overlapping run exits 5
    DIR/.did-import/ledger.sqlite      sha256 → job, outcome, exit code, time
    DIR/.did-import/journal.sqlite     the run journal, unless the settings name one

`<job>` is `<UTC time>_<file name>`, e.g. `20261122T150102Z_numbers.xlsx`. A file is
left where it is for the next run while its name looks temporary (`.part`, `.tmp`,
`~$…`, dotfiles) or its size or mtime changes between two looks `settle` seconds
apart. A run that stops with exit 4, or a process that dies mid-file, leaves the job
in processing/; the next run picks it up first and the journal resumes it.

Here: the entry points and the default runner; `folder` is one inbox folder and one pass
over it (`Inbox`); `records` what a pass returns and remembers (outcomes, the ledger).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from importer.config import Settings
from importer.inbox.folder import Inbox, Runner, Sleep, is_temporary
from importer.inbox.records import FileOutcome, FileState, InboxRun, Ledger
from importer.logs import event, get_logger
from importer.run import Command, Hooks, Run
from importer.run.outcome import RunOutcome
from importer.signals import StopSwitch

__all__ = [
    "FileOutcome",
    "FileState",
    "InboxRun",
    "Ledger",
    "Runner",
    "is_temporary",
    "make_runner",
    "process_inbox",
    "stop_on_signals",
    "watch_inbox",
]

_log = get_logger("importer.inbox")


def process_inbox(
    root: Path,
    settings: Settings,
    *,
    runner: Runner | None = None,
    stop: threading.Event | None = None,
    sleep: Sleep = time.sleep,
) -> InboxRun:
    """Handle every new file in `root` once, holding the inbox's lock; notify when done.

    Raises `InboxBusy` (exit 5) at once when another run holds the lock. Once `stop` is
    set no further file is started (files already claimed wait in processing/). With
    the default runner, raises `ConfigError` without a token, before any file is claimed.
    """
    if runner is None:
        settings.api.require_token("inbox")
    inbox = Inbox(root, settings, runner or make_runner(), sleep, stop or threading.Event())
    with inbox.locked():
        return inbox.run_once(idle_level=logging.INFO)


def watch_inbox(
    root: Path,
    settings: Settings,
    *,
    stop: threading.Event,
    runner: Runner | None = None,
    sleep: Sleep = time.sleep,
    on_pass: Callable[[InboxRun], None] | None = None,
) -> None:
    """Pass over the inbox every `settings.inbox.interval` seconds until `stop` is set.

    The lock is held throughout, so a cron run overlapping the watcher exits 5. With
    the default runner, raises `ConfigError` without a token, before any file is claimed.
    """
    if runner is None:
        settings.api.require_token("inbox")
    inbox = Inbox(root, settings, runner or make_runner(), sleep, stop)
    with inbox.locked():
        interval = settings.inbox.interval
        event(_log, "watch_start", f"watching {root} every {interval:g}s", inbox=str(root))
        while not stop.is_set():
            outcome = inbox.run_once(idle_level=logging.DEBUG)
            if on_pass is not None:
                on_pass(outcome)
            stop.wait(interval)
        event(_log, "watch_end", f"stopped watching {root}", inbox=str(root))


def make_runner(*, switch: StopSwitch | None = None, tty: bool = False) -> Runner:
    """A `Run` of each file, stopped by `switch`; its row progress a bar with `tty`."""

    def run(path: Path, settings: Settings) -> RunOutcome:
        return Run(path, settings, Command.RUN, Hooks(stop=switch, tty=tty)).execute()

    return run


@contextmanager
def stop_on_signals() -> Iterator[tuple[threading.Event, StopSwitch]]:
    """SIGINT/SIGTERM stop the inbox: the file running ends with exit 4, no other starts.

    A second signal aborts the requests in flight (see `importer.signals`).
    """
    stop, switch = threading.Event(), StopSwitch()

    def handle(number: int, _frame: object) -> None:
        switch.request(signal.Signals(number).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, switch
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
