"""What the sandbox remembers: External DID records, messaging state and a request log.

The server mutates the state on its own thread; tests read it from theirs, so every
access goes through one lock and readers get copies. `--state FILE` mirrors the
records into SQLite (see `store`), each write committed before it is answered, so they
survive a restart or a kill.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections import deque
from typing import Any, TypedDict

from importer.sandbox.config import SandboxConfig
from importer.sandbox.store import SqliteStore

FIRST_NAME_NUMBER = 102505


class RequestEntry(TypedDict):
    """One request as the sandbox received it, and what it did with it."""

    seq: int
    time: float
    method: str
    path: str
    query: str
    partner: str | None
    body: str | None
    status: int | None
    fault: str | None
    external_did_sid: str | None
    """The record the request is about: from the path (PATCH, DELETE, GET by sid), or the
    record a POST created."""
    phonenumber: str | None
    """The number the request is about, once the handler knows it (E.164 digits)."""
    applied: bool
    """The request changed a record (created, updated or deleted it), whether or not its
    answer reached the client (a lost answer is applied)."""


class SandboxState:
    """Records of every partner, their messaging state, and the log of requests."""

    def __init__(self, config: SandboxConfig) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Any]] = {}
        self._by_number: dict[str, str] = {}
        self._messaging: dict[str, dict[str, Any]] = {}
        self._pending: set[str] = set()
        self._requests: deque[RequestEntry] = deque(maxlen=config.request_log_limit or None)
        self._seq = 0
        self._sids = random.Random(f"sids-{config.seed}")
        self._next_name = FIRST_NAME_NUMBER
        self._stored_name = FIRST_NAME_NUMBER
        self._version = 0
        self._owned: tuple[tuple[str, int], list[dict[str, Any]]] | None = None
        self._store = SqliteStore(config.state_file) if config.state_file else None
        if self._store is not None:
            self._load(self._store)

    # -- reading (copies, safe from any thread) ---------------------------------------

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every External DID record of every partner, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(list(self._records.values()))

    @property
    def store(self) -> SqliteStore | None:
        """The SQLite file the records are mirrored into (`state_file`), if any."""
        return self._store

    @property
    def requests(self) -> list[RequestEntry]:
        """Every request received (up to `request_log_limit`), oldest first (copies)."""
        with self._lock:
            return [entry.copy() for entry in self._requests]

    def applied_writes(self) -> dict[str, list[RequestEntry]]:
        """Every request that changed a record, by number, oldest first (copies): a
        number with two entries was written twice (the "no second write" check)."""
        writes: dict[str, list[RequestEntry]] = {}
        with self._lock:
            for entry in self._requests:
                if entry["applied"]:
                    writes.setdefault(entry["phonenumber"] or "", []).append(entry.copy())
        return writes

    def snapshot(self) -> dict[str, Any]:
        """Records and messaging state as one JSON-ready document."""
        with self._lock:
            return {
                "records": copy.deepcopy(list(self._records.values())),
                "messaging": copy.deepcopy(self._messaging),
            }

    # -- used by the request handlers (server thread) --------------------------------

    def live_records(self) -> list[dict[str, Any]]:
        """The records themselves, for filtering; callers must not mutate them."""
        with self._lock:
            return list(self._records.values())

    def partner_records(self, partner_sid: str) -> list[dict[str, Any]]:
        """A partner's records, oldest first: the list is kept until the next write, so
        the pages of one listing do not each walk every record (a 100,000-record
        account, 100 pages). Callers must not mutate the list or its records."""
        with self._lock:
            key = (partner_sid, self._version)
            if self._owned is None or self._owned[0] != key:
                owned = [r for r in self._records.values() if r["partner_sid"] == partner_sid]
                self._owned = (key, owned)
            return self._owned[1]

    def get(self, sid: str) -> dict[str, Any] | None:
        """The record with this sid, or None."""
        return self._records.get(sid)

    def find_number(self, phonenumber: str) -> dict[str, Any] | None:
        """The record holding this number (any partner), or None."""
        sid = self._by_number.get(phonenumber)
        return None if sid is None else self._records.get(sid)

    def new_sid(self) -> str:
        """A fresh UUID4 drawn from the seeded generator, never one a record holds (a
        state file reloaded with the same seed would otherwise draw its sids again)."""
        with self._lock:
            while True:
                sid = str(uuid.UUID(int=self._sids.getrandbits(128), version=4))
                if sid not in self._records:
                    return sid

    def next_name(self) -> str:
        """The generated name of the next External DID, e.g. 'External DID 102505' (the
        moved counter is stored with the record that takes the name: one commit)."""
        with self._lock:
            number, self._next_name = self._next_name, self._next_name + 1
        return f"External DID {number}"

    def put(self, record: dict[str, Any], messaging: dict[str, Any] | None = None) -> None:
        """Insert or replace a record (and its messaging state, when given)."""
        sid = record["external_did_sid"]
        with self._lock:
            self._version += 1
            self._records[sid] = record
            self._by_number[record["phonenumber"]] = sid
            if messaging is not None:
                self._messaging[sid] = messaging
                if messaging.get("status") == "in_progress":
                    self._pending.add(sid)
                else:
                    self._pending.discard(sid)
            if self._store is not None:
                moved = self._next_name != self._stored_name
                meta = {"next_name": str(self._next_name)} if moved else None
                self._store.save(record, self._messaging.get(sid), meta)
                self._stored_name = self._next_name

    def delete(self, sid: str) -> None:
        """Remove a record and its messaging state."""
        with self._lock:
            self._version += 1
            record = self._records.pop(sid)
            self._by_number.pop(record["phonenumber"], None)
            self._messaging.pop(sid, None)
            self._pending.discard(sid)
            if self._store is not None:
                self._store.delete(sid)

    async def written(self) -> None:
        """Return once every write so far is committed to the state file (at once
        without one): a write is answered only when it would survive a kill."""
        if self._store is not None:
            await self._store.written()

    def messaging(self, sid: str) -> dict[str, Any] | None:
        """The messaging enablement state of a record."""
        return self._messaging.get(sid)

    def pending_messaging(self) -> list[str]:
        """Sids whose messaging change is still `in_progress`."""
        with self._lock:
            return list(self._pending)

    def log(self, entry: RequestEntry) -> RequestEntry:
        """Append a request to the log (it is updated in place when answered)."""
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._requests.append(entry)
        return entry

    # -- housekeeping ----------------------------------------------------------------

    def reset(self) -> None:
        """Forget every record, messaging state and logged request."""
        with self._lock:
            self._version += 1
            self._records.clear()
            self._by_number.clear()
            self._messaging.clear()
            self._pending.clear()
            self._requests.clear()
            self._next_name = self._stored_name = FIRST_NAME_NUMBER
            if self._store is not None:
                self._store.clear()

    def close(self) -> None:
        """Close the SQLite file, if any."""
        if self._store is not None:
            self._store.close()

    def _load(self, store: SqliteStore) -> None:
        for record, messaging in store.load():
            sid = record["external_did_sid"]
            self._records[sid] = record
            self._by_number[record["phonenumber"]] = sid
            if messaging is not None:
                self._messaging[sid] = messaging
                if messaging.get("status") == "in_progress":
                    self._pending.add(sid)
        stored_name = store.get_meta("next_name")
        if stored_name is not None:
            self._next_name = self._stored_name = int(stored_name)
        self._sids = random.Random(f"{self._sids.random()}-{self._next_name}-{len(self._records)}")
