"""A read-only run's line in the journal's history (`plan`): what it found, no rows.

A plan writes nothing to the account, so it has no rows to journal and takes no lock
(it may run while an apply holds the journal); its line in `runs` is written once it
has ended, finished, with its counts, exit code and report, so `did-import history`
lists plans beside the applies that carried them out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from importer.journal import Journal, RunStatus

__all__ = ["NotedRun", "note_run"]


class NotedRun:
    """What a read-only run's history line says."""

    def __init__(
        self,
        *,
        file: Path,
        sha256: str,
        base_url: str,
        operation: str,
        started: datetime,
        finished: datetime,
    ) -> None:
        self.key = (str(file), sha256, base_url, operation)
        self.times = tuple(t.isoformat(timespec="milliseconds") for t in (started, finished))


def note_run(
    path: Path, run: NotedRun, *, counts: Mapping[str, int], exit_code: int, report: Path | None
) -> None:
    """Add `run`'s finished line to the journal at `path` (no lock: nothing else moves)."""
    with Journal(path) as journal:
        journal.db.execute(
            "insert into runs (file, sha256, base_url, operation, started_at, finished_at,"
            " status, counts, report_path, exit_code) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *run.key,
                *run.times,
                RunStatus.FINISHED,
                json.dumps({status: n for status, n in counts.items() if n}),
                str(report) if report else None,
                exit_code,
            ),
        )
