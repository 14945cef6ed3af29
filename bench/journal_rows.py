"""The journal's cost a row on a run's path, in this process (no API).

    python -m bench.journal_rows

Journals 25,000 valid rows of `bench/data/run_100k.csv` in two chunks (`RunJournal.add`),
then marks them `sending` in groups of 32 and settles each (`sending_rows`, `settled`):
what the sending loop pays the journal for each row. Best of three, µs a row.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.datasets import run_file
from importer.config import RowDefaults, Settings
from importer.journal import Journal, RunJournal
from importer.models import RowResult, Status
from importer.validate.streaming import stream_file

ROWS = 25_000
GROUP = 32  # importer.send.feed.GROUP_COMMIT_ROWS


def valid_rows(path: Path) -> list[RowResult]:
    settings = Settings(defaults=RowDefaults(default_region="US"))
    kept = stream_file(path, settings, None, workers=1).kept
    return [result for result in kept if result.status is Status.WOULD_REGISTER][:ROWS]


def one_pass(rows: list[RowResult], source: Path) -> tuple[float, float]:
    """(add, mark + settle) in seconds a row, on a fresh journal."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "journal.sqlite")
        run = journal.begin_run(source, "f" * 64, "http://x", fresh=True, operation="register")
        started = time.perf_counter()
        for start in range(0, len(rows), ROWS // 2):
            run.add(rows[start : start + ROWS // 2])
        added = time.perf_counter() - started
        settled = time.perf_counter()
        mark_and_settle(run, rows)
        done = time.perf_counter() - settled
        journal.close()
    return added / len(rows), done / len(rows)


def mark_and_settle(run: RunJournal, rows: list[RowResult]) -> None:
    for start in range(0, len(rows), GROUP):
        group = rows[start : start + GROUP]
        run.sending_rows([(result.row.number, 1) for result in group])
        for at, result in enumerate(group, start):
            sid = f"sid-{at:08d}"
            run.settled(replace(result, status=Status.REGISTERED, external_did_sid=sid))


def main() -> None:
    source = run_file("100k")
    rows = valid_rows(source)
    passes = [one_pass(rows, source) for _ in range(3)]
    print(f"{'journal step':<28} µs a row (best of 3, {len(rows):,} rows)")
    print(f"{'add (two chunks)':<28} {min(p[0] for p in passes) * 1e6:8.1f}")
    print(f"{'mark sending + settle':<28} {min(p[1] for p in passes) * 1e6:8.1f}")


if __name__ == "__main__":
    main()
