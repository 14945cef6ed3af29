"""How fast, and in how much memory, the reporter writes large runs.

Run from the repository root: `python bench/report_write.py [ROWS ...]` (default
20000 100000). For each size it builds the RowResults once, then times each way of
writing them and measures the writer's peak Python memory (tracemalloc; the
memory in a second run, so that tracing does not slow the timed one):

* baseline: the Results lines through the stdlib csv writer, no neutralising;
* results csv: the CSV twin (neutralised) as the reporter writes it;
* workbook: the full workbook (Results, Summary with chart, Errors, Retry);
* over limit: the workbook without Results (limit 1,000 rows) plus both CSV twins.

Ratios are against the baseline of the same size. Memory that stays flat as the rows
grow is what constant_memory buys; the RowResults themselves are not counted.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from importer.config import ReportSettings
from importer.models import RawRow, RowResult, Status
from importer.reporter import ReportData, ReportFiles, flatten, plan_reports, write_report
from importer.reporter.summary import InputFacts, RunSummary, count_statuses

HEADER = ("Phone Number", "Capabilities", "Callback URL", "Notes")
STATUSES = (Status.REGISTERED, Status.REGISTERED, Status.REGISTERED, Status.INVALID)


def make_results(rows: int) -> list[RowResult]:
    """Rows like a partner's: three registered for one invalid, URL and hostile cells."""
    return [
        RowResult(
            row=RawRow(n + 2, (f"+1205{n:07d}", "3", f"https://hooks.example/cb/{n}", "=1+1")),
            status=STATUSES[n % len(STATUSES)],
            normalized_phonenumber=f"1205{n:07d}",
            http_status=200,
            attempts=1,
        )
        for n in range(rows)
    ]


def make_data(results: list[RowResult], folder: Path) -> ReportData:
    now = datetime.now(UTC)
    facts = InputFacts(file=str(folder / "in.csv"), sha256="0" * 64, format="csv", header_row=1,
                       data_rows=len(results))  # fmt: skip
    summary = RunSummary(tool_version="bench", phonenumbers_version="-", mode="run",
                         input=facts, counts=count_statuses(results), started_at=now,
                         finished_at=now, duration_seconds=1, rows_per_second=1,
                         exit_code=1)  # fmt: skip
    return ReportData(header=HEADER, results=results, summary=summary)


def baseline(data: ReportData, folder: Path) -> None:
    width = flatten.original_width(data.header, data.results)
    with (folder / "baseline.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(flatten.report_header(data.header, width))
        writer.writerows(flatten.report_row(result, width) for result in data.results)


def results_csv(data: ReportData, folder: Path) -> None:
    write_report(ReportFiles(workbook=None, results_csv=folder / "r.results.csv"), data)


def workbook(data: ReportData, folder: Path) -> None:
    write_report(ReportFiles(workbook=folder / "r.xlsx"), data)


def over_limit(data: ReportData, folder: Path) -> None:
    settings = ReportSettings(workbook_row_limit=1_000)
    files = plan_reports(
        folder / "big.results.xlsx", rows=len(data.results), source_format="xlsx", settings=settings
    )
    write_report(files, data)


def measure(job: Callable[[ReportData, Path], None], data: ReportData) -> tuple[float, float]:
    """Seconds of one job, then its peak MiB in a second, traced run (each in a fresh folder)."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        job(data, Path(folder))
        seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        tracemalloc.start()
        job(data, Path(folder))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, peak


def main(sizes: list[int]) -> None:
    jobs = {"baseline": baseline, "results csv": results_csv, "workbook": workbook}
    jobs["over limit"] = over_limit
    print(f"{'rows':>8}  {'writer':<12} {'seconds':>8} {'x base':>7} {'rows/s':>9} {'peak MiB':>9}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            data = make_data(make_results(size), Path(folder))
            base = 0.0
            for name, job in jobs.items():
                seconds, peak = measure(job, data)
                base = base or seconds
                print(
                    f"{size:>8}  {name:<12} {seconds:>8.2f} {seconds / base:>7.1f}"
                    f" {size / seconds:>9.0f} {peak:>9.1f}"
                )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [20_000, 100_000])
