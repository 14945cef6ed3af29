"""The journal's tables, states and records, and how a SQLite failure is said.

`SCHEMA_VERSION` and `_upgrade` say how an older journal file is brought up to date the
first time it is opened (`prepare`); `translated` turns a SQLite failure into a one-line
`ConfigError` naming the journal, so a run stops rather than go on unjournaled.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from importer.errors import ConfigError

_S = TypeVar("_S")
_P = ParamSpec("_P")
_R = TypeVar("_R")

DEFAULT_OPERATION = "register"
"""The operation of a run that names none, and of every run journaled before schema 1."""

SCHEMA_VERSION = 2
"""The journal's `pragma user_version`: 0 had no `operation`, 1 has it in runs and rows,
2 adds the rows' `step` and `plan` (planned writes: `importer.journal.plans`)."""

_RUNS = f"""
create table runs (
    run_id integer primary key autoincrement,
    file text not null,
    sha256 text not null,
    base_url text not null,
    operation text not null default '{DEFAULT_OPERATION}',
    started_at text not null,
    finished_at text,
    status text not null,
    counts text,
    report_path text,
    exit_code integer,
    resumed_from integer,
    pid integer
)"""
_RUNS_INDEX = "create index runs_by_file on runs (sha256, base_url, operation, run_id)"
_ROWS = f"""
create table rows (
    sha256 text not null,
    base_url text not null,
    operation text not null default '{DEFAULT_OPERATION}',
    row_number integer not null,
    payload_hash text not null,
    phonenumber text,
    state text not null,
    sid text,
    attempts integer not null default 0,
    last_error text,
    outcome text,
    run_id integer,
    updated_at text,
    step text,
    plan text,
    primary key (sha256, base_url, operation, row_number)
) without rowid"""


class RowState(StrEnum):
    """Where a row is: never sent, a POST may be out, settled, or given up on."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


class RunStatus(StrEnum):
    """How a run ended; only `finished` runs are not resumed."""

    RUNNING = "running"  # still going, or the process died
    FINISHED = "finished"
    STOPPED = "stopped"  # interrupted, threshold, or the API refused / went away


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One line of `did-import history`."""

    run_id: int
    file: str
    sha256: str
    base_url: str
    operation: str
    started_at: str
    finished_at: str | None
    status: str
    counts: dict[str, int]
    report_path: str | None
    exit_code: int | None
    resumed_from: int | None


def translated(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Turn a SQLite failure (disk full, locked too long, corrupt file) into a one-line
    `ConfigError` naming the journal: the run stops rather than go on unjournaled."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            path = getattr(self, "path", "journal")
            raise ConfigError(f"{path}: cannot use the journal ({error})") from None

    return wrapper


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables, or bring an older journal's up to date, in one transaction."""
    if _version(db) == SCHEMA_VERSION:
        return
    with Transaction(db, begin="begin immediate"):
        version = _version(db)  # another process may have done it meanwhile
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{path}: written by a newer did-import (journal schema {version})")
        if version < SCHEMA_VERSION:
            for statement in _upgrade(db):
                db.execute(statement)
            db.execute(f"pragma user_version = {SCHEMA_VERSION}")


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("pragma user_version").fetchone()[0])


def _upgrade(db: sqlite3.Connection) -> list[str]:
    """The statements from the file's schema to this one: all of it for a new file."""
    if not db.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'runs'"
    ).fetchone():
        return [_RUNS, _RUNS_INDEX, _ROWS]
    if _version(db) == 1:  # 1 → 2: the rows' `step` and `plan`
        return ["alter table rows add column step text", "alter table rows add column plan text"]
    return [  # 0 → 2: `operation` in runs, and in the rows' primary key (a new table)
        f"alter table runs add column operation text not null default '{DEFAULT_OPERATION}'",
        "drop index if exists runs_by_file",
        _RUNS_INDEX,
        "alter table rows rename to rows_v0",
        _ROWS,
        "insert into rows (sha256, base_url, row_number, payload_hash, phonenumber, state, sid,"
        " attempts, last_error, outcome, run_id, updated_at) select sha256, base_url,"
        " row_number, payload_hash, phonenumber, state, sid, attempts, last_error, outcome,"
        " run_id, updated_at from rows_v0",
        "drop table rows_v0",
    ]


def run_record(row: tuple[Any, ...], description: Any) -> RunRecord:
    values = dict(zip((column[0] for column in description), row, strict=True))
    values.pop("pid", None)
    values["counts"] = json.loads(values["counts"]) if values["counts"] else {}
    return RunRecord(**values)


class Transaction:
    """`with` block = one `begin … commit` (rolled back on error), pending writes included."""

    def __init__(self, db: sqlite3.Connection, begin: str = "begin") -> None:
        self.db = db
        self.begin = begin

    def __enter__(self) -> None:
        if not self.db.in_transaction:  # else join the pending one (settled outcomes)
            self.db.execute(self.begin)

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.db.execute("rollback" if exc_type else "commit")
