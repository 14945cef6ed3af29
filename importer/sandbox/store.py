"""SQLite persistence for `--state FILE`: the records survive a restart of the sandbox.

Write-through, in write-ahead-log mode with `synchronous=NORMAL`. A create, update or
delete (with the name counter it moved) is queued to one writer thread, which commits
the queued writes in order, together when several are waiting (a group commit: one
transaction for the writes of concurrent requests, one for a lone request). The
request is answered only once its write is committed (`SandboxState.written`), so every
answered write survives the process being killed at any point; a crash of the machine
itself may lose the last commits (the WAL is synced at checkpoints, not at every
commit): a sandbox's trade, not a ledger's. The writer works off the event loop (SQLite
releases the GIL), and the position of the next record is read from an index, so a
write costs the same with 100 records or 100,000. Only the records, their messaging
state and the name counter are kept; the request log is in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA wal_autocheckpoint = 0",  # the checkpointer's work, off the writer's path
)
CHECKPOINT_EVERY_S = 0.25
"""The checkpointer copies committed pages into the file at most this often, after writes."""
RESTART_FRAMES = 4096
"""A WAL longer than this (16 MB of 4 kB pages) is started over: writers wait for that."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    sid TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL, messaging TEXT
);
CREATE INDEX IF NOT EXISTS records_by_position ON records (position);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SAVE = (
    "INSERT INTO records (sid, position, body, messaging) VALUES "
    "(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM records), ?, ?) "
    "ON CONFLICT(sid) DO UPDATE SET body = excluded.body, messaging = excluded.messaging"
)
_SET_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
_LOAD_CHUNK = 5000

Statement = tuple[str, Sequence[Any]]
Write = tuple[list[Statement], "Future[None]"]
"""The statements of one write, and the future completed once they are committed."""


class SqliteStore:
    """A tiny key-value table of External DID records, in creation order.

    Each write returns a `Future` that completes once the write is committed (or
    fails with its SQLite error; a failing write never takes the others of its group
    down). A file written by an earlier version (rollback journal, no position index)
    is brought to WAL mode and indexed when opened.
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        _create_private(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in _PRAGMAS:
            self._db.execute(pragma)
        self._db.executescript(_SCHEMA)
        self.commits = 0
        """Transactions committed since the file was opened (one a write, or fewer)."""
        self._queue: queue.SimpleQueue[Write | None] = queue.SimpleQueue()
        self._submitting = threading.Lock()  # not the database's: a commit never blocks it
        self._last: Future[None] | None = None
        self._writer = threading.Thread(
            target=self._write_queued, name="sandbox-store", daemon=True
        )
        self._written = threading.Event()
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_after_writes, args=(path,), name="sandbox-store-checkpoint"
        )
        self._checkpointer.daemon = True
        self._writer.start()
        self._checkpointer.start()

    def load(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Every stored record with its messaging state, oldest first (decoded
        `_LOAD_CHUNK` at a time, one JSON array each: a quarter faster than record by
        record at 100,000 records)."""
        with self._lock:
            cursor = self._db.execute("SELECT body, messaging FROM records ORDER BY position")
            loaded: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
            while rows := cursor.fetchmany(_LOAD_CHUNK):
                bodies = json.loads(f"[{','.join(body for body, _ in rows)}]")
                loaded += [
                    (body, json.loads(msg) if msg else None)
                    for body, (_, msg) in zip(bodies, rows, strict=True)
                ]
            return loaded

    def save(
        self,
        record: dict[str, Any],
        messaging: dict[str, Any] | None,
        meta: Mapping[str, str] | None = None,
    ) -> Future[None]:
        """Insert or replace one record (keeping its position when it exists), and set
        the `meta` values given, in one transaction."""
        sid = record["external_did_sid"]
        body, msg = json.dumps(record), json.dumps(messaging) if messaging else None
        metas: list[Statement] = [(_SET_META, item) for item in (meta or {}).items()]
        return self._submit([(_SAVE, (sid, body, msg)), *metas])

    def delete(self, sid: str) -> Future[None]:
        """Remove one record."""
        return self._submit([("DELETE FROM records WHERE sid = ?", (sid,))])

    def get_meta(self, key: str) -> str | None:
        """A stored counter or flag."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> Future[None]:
        """Store a counter or flag."""
        return self._submit([(_SET_META, (key, value))])

    def clear(self) -> Future[None]:
        """Forget everything."""
        return self._submit([("DELETE FROM records", ()), ("DELETE FROM meta", ())])

    async def written(self) -> None:
        """Return once every write submitted so far is committed; raise the last write's
        error if it failed (a sandbox that cannot write its file answers 500 until a
        write succeeds again, rather than answer a write it did not keep)."""
        last = self._last
        if last is not None and not (last.done() and last.exception() is None):
            await asyncio.wrap_future(last)

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the database; idempotent."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        self._closing.set()
        self._written.set()
        self._checkpointer.join()
        with self._lock:  # the last connection: SQLite checkpoints and removes the WAL
            self._db.close()

    def _submit(self, statements: list[Statement]) -> Future[None]:
        done: Future[None] = Future()
        with self._submitting:  # the queue's order is the order of `_last`
            self._last = done
            self._queue.put((statements, done))
        return done

    def _write_queued(self) -> None:
        """The writer thread: commit whatever is queued, oldest first, until closed."""
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            writes = [write for write in batch if write is not None]
            if writes:
                self._commit(writes)
            if len(writes) < len(batch):
                return

    def _commit(self, writes: list[Write]) -> None:
        """The writes in one transaction; if it fails, each again in its own."""
        try:
            with self._transaction() as db:
                for statements, _ in writes:
                    for sql, parameters in statements:
                        db.execute(sql, parameters)
        except Exception as error:  # handed to the write's waiter
            if len(writes) == 1:
                writes[0][1].set_exception(error)
                return
            for write in writes:
                self._commit([write])
            return
        self._written.set()
        for _, done in writes:
            done.set_result(None)

    def _checkpoint_after_writes(self, path: Path) -> None:
        """The checkpointer thread: after writes, copy the WAL's pages into the file (and
        sync it) on its own connection, so no request waits for a disk sync."""
        with contextlib.closing(sqlite3.connect(path)) as db:
            while not self._closing.is_set():
                self._written.wait()
                self._written.clear()
                with contextlib.suppress(sqlite3.Error):  # tried again after the next write
                    _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames > RESTART_FRAMES:
                        db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                self._closing.wait(CHECKPOINT_EVERY_S)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: committed when the block ends, else rolled back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self.commits += 1


def _create_private(path: Path) -> None:
    """Create `path` readable by its owner only (0600, as reports are), if it is new; SQLite
    gives its -wal and -shm files the same mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
