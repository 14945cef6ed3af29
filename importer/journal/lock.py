"""One process at a time: an exclusive `flock` on a side file, and who holds it.

The holder writes its pid and start time into the file (`4242 2025-06-01T09:30:00+00:00`),
so a process that finds the lock taken can say who has it. The kernel drops an flock
when its holder's process ends, however it ends, so a file left behind by a dead process
never blocks: the next process simply takes it and writes itself in. The file is never
removed: a process may have it open, and removing it would let two processes lock two
different files of the same name.

Used by the journal (`<journal>.lock`, one run per journal) and the inbox
(`DIR/.did-import/lock`, one pass per folder); each raises its own `LockHeld`.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from importer.errors import ConfigError, LockHeld

__all__ = ["FileLock", "Holder", "locked"]

_READ_TRIES = 25
_READ_PAUSE_S = 0.02
"""A holder writes itself in just after taking the lock: a reader waits up to 0.5 s for it."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock, as its file says: pid and ISO start time (None when unknown)."""

    pid: int | None
    started: str | None

    @classmethod
    def parse(cls, text: str) -> Holder:
        """`4242 2025-06-01T09:30:00+00:00`, `4242` (older files) or nothing."""
        words = text.split()
        pid = int(words[0]) if words and words[0].isdigit() else None
        return cls(pid, words[1] if len(words) > 1 else None)

    def describe(self) -> str:
        """`pid 4242, started 2025-06-01T09:30:00+00:00`, or as much of it as is known."""
        pid = f"pid {self.pid}" if self.pid is not None else "pid unknown"
        return f"{pid}, started {self.started}" if self.started else pid


Busy = Callable[[Holder], LockHeld]
"""Builds the exception a caller raises when another process holds its lock."""


class FileLock:
    """An exclusive `flock` on `path`, held from `acquire` until `release` or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._handle is not None

    def acquire(self, busy: Busy) -> None:
        """Take the lock and write our pid and start time in; raise `busy(holder)` at once
        when another process (or another `FileLock` of this process) holds it."""
        if self._handle is not None:
            return
        handle = self._open()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise busy(holder) from None
        except OSError as error:  # e.g. a file system without locks
            handle.close()
            raise ConfigError(f"{self.path}: cannot lock ({error.strerror})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the lock go (idempotent); the file stays, for the next holder."""
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None

    def _open(self) -> IO[str]:
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise ConfigError(
                f"{self.path}: cannot open the lock file ({error.strerror})"
            ) from None
        return os.fdopen(descriptor, "r+", encoding="utf-8")


def _holder(handle: IO[str]) -> Holder:
    """What the holder wrote, waiting briefly if it has only just taken the lock."""
    text = ""
    for _ in range(_READ_TRIES):
        handle.seek(0)
        text = handle.read()
        if text.strip():
            break
        time.sleep(_READ_PAUSE_S)
    return Holder.parse(text)


@contextmanager
def locked(path: Path, busy: Busy) -> Iterator[None]:
    """Hold the lock on `path` inside the block; raise `busy(holder)` if another has it."""
    lock = FileLock(path)
    lock.acquire(busy)
    try:
        yield
    finally:
        lock.release()
