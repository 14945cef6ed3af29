"""Corpus check: `validate` on the spreadsheet test files that reader libraries publish.

Several reader libraries ship their test files (workbooks and CSVs collected from bug
reports, odd writers and real data) in their source distributions. This script
downloads a pinned list of those sdists from PyPI (sha256 checked), extracts the files
with a spreadsheet or CSV extension into a cache outside git, runs
`python -m importer.cli validate FILE` on each in a fresh subprocess, one at a time,
and classifies each file:

- loaded: exit 0 or 1, with the data-row count, which must equal an independent count
  of the non-blank rows below the header row did-import chose (`bench/corpus_count.py`)
  and the sum of the summary's status counts;
- refused: exit 2 with exactly one line on stderr, `did-import: <file>: <reason>`, and
  no traceback; the reason is sorted into a class (`REASONS`) and the message kept, so
  a person can judge that it is accurate;
- bad: anything else: a traceback, another exit code, more than one line for a
  refusal, a run over `--timeout`, a peak RSS over `--max-rss` MB (the largest single
  process: `validate` or its helper, from `wait4`), or a row count that disagrees.

It prints a table per source package and overall, the refusals with their messages and
the bad files, and writes the results to bench/results/corpus-<date>.json.

    python bench/corpus.py [--cache DIR] [--only PACKAGE ...] [--out FILE] [--timeout 180]
                           [--max-rss 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, bench/ is on the path: the checkout too
from bench.corpus_sources import DEFAULT_CACHE, SOURCES, gather  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# (class, pattern of the message after `did-import: <file>: `), the first match wins
REASONS = (
    ("no phone-number column", r"no phone-number column"),
    ("no data rows", r"no data rows below the header|no data \(every row is blank\)"),
    ("empty file", r"the file is empty"),
    ("no visible worksheet", r"no visible worksheet"),
    ("formulas without results", r"formula cell\(s\) with no saved result"),
    ("password protected", r"password|encrypt"),
    ("unreadable workbook", r"not a readable \w+ workbook"),
    ("undecodable text", r"cannot decode"),
    ("binary content", r"binary content"),
    ("unreadable CSV", r"not a readable CSV file"),
    ("duplicate column", r"duplicate column"),
)
TRACEBACK = "Traceback (most recent call last)"
STATUS_CODES = {0, 1}


@dataclass
class Outcome:
    """How `validate` ended on one file, and what that makes it."""

    source: str
    file: str
    kind: str  # loaded | refused | bad
    exit_code: int | None
    seconds: float
    peak_rss_mb: float
    data_rows: int | None = None
    independent_rows: int | None = None
    counter: str | None = None
    read_as: str | None = None  # loaded: the format, and the sheet of a workbook
    reason: str | None = None
    message: str | None = None
    problem: str | None = None


@dataclass
class Finished:
    """A finished (or killed) `validate` subprocess."""

    exit_code: int | None
    stderr: str
    seconds: float
    peak_rss_mb: float
    summary: dict[str, object] | None


def main() -> int:
    args = _arguments()
    files = gather(args.cache, [s for s in SOURCES if not args.only or s[0] in args.only])
    print(f"{len(files)} files from {len({source for source, _ in files})} packages", flush=True)
    outcomes = [
        classify(path, source, timeout=args.timeout, max_rss_mb=args.max_rss, base=args.cache)
        for source, path in files
    ]
    print(render(outcomes))
    print(f"launcher's own peak RSS (the floor of the figures): {launcher_rss_mb()} MB")
    out = args.out or (None if args.only else RESULTS / f"corpus-{datetime.now(UTC):%Y-%m-%d}.json")
    if out is not None:  # a partial run (--only) does not overwrite the day's full results
        out.write_text(dump(results(outcomes, args)), encoding="utf-8")
        print(f"\nwritten: {out}")
    return 1 if any(o.kind == "bad" for o in outcomes) else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="sdists and files")
    parser.add_argument("--only", nargs="*", help="only these source packages")
    parser.add_argument("--out", type=Path, help="results JSON [bench/results/corpus-<date>.json]")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a file")
    parser.add_argument("--max-rss", type=float, default=200.0, help="MB a process")
    return parser.parse_args()


# --- running and classifying --------------------------------------------------------------


def run_validate(path: Path, folder: Path, timeout: float) -> Finished:
    """`validate FILE` in a fresh process (this checkout's code), its report in `folder`."""
    command = [
        *(sys.executable, "-m", "importer.cli", "validate", str(path)),
        *("--report", str(folder / "report.xlsx"), "--summary-json", str(folder / "s.json")),
        *("--default-region", "US", "--quiet"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARRIERX_")}
    env |= {"PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    started = time.monotonic()
    with (folder / "stderr").open("wb") as stderr:
        process = subprocess.Popen(  # cwd: no config file of this checkout is found
            command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        status, usage = _wait(process, started + timeout)
    process.returncode = -1 if status is None else os.waitstatus_to_exitcode(status)
    summary_file = folder / "s.json"
    return Finished(
        exit_code=None if status is None else process.returncode,
        stderr=(folder / "stderr").read_text(encoding="utf-8", errors="replace"),
        seconds=round(time.monotonic() - started, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        summary=json.loads(summary_file.read_text()) if summary_file.exists() else None,
    )


def _wait(
    process: subprocess.Popen[bytes], deadline: float
) -> tuple[int | None, resource.struct_rusage]:
    """(wait status, or None when killed at the deadline; the child's rusage).

    Linux keeps the largest RSS of the process and its waited-for children, across
    exec: a forked child starts with this process's pages, so this process must stay
    small (streamed downloads, the independent count in its own process) or its size
    would be the floor of every figure. `launcher_rss_mb` in the results is that floor.
    """
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            return None, os.wait4(process.pid, 0)[2]
        time.sleep(0.02)


def classify(
    path: Path, source: str, *, timeout: float = 180.0, max_rss_mb: float = 200.0, base: Path
) -> Outcome:
    """Run `validate` on `path` and sort the file into loaded, refused or bad."""
    with tempfile.TemporaryDirectory(prefix="corpus-") as work:
        run = run_validate(path, Path(work), timeout)
        outcome = Outcome(
            source, _shown(path, base), "bad", run.exit_code, run.seconds, run.peak_rss_mb
        )
        if run.exit_code is None:
            outcome.problem = f"no answer within {timeout:g} s (killed)"
        elif TRACEBACK in run.stderr:
            outcome.problem = "traceback: " + run.stderr.strip().splitlines()[-1][:200]
        elif run.exit_code == 2:
            _refused(outcome, run.stderr, path)
        elif run.exit_code in STATUS_CODES:
            _loaded(outcome, run.summary, path, Path(work))
        else:
            outcome.problem = f"exit {run.exit_code}: {run.stderr.strip()[:200]}"
    if run.peak_rss_mb > max_rss_mb:
        outcome.kind, outcome.problem = "bad", f"peak RSS {run.peak_rss_mb} MB > {max_rss_mb:g}"
    return outcome


def _refused(outcome: Outcome, stderr: str, path: Path) -> None:
    lines = stderr.strip().splitlines()
    prefix = f"did-import: {path}: "
    if len(lines) != 1 or not lines[0].startswith(prefix):
        outcome.problem = f"refusal not one line naming the file: {stderr.strip()[:300]!r}"
        return
    outcome.kind, outcome.message = "refused", lines[0].removeprefix(prefix)
    outcome.reason = reason_class(outcome.message)


def reason_class(message: str) -> str:
    """The class of a refusal's message (`REASONS`), else "other"."""
    return next((name for name, pattern in REASONS if re.search(pattern, message)), "other")


def _loaded(outcome: Outcome, summary: dict[str, object] | None, path: Path, work: Path) -> None:
    if summary is None:
        outcome.problem = "exit 0/1 but no JSON summary"
        return
    source = summary["input"]
    counts = summary["counts"]
    assert isinstance(source, dict)
    assert isinstance(counts, dict)
    outcome.data_rows = source["data_rows"]
    outcome.read_as = f"{source['format']} {source.get('sheet') or ''}".strip()
    counted = subprocess.run(  # its own process: openpyxl's memory is not this one's
        [sys.executable, str(ROOT / "bench" / "corpus_count.py"), str(path), str(work / "s.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if counted.returncode != 0:
        outcome.problem = "independent count failed: " + counted.stderr.strip()[-200:]
        return
    outcome.independent_rows, outcome.counter = json.loads(counted.stdout)
    if outcome.independent_rows != outcome.data_rows:
        outcome.problem = f"data_rows {outcome.data_rows} != {outcome.counter} count"
    elif sum(counts.values()) != outcome.data_rows:
        outcome.problem = f"status counts add up to {sum(counts.values())}, not data_rows"
    else:
        outcome.kind = "loaded"


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base / "files"))
    except ValueError:
        return str(path)


# --- reporting ----------------------------------------------------------------------------


def launcher_rss_mb() -> float:
    """This process's own peak RSS: no child's figure can be below it (see `_wait`)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def render(outcomes: list[Outcome]) -> str:
    """Per-package table, then every refusal's message and every bad file."""
    reasons = sorted({o.reason for o in outcomes if o.kind == "refused" and o.reason})
    head = ["package", "files", "loaded", "refused", *reasons, "bad"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for source in [*sorted({o.source for o in outcomes}), "all"]:
        rows = [o for o in outcomes if source in {"all", o.source}]
        kinds = Counter(o.kind for o in rows)
        why = Counter(o.reason for o in rows if o.kind == "refused")
        cells = [source, len(rows), kinds["loaded"], kinds["refused"]]
        lines.append(" | ".join(str(c) for c in [*cells, *(why[r] for r in reasons), kinds["bad"]]))
    lines.append("\nloaded (data rows = independent count):")
    lines += [
        f"  {o.file}: {o.data_rows} rows, {o.read_as} ({o.counter})"
        for o in outcomes
        if o.kind == "loaded"
    ]
    lines.append("\nrefused:")
    lines += [f"  {o.file}: [{o.reason}] {o.message}" for o in outcomes if o.kind == "refused"]
    lines.append("\nbad:")
    lines += [f"  {o.file}: exit {o.exit_code}: {o.problem}" for o in outcomes if o.kind == "bad"]
    slowest = max(outcomes, key=lambda o: o.seconds, default=None)
    biggest = max(outcomes, key=lambda o: o.peak_rss_mb, default=None)
    if slowest and biggest:
        lines.append(f"\nslowest: {slowest.file} {slowest.seconds} s; ")
        lines[-1] += f"largest peak RSS: {biggest.file} {biggest.peak_rss_mb} MB"
    return "\n".join(lines)


def results(outcomes: list[Outcome], args: argparse.Namespace) -> dict[str, object]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "when_utc": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "commit": commit,
        "sources": [f"{name}=={version}" for name, version, _ in SOURCES],
        "timeout_s": args.timeout,
        "max_rss_mb": args.max_rss,
        "launcher_rss_mb": launcher_rss_mb(),
        "counts": dict(Counter(o.kind for o in outcomes)),
        "refusal_reasons": dict(Counter(o.reason for o in outcomes if o.kind == "refused")),
        "files": [_record(o) for o in outcomes],
    }


def _record(outcome: Outcome) -> dict[str, object]:
    """One file's result without the empty fields (its package is in its path)."""
    fields = asdict(outcome)
    del fields["source"]
    return {key: value for key, value in fields.items() if value is not None}


def dump(summary: dict[str, object]) -> str:
    """The results as JSON, one line a file: diffs between two runs read file by file."""
    files = summary.pop("files")
    assert isinstance(files, list)
    head = json.dumps(summary, indent=1, ensure_ascii=False)[:-2]
    lines = ",\n  ".join(json.dumps(record, ensure_ascii=False) for record in files)
    return f'{head},\n "files": [\n  {lines}\n ]\n}}\n'


if __name__ == "__main__":
    sys.exit(main())
