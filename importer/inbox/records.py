"""What the inbox records: each file's outcome, a pass's, and the ledger of imported files.

`FileOutcome` and `InboxRun` are what `process_inbox` returns and what logs and the
notification carry; `Ledger` is `DIR/.did-import/ledger.sqlite` (sha256 → job, outcome);
`write_json` writes the notes left beside a job's file, owner-only like the reports.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from importer.reporter.files import create_private

__all__ = ["FileOutcome", "FileState", "InboxRun", "Ledger", "write_json"]


class FileState(StrEnum):
    """Where a file ended up after a pass."""

    DONE = "done"  # exit 0 or 1: imported; the report says which rows need attention
    FAILED = "failed"  # exit 2 (unusable) or 3 (the API refused us)
    DUPLICATE = "duplicate"  # the same bytes were imported before: not sent again
    PENDING = "pending"  # exit 4 (or 5: journal busy): stays in processing/ for the next pass


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOutcome:
    """One file's fate: its folder, exit code, counts and the files written beside it."""

    name: str
    state: FileState
    exit_code: int
    job: str
    folder: Path
    sha256: str
    report_path: Path | None = None
    summary_path: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    note: str | None = None

    def fields(self) -> dict[str, Any]:
        """JSON-ready fields for logs and notifications (`name` becomes `file`)."""
        data = {"file" if key == "name" else key: getattr(self, key) for key in self.__slots__}
        return {
            key: str(value) if isinstance(value, Path) else value for key, value in data.items()
        }


@dataclass(frozen=True, slots=True)
class InboxRun:
    """One pass over the inbox: each file handled, and the names left for the next pass."""

    inbox: Path
    files: tuple[FileOutcome, ...]
    waiting: tuple[str, ...]
    started_at: datetime
    finished_at: datetime

    @property
    def exit_code(self) -> int:
        """The highest exit code of the files handled; 0 when there was nothing to do."""
        return max((outcome.exit_code for outcome in self.files), default=0)

    def describe(self) -> str:
        """`2 done, 1 failed, 1 waiting` or `nothing to do`."""
        states = [outcome.state.value for outcome in self.files]
        parts = [f"{states.count(s.value)} {s.value}" for s in FileState if s.value in states]
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting")
        return ", ".join(parts) or "nothing to do"

    def fields(self) -> dict[str, Any]:
        """Counts of files per state, for the `inbox_end` event."""
        states = [outcome.state.value for outcome in self.files]
        per_state = {state.value: states.count(state.value) for state in FileState}
        return {"inbox": str(self.inbox), "files": per_state, "waiting": len(self.waiting)}

    def to_json(self) -> dict[str, Any]:
        """The notification body: the pass, its exit code and every file's outcome."""
        return {
            "tool": "did-import",
            "mode": "inbox",
            "inbox": str(self.inbox),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "exit_code": self.exit_code,
            "files": [outcome.fields() for outcome in self.files],
            "waiting": list(self.waiting),
        }


class Ledger:
    """sha256 of every file the inbox handled, and where it went (SQLite)."""

    def __init__(self, path: Path) -> None:
        path.touch(mode=0o600, exist_ok=True)  # owner only, like the reports
        self.db = sqlite3.connect(path)
        self.db.execute(
            "create table if not exists files (sha256 text not null, name text not null,"
            " job text not null, outcome text not null, exit_code integer not null,"
            " finished_at text not null)"
        )

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def imported(self, sha256: str) -> tuple[str, str] | None:
        """(job, finished_at) of the first import of these bytes, if any."""
        row = self.db.execute(
            "select job, finished_at from files where sha256 = ? and outcome = 'done'"
            " order by finished_at limit 1",
            (sha256,),
        ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def record(self, sha256: str, *, name: str, job: str, outcome: str, exit_code: int) -> None:
        """Remember one handled file (committed at once)."""
        with self.db:
            self.db.execute(
                "insert into files values (?, ?, ?, ?, ?, ?)",
                (sha256, name, job, outcome, exit_code, datetime.now(UTC).isoformat()),
            )


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as indented JSON, owner-only like the reports, renamed into place."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # left by a process killed while writing it
    with create_private(temporary) as handle:
        handle.write(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(temporary, path)
