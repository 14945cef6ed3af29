"""SQLite persistence for `--state FILE`: the records survive a restart of the sandbox.

Write-through: every create, update and delete is committed at once. Only the records,
their messaging state and the name counter are kept; the request log is in memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    sid TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL, messaging TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """A tiny key-value table of External DID records, in creation order."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def load(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Every stored record with its messaging state, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT body, messaging FROM records ORDER BY position")
            return [(json.loads(body), json.loads(msg) if msg else None) for body, msg in rows]

    def save(self, record: dict[str, Any], messaging: dict[str, Any] | None) -> None:
        """Insert or replace one record (keeping its position when it exists)."""
        sid = record["external_did_sid"]
        body, msg = json.dumps(record), json.dumps(messaging) if messaging else None
        with self._lock:
            self._db.execute(
                "INSERT INTO records (sid, position, body, messaging) VALUES "
                "(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM records), ?, ?) "
                "ON CONFLICT(sid) DO UPDATE SET "
                "body = excluded.body, messaging = excluded.messaging",
                (sid, body, msg),
            )

    def delete(self, sid: str) -> None:
        """Remove one record."""
        with self._lock:
            self._db.execute("DELETE FROM records WHERE sid = ?", (sid,))

    def get_meta(self, key: str) -> str | None:
        """A stored counter or flag."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a counter or flag."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
