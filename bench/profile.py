"""Profile the 1M-row XLSX validate case (cProfile, this process): `python -m bench.profile`.

Prints the functions by own time and the pipeline's stages by cumulative time; the
worker process that reads phone numbers is not profiled (its share shows as the time
this process waits for it: `_thread.lock.acquire`). bench/PROFILE.md summarises a run.

    python -m bench.profile [--size 1m] [--format xlsx] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from bench.datasets import data_file

STAGES = (
    "validate_file",
    "stream_file",
    "_pipeline",
    "_rows_then_complete",
    "validate_chunk",
    "add_all",
    "add",
    "write_report",
    "render_workbook",
    "write_summary_json",
    "acquire",
)


def main() -> None:
    """Profile one validate run and print the two tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m")
    parser.add_argument("--format", default="xlsx")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    from importer.api import validate_file
    from importer.config import ReportSettings, RowDefaults, Settings

    path = data_file(args.size, args.format)
    with tempfile.TemporaryDirectory() as out:
        report = ReportSettings(report_dir=Path(out), summary_json=Path(out) / "summary.json")
        settings = Settings(defaults=RowDefaults(default_region="US"), report=report)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.runcall(validate_file, path, settings)
        seconds = time.perf_counter() - started
    print(f"{path.name}: {seconds:.1f} s under cProfile")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats("|".join(rf"\({name}\)" for name in STAGES))


if __name__ == "__main__":
    main()
