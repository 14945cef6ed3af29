"""What an unfinished run has already touched, read before the run itself opens.

`apply PLAN.json` compares the saved plan with a new one before anything is sent; a
plan whose apply was killed half-way would never match again (the numbers it already
changed now plan `unchanged`). The numbers the unfinished apply of the same file may
have written (`sending`, `done`, `failed` or attempted rows) are left out of that
comparison: the journal, not the plan, says what becomes of them on resume.
"""

from __future__ import annotations

from pathlib import Path

from importer.journal import Journal, RowState, RunStatus

__all__ = ["touched_numbers"]


def touched_numbers(path: Path, key: tuple[str, str, str]) -> frozenset[str]:
    """The numbers the last run of `key` (sha256, base URL, operation) may have written,
    when that run did not finish; empty otherwise (or without a journal)."""
    if not path.exists():
        return frozenset()
    with Journal(path) as journal:
        last = journal.db.execute(
            "select status from runs where sha256 = ? and base_url = ? and operation = ?"
            " order by run_id desc limit 1",
            key,
        ).fetchone()
        if last is None or last[0] == RunStatus.FINISHED:
            return frozenset()
        rows = journal.db.execute(
            "select phonenumber from rows where sha256 = ? and base_url = ? and operation = ?"
            " and (state != ? or attempts > 0)",
            (*key, RowState.PENDING),
        )
        return frozenset(number for (number,) in rows if number)
