"""SQLite persistence for `--state FILE`: the records survive a restart of the sandbox.

Write-through, one transaction a write: a create, update or delete (with the name
counter it moved) is one commit, in write-ahead-log mode with `synchronous=NORMAL`. A
commit is in the file as soon as it returns, so the records survive the process being
killed at any point; a crash of the machine itself may lose the last commits (the WAL is
synced at checkpoints, not at every commit): a sandbox's trade, not a ledger's. The
position of the next record is read from an index, so a write costs the same with 100
records or 100,000. Only the records, their messaging state and the name counter are
kept; the request log is in memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")
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


class SqliteStore:
    """A tiny key-value table of External DID records, in creation order.

    A file written by an earlier version (rollback journal, no position index) is
    brought to WAL mode and indexed when opened.
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in _PRAGMAS:
            self._db.execute(pragma)
        self._db.executescript(_SCHEMA)
        self.commits = 0
        """Transactions committed since the file was opened (one a write)."""

    def load(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Every stored record with its messaging state, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT body, messaging FROM records ORDER BY position")
            return [(json.loads(body), json.loads(msg) if msg else None) for body, msg in rows]

    def save(
        self,
        record: dict[str, Any],
        messaging: dict[str, Any] | None,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """Insert or replace one record (keeping its position when it exists), and set
        the `meta` values given, in one commit."""
        sid = record["external_did_sid"]
        body, msg = json.dumps(record), json.dumps(messaging) if messaging else None
        with self._transaction() as db:
            db.execute(_SAVE, (sid, body, msg))
            db.executemany(_SET_META, (meta or {}).items())

    def delete(self, sid: str) -> None:
        """Remove one record."""
        with self._transaction() as db:
            db.execute("DELETE FROM records WHERE sid = ?", (sid,))

    def get_meta(self, key: str) -> str | None:
        """A stored counter or flag."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a counter or flag."""
        with self._transaction() as db:
            db.execute(_SET_META, (key, value))

    def clear(self) -> None:
        """Forget everything."""
        with self._transaction() as db:
            db.execute("DELETE FROM records")
            db.execute("DELETE FROM meta")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

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
