"""The run journal: what happened to every row, durable across crashes, kills and Ctrl-C.

One SQLite file (WAL mode; default `reports/journal.sqlite`) holds two tables::

    runs  run_id, file, sha256, base_url, operation, started/finished, status, counts,
          report, exit code
    rows  (sha256, base_url, operation, row_number) → payload hash, state, sid, attempts,
          last error, and the row's final outcome (status, sid, issues) once it has one

`operation` is what the run does to each row (`register` today; `lookup`, `update`,
`delete`, `replace` …): an opaque short string, so one operation's rows and runs are
never taken for another's. A journal written before it existed (schema 0) gains the
column, every old run and row being `register`, the first time it is opened.

One run at a time: a run holds `<journal>.lock` (`importer.journal.lock`) from `start_run`
until the journal closes; another run on the same journal raises `JournalBusy` (exit 5)
before it journals or sends anything. Reading the history takes no lock.

A row's state moves `pending → sending → done | failed`: `sending` is written (and
committed) *before* each POST leaves (a few rows at a time, just before they are
dispatched: a row marked but never sent costs a lookup on resume), the outcome after
the answer settles the row.
`done` means the row has its final answer (registered, already registered, rejected);
`failed` means it ran out of attempts or the run stopped mid-row. Commits use
`synchronous=NORMAL`: they survive the process being killed (the kill test proves it);
a power cut may lose the last ones, which costs a lookup, never a second registration,
because the API refuses a number twice and the uploader reconciles that answer.

Resume: `start_run` looks at the last run for the same file (sha256), API base URL and
operation. If it did not finish (crashed, killed, interrupted, stopped by a threshold or
the API), the new run resumes it: `done` rows are not sent again (their outcome comes
from here into the report), `sending` rows and `failed` rows that were sent are looked
up before any POST, the rest proceed. If it finished, or `fresh=True`, the run starts over. A
row whose payload changed since it was journaled (its hash differs) is treated as new.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from importer.errors import ConfigError, JournalBusy
from importer.journal import plans
from importer.journal.lock import FileLock, Holder
from importer.journal.plans import payload_hash
from importer.models import PLANNED_WRITES, Issue, RowResult, Severity, Status

__all__ = [
    "DEFAULT_OPERATION",
    "JOURNAL_NAME",
    "SCHEMA_VERSION",
    "Journal",
    "RowState",
    "RunJournal",
    "RunRecord",
    "RunStatus",
    "format_history",
    "held",
    "iter_history",
    "lock_of",
    "payload_hash",
]

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


_DONE_STATUSES = frozenset(
    {
        Status.REGISTERED,
        Status.ALREADY_REGISTERED,
        Status.REJECTED,
        Status.UPDATED,
        Status.REPLACED,
        Status.DELETED,
        Status.NOT_FOUND,
    }
)


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


def _translated(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


JOURNAL_NAME = "journal.sqlite"
"""The journal's file name in a folder (the report folder, an inbox's state folder) when
no path is configured."""


def lock_of(path: Path) -> FileLock:
    """The lock of the journal at `path`: `<journal>.lock` beside it (not yet taken)."""
    return FileLock(path.with_name(f"{path.name}.lock"))


def busy(path: Path, holder: Holder) -> JournalBusy:
    """The exit-5 error for a journal another run holds."""
    return JournalBusy(f"another run ({holder.describe()}) holds {path}")


@contextlib.contextmanager
def held(path: Path) -> Iterator[FileLock]:
    """Hold the journal's lock inside the block, before the journal itself is opened (a
    run takes it before it reads its file, so a second run stops at once, exit 5)."""
    lock = lock_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock.acquire(functools.partial(busy, path))
    try:
        yield lock
    finally:
        lock.release()


class Journal:
    """The journal file; `start_run` takes its lock and hands out a `RunJournal` bound to
    one run. Opening it alone (for `history`) takes no lock."""

    def __init__(self, path: Path, *, lock: FileLock | None = None) -> None:
        self.path = path
        self._lock = lock or lock_of(path)
        self._owns_lock = lock is None  # a lock handed in is its giver's to release
        self._runs: list[RunJournal] = []  # their held outcomes are written on `close`
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)  # rows carry partner data: owner only
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("pragma journal_mode=wal")
            self.db.execute("pragma synchronous=normal")
            self.db.execute("pragma busy_timeout=5000")
            _prepare(self.db, path)
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(f"{path}: cannot open the journal ({error})") from None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Commit what is pending, close the file and let the lock go (idempotent)."""
        try:
            with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
                for run in self._runs:
                    run.write_outcomes()
                if self.db.in_transaction:
                    self.db.execute("commit")
            self.db.close()
        finally:
            if self._owns_lock:
                self._lock.release()

    def lock(self) -> None:
        """Hold `<journal>.lock` until `close` (idempotent): one run per journal at a time.

        Raises `JournalBusy` (exit 5) at once when another run holds it; a lock left by a
        dead process is taken over. `start_run` calls it; a caller may call it earlier.
        """
        self._lock.acquire(self._busy)

    def _busy(self, holder: Holder) -> JournalBusy:
        return busy(self.path, holder)

    @_translated
    def start_run(
        self,
        file: Path,
        sha256: str,
        base_url: str,
        results: Sequence[RowResult],
        *,
        fresh: bool,
        operation: str = DEFAULT_OPERATION,
    ) -> RunJournal:
        """Take the lock, then open a run of `operation` for `results` (validated rows),
        resuming the last run of the same file, API and operation when it is unfinished."""
        run = self.begin_run(file, sha256, base_url, fresh=fresh, operation=operation)
        run.add(results)
        return run

    @_translated
    def begin_run(
        self, file: Path, sha256: str, base_url: str, *, fresh: bool, operation: str
    ) -> RunJournal:
        """`start_run` with no rows yet: they come chunk by chunk (`RunJournal.add`)."""
        self.lock()
        for earlier in self._runs:  # what they settled is seen by this run's look-back
            earlier.write_outcomes()
        last = None if fresh else self._last_run(sha256, base_url, operation)
        resumed_from = last.run_id if last and last.status != RunStatus.FINISHED else None
        cursor = self.db.execute(
            "insert into runs (file, sha256, base_url, operation, started_at, status,"
            " resumed_from, pid) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(file),
                sha256,
                base_url,
                operation,
                _now(),
                RunStatus.RUNNING,
                resumed_from,
                os.getpid(),
            ),
        )
        run = RunJournal(self.db, int(cursor.lastrowid or 0), (sha256, base_url, operation))
        self._runs.append(run)
        run.path = self.path
        run.resumed_from = resumed_from
        run.begin(resume=resumed_from is not None)
        return run

    @_translated
    def history(self, limit: int = 20) -> list[RunRecord]:
        """The last `limit` runs, newest first."""
        rows = self.db.execute("select * from runs order by run_id desc limit ?", (limit,))
        return [_run_record(row, rows.description) for row in rows.fetchall()]

    @_translated
    def report_moved(self, old: Path, new: Path) -> None:
        """The runs whose report was at `old` now find it at `new` (an inbox job filed
        under done/ after its run): `history` points at where the report is."""
        with _Transaction(self.db):
            self.db.execute(
                "update runs set report_path = ? where report_path = ?", (str(new), str(old))
            )

    def _last_run(self, sha256: str, base_url: str, operation: str) -> RunRecord | None:
        rows = self.db.execute(
            "select * from runs where sha256 = ? and base_url = ? and operation = ?"
            " order by run_id desc limit 1",
            (sha256, base_url, operation),
        )
        row = rows.fetchone()
        return _run_record(row, rows.description) if row else None


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables, or bring an older journal's up to date, in one transaction."""
    if _version(db) == SCHEMA_VERSION:
        return
    with _Transaction(db, begin="begin immediate"):
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


def _run_record(row: tuple[Any, ...], description: Any) -> RunRecord:
    values = dict(zip((column[0] for column in description), row, strict=True))
    values.pop("pid", None)
    values["counts"] = json.loads(values["counts"]) if values["counts"] else {}
    return RunRecord(**values)


class RunJournal:
    """One run's view of the journal: what to skip, what to reconcile, and the writes."""

    def __init__(self, db: sqlite3.Connection, run_id: int, key: tuple[str, str, str]) -> None:
        self.db = db
        self.path: Path | str = "journal"
        self.run_id = run_id
        self.key = key
        """(sha256, base_url, operation): the run's file, API and operation."""
        self.resumed_from: int | None = None
        self.finished_rows: dict[int, RowResult] = {}
        """Rows an earlier run settled (or whose write a new plan finds landed), as they
        ended: the report takes them as they are, nothing is sent for them."""
        self.reconcile: set[int] = set()
        """Rows an earlier run may have sent: looked up before any write (grows with `add`,
        in place: a run sending already holds it)."""
        self.steps: dict[int, str] = {}
        """The journaled step of each row to reconcile (a replace's `deleted`)."""
        self.reworked: dict[int, RowResult] = {}
        """Rows a new plan only registers whose replace an earlier run began: given back
        their journaled replace plan (see `importer.journal.plans`)."""
        self._known: dict[int, dict[str, Any]] = {}
        self._outcomes: list[tuple[Any, ...]] = []
        """Outcomes `settled` holds until the next commit (`_commit`), written then in one
        statement: the same transaction as writing each at once, a tenth of the calls."""

    def load(self, results: Sequence[RowResult], *, resume: bool) -> None:
        """Journal every planned write; on resume, keep what earlier runs learnt."""
        self.begin(resume=resume)
        self.add(results)

    def begin(self, *, resume: bool) -> None:
        """Get ready for the rows: on resume, what earlier runs learnt of them."""
        self._known = self._known_rows() if resume else {}
        self.finished_rows, self.reworked, self.steps = {}, {}, {}
        self.reconcile = set()

    @_translated
    def add(self, results: Sequence[RowResult]) -> None:
        """Journal the planned writes of `results` (a chunk, or the whole file) in one
        commit; what an earlier run learnt of them goes to `finished_rows`, `reconcile`,
        `steps` and `reworked`."""
        fresh, reconcile = [], set()
        for result in results:
            entry = self._known.get(result.row.number)
            same = entry is not None and entry["payload_hash"] == plans.digest_of(result)
            if entry is not None and same and entry["state"] != RowState.PENDING:
                if self._resumed(result, entry):
                    reconcile.add(result.row.number)
            elif result.status in PLANNED_WRITES:
                fresh.append(result)
        self.reconcile.update(reconcile)
        self.write_outcomes()  # rows found done above: committed with the new rows
        self._reset(fresh)

    def _resumed(self, result: RowResult, entry: dict[str, Any]) -> bool:
        """Take what the journal knows of a row an earlier run had; True: reconcile it."""
        number, step = result.row.number, entry["step"] or plans.action_of(result)
        if entry["state"] == RowState.DONE and entry["outcome"]:
            self.finished_rows[number] = _restore(result, entry["outcome"])
            return False
        if not (entry["state"] == RowState.SENDING or entry["attempts"]):
            return False
        if result.status is Status.WOULD_REGISTER and entry["plan"] and step != "register":
            self.reworked[number] = plans.replanned(result, entry["plan"])
        elif result.status is Status.WOULD_REPLACE and not entry["plan"]:
            self._keep_plan(result)
        elif result.status not in PLANNED_WRITES:
            done = plans.landed(result, step, entry["sid"])
            if done is not None:
                self.finished_rows[number] = done
                self.settled(done)
            return False
        if step is not None:
            self.steps[number] = step
        return True

    def _known_rows(self) -> dict[int, dict[str, Any]]:
        cursor = self.db.execute(
            "select row_number, payload_hash, state, attempts, outcome, step, sid, plan"
            " from rows where sha256 = ? and base_url = ? and operation = ?",
            self.key,
        )
        names = ("payload_hash", "state", "attempts", "outcome", "step", "sid", "plan")
        return {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor}

    def _reset(self, rows: list[RowResult]) -> None:
        now = _now()
        with self._transaction():
            self.db.executemany(
                "insert or replace into rows (sha256, base_url, operation, row_number,"
                " payload_hash, phonenumber, state, attempts, run_id, updated_at, step, sid,"
                " plan) values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                [
                    (
                        *self.key,
                        result.row.number,
                        plans.digest_of(result),
                        plans.digits_of(result),
                        RowState.PENDING,
                        self.run_id,
                        now,
                        plans.action_of(result),
                        result.planned.sid if result.planned is not None else None,
                        plans.plan_json(result),
                    )
                    for result in rows
                ],
            )

    def _keep_plan(self, result: RowResult) -> None:
        """A row sent as another action, now a replace: its plan journaled too."""
        self._begin()
        self.db.execute(
            "update rows set plan = ? where sha256 = ? and base_url = ? and operation = ?"
            " and row_number = ?",
            (plans.plan_json(result), *self.key, result.row.number),
        )

    @_translated
    def stepped(self, row_number: int, step: str) -> None:
        """A row of several writes finished `step` (a replace's `deleted`): committed at
        once, before its next write leaves."""
        self._begin()
        self.db.execute(
            "update rows set step = ?, updated_at = ? where sha256 = ? and base_url = ?"
            " and operation = ? and row_number = ?",
            (step, _now(), *self.key, row_number),
        )
        self._commit()

    @_translated
    def sending(self, row_number: int, attempts: int) -> None:
        """Mark a row `sending` before its POST leaves: committed at once (with any
        outcomes `settled` wrote since the last commit)."""
        self.sending_rows([(row_number, attempts)])

    @_translated
    def sending_rows(self, marks: Sequence[tuple[int, int]]) -> None:
        """Mark rows (row number, attempts) `sending` before their POSTs leave: one commit
        for all of them (a group commit), outcomes `settled` wrote since the last included."""
        self._begin()
        now = _now()
        self.db.executemany(
            "update rows set state = ?, attempts = ?, run_id = ?, updated_at = ?"
            " where sha256 = ? and base_url = ? and operation = ? and row_number = ?",
            [(RowState.SENDING, tries, self.run_id, now, *self.key, row) for row, tries in marks],
        )
        self._commit()

    @_translated
    def settled(self, result: RowResult) -> None:
        """Record a row's final outcome: `done`, or `failed` (a not-attempted row stays).

        Not committed by itself: the next `sending` (or `finish`, or `close`) commits it.
        Lost in a crash, the row is still `sending`, so the next run looks it up: a
        lookup is all it costs, and it halves the commits per row.
        """
        if result.status is Status.NOT_ATTEMPTED:
            return
        state = RowState.DONE if result.status in _DONE_STATUSES else RowState.FAILED
        error = result.errors[-1].message if result.errors else None
        sid, attempts, outcome = result.external_did_sid, result.attempts, _outcome_json(result)
        self._outcomes.append((state, sid, attempts, error, outcome, result.row.number))

    def _commit(self) -> None:
        """Write the outcomes `settled` holds, then commit (a transaction is open)."""
        self.write_outcomes()
        self.db.execute("commit")

    def write_outcomes(self) -> None:
        """Write the outcomes `settled` holds into the open transaction (not committed)."""
        if self._outcomes:
            self._begin()
            now, key = _now(), self.key
            self.db.executemany(
                "update rows set state = ?, sid = ?, attempts = ?, last_error = ?, outcome = ?,"
                " run_id = ?, updated_at = ? where sha256 = ? and base_url = ?"
                " and operation = ? and row_number = ?",
                [(*kept, self.run_id, now, *key, row) for *kept, row in self._outcomes],
            )
            self._outcomes.clear()

    @_translated
    def finish(
        self, *, status: RunStatus, counts: Mapping[str, int], exit_code: int, report: Path | None
    ) -> None:
        """Close the run's line in `runs` (a killed run keeps `running`: it is resumed)."""
        self._begin()
        self.db.execute(
            "update runs set finished_at = ?, status = ?, counts = ?, exit_code = ?,"
            " report_path = ? where run_id = ?",
            (
                _now(),
                status,
                json.dumps(dict(counts)),
                exit_code,
                str(report) if report else None,
                self.run_id,
            ),
        )
        self._commit()

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("begin")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """`with` block = one `begin … commit` (rolled back on error), pending writes included."""

    def __init__(self, db: sqlite3.Connection, begin: str = "begin") -> None:
        self.db = db
        self.begin = begin

    def __enter__(self) -> None:
        if not self.db.in_transaction:  # else join the pending one (settled outcomes)
            self.db.execute(self.begin)

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.db.execute("rollback" if exc_type else "commit")


def _outcome_json(result: RowResult) -> str:
    return _OUTCOME_ENCODER.encode(
        {
            "status": result.status.value,
            "external_did_sid": result.external_did_sid,
            "http_status": result.http_status,
            "attempts": result.attempts,
            "issues": [_issue_fields(issue) for issue in result.issues],
            "extra": dict(result.extra),
        }
    )


_OUTCOME_ENCODER = json.JSONEncoder(default=str)
"""`json.dumps(…, default=str)` made once (`dumps` makes an encoder a call when given one)."""


def _issue_fields(issue: Issue) -> dict[str, Any]:
    """An issue's fields, as `dataclasses.asdict` gives them (without its deep copies)."""
    return {name: getattr(issue, name) for name in _ISSUE_FIELDS}


_ISSUE_FIELDS = tuple(field.name for field in fields(Issue))


def _restore(result: RowResult, outcome: str) -> RowResult:
    """The validated row with the outcome an earlier run journaled."""
    saved = json.loads(outcome)
    issues = tuple(
        Issue(**{**issue, "severity": Severity(issue["severity"])}) for issue in saved["issues"]
    )
    return replace(
        result,
        status=Status(saved["status"]),
        external_did_sid=saved["external_did_sid"],
        http_status=saved["http_status"],
        attempts=saved["attempts"],
        issues=issues,
        extra={**saved["extra"], "from_journal": True},
    )


def iter_history(path: Path, limit: int) -> Iterator[RunRecord]:
    """The last `limit` runs in the journal at `path` (nothing when the file is absent)."""
    if not path.exists():
        return
    with Journal(path) as journal:
        yield from journal.history(limit)


def format_history(records: Iterable[RunRecord]) -> list[str]:
    """Plain-text lines for `did-import history`: one run per line, newest first, with
    its time, operation, status, exit code, file, the run it resumes, counts and report."""
    lines = []
    for run in records:
        counts = ", ".join(f"{n:,} {status}" for status, n in run.counts.items() if n)
        resumed = f" (resumes #{run.resumed_from})" if run.resumed_from else ""
        exit_code = "-" if run.exit_code is None else str(run.exit_code)
        lines.append(
            f"#{run.run_id}  {run.started_at[:19].replace('T', ' ')}  {run.operation:<8}  "
            f"{run.status:<8} exit {exit_code}  {Path(run.file).name}{resumed}  "
            f"{counts or 'no counts'}" + (f"  report: {run.report_path}" if run.report_path else "")
        )
    return lines or ["no runs in the journal yet"]
