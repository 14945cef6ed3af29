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
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from importer.errors import ConfigError, JournalBusy
from importer.journal.lock import FileLock, Holder
from importer.journal.plans import payload_hash
from importer.journal.rows import RunJournal
from importer.journal.schema import (
    DEFAULT_OPERATION,
    SCHEMA_VERSION,
    RowState,
    RunRecord,
    RunStatus,
    Transaction,
    now_text,
    prepare,
    run_record,
    translated,
)
from importer.models import RowResult

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
            prepare(self.db, path)
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

    @translated
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

    @translated
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
                now_text(),
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

    @translated
    def history(self, limit: int = 20) -> list[RunRecord]:
        """The last `limit` runs, newest first."""
        rows = self.db.execute("select * from runs order by run_id desc limit ?", (limit,))
        return [run_record(row, rows.description) for row in rows.fetchall()]

    @translated
    def report_moved(self, old: Path, new: Path) -> None:
        """The runs whose report was at `old` now find it at `new` (an inbox job filed
        under done/ after its run): `history` points at where the report is."""
        with Transaction(self.db):
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
        return run_record(row, rows.description) if row else None


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
