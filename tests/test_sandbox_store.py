"""The sandbox's SQLite state file: WAL mode, the position index, one commit a write,
records that survive a kill, and files written by earlier versions."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from importer.sandbox import SandboxConfig, SandboxServer
from importer.sandbox.store import SqliteStore

COLLECTION = "/phonenumber/external_dids"
ROOT = Path(__file__).resolve().parent.parent
OLD_SCHEMA = """
CREATE TABLE records (
    sid TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL, messaging TEXT
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def record(n: int, name: str = "") -> dict[str, object]:
    """A minimal stored record (the store keeps whatever the sandbox gives it)."""
    return {"external_did_sid": f"sid-{n}", "phonenumber": f"1205905{n:04d}", "name": name}


def file_pragma(path: Path, pragma: str) -> str:
    """A pragma's value as another connection to the file sees it."""
    with sqlite3.connect(path) as db:
        return str(db.execute(f"PRAGMA {pragma}").fetchone()[0])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh store in a temporary file."""
    opened = SqliteStore(tmp_path / "state.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def state_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox serving from a state file, partner-a's token."""
    with SandboxServer(SandboxConfig(state_file=tmp_path / "state.sqlite")) as server:
        yield server


def test_the_state_file_is_in_wal_mode(store: SqliteStore, tmp_path: Path) -> None:
    """The file is in write-ahead-log mode (the mode is the file's, seen by any reader)."""
    assert file_pragma(tmp_path / "state.sqlite", "journal_mode") == "wal"


def test_a_new_state_file_is_its_owners_only(store: SqliteStore, tmp_path: Path) -> None:
    """A state file the store creates is 0600, whatever the umask (its WAL files follow)."""
    store.save(record(1), None).result()
    for path in tmp_path.glob("state.sqlite*"):
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_the_next_position_is_read_from_an_index(tmp_path: Path, store: SqliteStore) -> None:
    """The highest position is looked up through the position index, not by a scan."""
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT MAX(position) FROM records").fetchall()
    assert "records_by_position" in " ".join(str(step[-1]) for step in plan)


def test_records_load_in_creation_order_and_keep_their_place(store: SqliteStore) -> None:
    """Records load oldest first; saving a stored record again keeps its position."""
    for n in (3, 1, 2):
        store.save(record(n), None)
    store.save(record(3, "renamed"), {"status": "enabled"}).result()
    loaded = store.load()
    assert [r["external_did_sid"] for r, _ in loaded] == ["sid-3", "sid-1", "sid-2"]
    assert loaded[0] == (record(3, "renamed"), {"status": "enabled"})


@pytest.mark.parametrize("count", [0, 1, 5000, 5001, 12_345])
def test_load_returns_every_record_across_chunks(store: SqliteStore, count: int) -> None:
    """Records are decoded in chunks, yet every one comes back, in order, with its own
    messaging state (every third has one)."""
    for n in range(count):
        store.save(record(n), {"n": n} if n % 3 == 0 else None)
    store.save(record(count), None).result()
    loaded = store.load()[:count]
    assert [r["external_did_sid"] for r, _ in loaded] == [f"sid-{n}" for n in range(count)]
    assert [m for _, m in loaded] == [{"n": n} if n % 3 == 0 else None for n in range(count)]


def test_a_save_and_its_meta_are_one_commit(store: SqliteStore) -> None:
    """A record and the counters given with it are written in one transaction."""
    store.save(record(1), None, {"next_name": "102506"}).result()
    assert store.commits == 1
    assert store.get_meta("next_name") == "102506"


def test_a_failed_save_leaves_nothing_behind(store: SqliteStore) -> None:
    """When a statement of the transaction fails, the record is not stored either."""
    with pytest.raises(sqlite3.Error):
        store.save(record(1), None, {"next_name": None}).result()  # type: ignore[dict-item]
    assert (store.load(), store.commits) == ([], 0)


def test_the_checkpointer_moves_commits_into_the_file(tmp_path: Path) -> None:
    """Committed pages reach the database file itself while the store is open (the
    checkpointer thread does it; the writing connection never does)."""
    path = tmp_path / "state.sqlite"
    store = SqliteStore(path)
    empty = path.stat().st_size
    for n in range(300):
        store.save(record(n), None)
    store.save(record(300), None).result()
    deadline = time.monotonic() + 10
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.05)
    grown = path.stat().st_size
    store.close()
    assert grown > empty


def test_close_commits_every_queued_write(tmp_path: Path) -> None:
    """Writes not yet waited for are committed by close(): a reopened file holds them."""
    store = SqliteStore(tmp_path / "state.sqlite")
    for n in range(200):
        store.save(record(n), None)
    store.close()
    reopened = SqliteStore(tmp_path / "state.sqlite")
    assert len(reopened.load()) == 200
    reopened.close()


def test_a_failing_write_fails_alone(store: SqliteStore) -> None:
    """Writes queued together share a commit, but one that fails does not take the
    others down: it alone raises, and the others are stored."""
    writes = [store.save(record(n), None) for n in range(50)]
    bad = store.save(record(50), None, {"next_name": None})  # type: ignore[dict-item]
    writes += [store.save(record(n), None) for n in range(51, 100)]
    for write in writes:
        write.result()
    with pytest.raises(sqlite3.IntegrityError):
        bad.result()
    assert len(store.load()) == 99
    assert store.commits <= 99


def _register(api: httpx.Client, number: str) -> str:
    answer = api.post(COLLECTION, json={"phonenumber": number, "capabilities": 3})
    assert answer.status_code == 200
    return str(answer.json()["external_did_sid"])


WRITES: dict[str, Callable[[httpx.Client, str], httpx.Response]] = {
    "register": lambda api, sid: api.post(
        COLLECTION, json={"phonenumber": "12059051026", "capabilities": 3}
    ),
    "register named": lambda api, sid: api.post(
        COLLECTION, json={"phonenumber": "12059051026", "capabilities": 3, "name": "n"}
    ),
    "patch": lambda api, sid: api.patch(f"{COLLECTION}/{sid}", json={"name": "renamed"}),
    "delete": lambda api, sid: api.delete(f"{COLLECTION}/{sid}"),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_each_write_request_is_one_commit(state_server: SandboxServer, write: str) -> None:
    """A registration (with the name counter it moves), an update and a deletion each
    commit once; reads commit nothing."""
    headers = {"Authorization": f"Bearer {state_server.token}"}
    store = state_server.state.store
    assert store is not None
    with httpx.Client(base_url=state_server.base_url, headers=headers) as api:
        sid = _register(api, "12059051025")
        before = store.commits
        assert WRITES[write](api, sid).status_code in (200, 204)
        assert store.commits == before + 1
        api.get(f"{COLLECTION}/{sid}")
        api.get(COLLECTION)
        assert store.commits == before + 1


def test_concurrent_registrations_share_commits(state_server: SandboxServer) -> None:
    """Registrations in flight together take at most one commit each (often fewer: the
    writer commits every write queued meanwhile at once), and every one is stored."""
    store = state_server.state.store
    assert store is not None
    headers = {"Authorization": f"Bearer {state_server.token}"}

    async def register_all() -> list[int]:
        async with httpx.AsyncClient(base_url=state_server.base_url, headers=headers) as api:
            answers = await asyncio.gather(
                *(
                    api.post(COLLECTION, json={"phonenumber": f"1205905{n:04d}", "capabilities": 3})
                    for n in range(64)
                )
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(register_all()) == [200] * 64
    assert 1 <= store.commits <= 64
    assert len(store.load()) == 64


def test_a_file_from_an_earlier_version_is_upgraded(tmp_path: Path) -> None:
    """A state file with a rollback journal and no position index (as earlier versions
    wrote it) opens with its records, in WAL mode, indexed."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        rows = [(f"sid-{n}", n, json.dumps(record(n))) for n in (1, 2)]
        db.executemany("INSERT INTO records (sid, position, body) VALUES (?, ?, ?)", rows)
    store = SqliteStore(path)
    store.save(record(3), None).result()
    assert [r["external_did_sid"] for r, _ in store.load()] == ["sid-1", "sid-2", "sid-3"]
    store.close()
    assert file_pragma(path, "journal_mode") == "wal"
    with sqlite3.connect(path) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "records_by_position" in names


_KILLED_SERVER = """
import sys
import time
from pathlib import Path
from importer.sandbox import SandboxConfig, serve
def ready(url, token):
    print(url, token, flush=True)
serve(SandboxConfig(state_file=Path(sys.argv[1])), port=0, on_ready=ready)
"""


def test_answered_writes_survive_a_kill(tmp_path: Path) -> None:
    """Every registration the sandbox answered is in the state file after the sandbox
    process is killed (SIGKILL, no cleanup), and a new sandbox on that file neither
    loses them nor hands their sids out again."""
    state = tmp_path / "state.sqlite"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", _KILLED_SERVER, str(state)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        base_url, token = process.stdout.readline().split()
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as api:
            sids = [_register(api, f"1205905{1000 + n}") for n in range(20)]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    with SandboxServer(SandboxConfig(state_file=state)) as server:
        assert [r["external_did_sid"] for r in server.state.records] == sids
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.base_url, headers=headers) as api:
            assert _register(api, "12059052000") not in sids
            again = api.post(COLLECTION, json={"phonenumber": "12059051000", "capabilities": 3})
            assert again.status_code == 422
        assert server.state.records[-1]["name"] == "External DID 102525"
