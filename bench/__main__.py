"""The speed harness: `python -m bench` prints the issue-9 table and writes bench/results/.

Every case runs in a fresh process (`bench.cases`, or the `did-import` command line),
several times; the table shows the median wall time of the process (interpreter start
and imports included: what a user waits for) with min-max, the peak RSS from the OS
(the process and, after `+`, its worker process), the target side by side, and the
ratio against the baselines measured in the same run:

- *stage-by-stage*: the previous design (whole file loaded, then validated, then the
  report written from the list; fast paths off), one run;
- *naive*: pandas (+openpyxl for XLSX) in, phonenumbers per row, pandas out, one run
  (at 1M rows only with `--slow`: about 4 minutes for the XLSX).

The data sets (bench/datasets.py) are generated on first use into bench/data/.

    python -m bench                       # everything (about 10 minutes)
    python -m bench --quick               # 100k XLSX and --help only, one run each
    python -m bench --cases xlsx1m,help --repeat 3 --repeat-large 2 [--slow]
    python -m bench --cases sync          # issue 16: plan 100k (with and without --prune),
                                          # apply of 10k updates (bench/sync_speed.py)
    python -m bench --cases sandbox       # issue 17: the sandbox registering with 100k
                                          # records on disk vs in memory, and the 20k-row
                                          # demo (bench/sandbox_state.py)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import sync_speed
from bench.datasets import ROOT, data_file, run_file

RESULTS = ROOT / "bench" / "results"
CEILING_RPS = 64 / 0.05  # concurrency / latency: 1,280 requests per second
SYNC_RUNNERS = ("plan", "plan-prune", "apply")
DEMO_RUNNERS = ("demo", "demo-stored")
GROUPS = {
    "sync": "plan100k,plan100k-prune,apply10k",
    "sandbox": "sandbox-disk,demo20k,demo20k-stored",
}
"""Selection names for `--cases`: several cases at once."""


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    key: str
    label: str
    size: str
    fmt: str
    runner: str
    target_s: float | None = None
    target_mb: float | None = None
    baselines: tuple[str, ...] = ()
    large: bool = False
    target_ratio: float | None = None
    """Of the ceiling (requests/s): the rps cases' target instead of `target_s`; for the
    sandbox case, of the same sandbox with its state in memory, measured side by side."""


CASES = (
    Case("xlsx1m", "validate 1M XLSX -> results CSV + workbook + JSON", "1m", "xlsx",
         "validate", 25, 700, ("stages", "naive"), large=True),
    Case("xlsx100k", "validate 100k XLSX -> complete results workbook", "100k", "xlsx",
         "validate", 6, None, ("stages", "naive")),
    Case("csv1m", "validate 1M CSV -> CSV results", "1m", "csv",
         "validate-csv", 12, None, ("stages-csv", "naive"), large=True),
    Case("run", "run 100k rows, sandbox 50 ms, concurrency 64", "100k", "csv", "run",
         target_ratio=0.9),
    Case("plan100k", "plan 100k rows vs 100k-record account, 50 ms", "100k", "csv",
         "plan", 20),
    Case("plan100k-prune", "plan --prune 100k rows vs 100k records, 50 ms", "100k", "csv",
         "plan-prune", 20),
    Case("apply10k", "apply 10k updates (PATCH), 50 ms, concurrency 64", "10k", "csv",
         "apply", target_ratio=0.85),
    Case("sandbox-disk", "sandbox POST, 100k records on disk vs in memory", "100k", "",
         "sandbox-state", target_ratio=0.8),
    Case("demo20k", "run numbers20k.csv --sandbox, fresh state file", "20k", "csv",
         "demo", 60),
    Case("demo20k-stored", "run numbers20k.csv --sandbox, 100k records stored", "20k",
         "csv", "demo-stored", 60),
    Case("help", "did-import --help", "", "", "help", 0.3),
)  # fmt: skip


@dataclass
class Measured:
    """The runs of one case or baseline."""

    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    worker_mb: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed_process(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> tuple[float, float, str]:
    """Run `command`; its wall seconds, its own peak RSS (MB, from wait4) and its stdout."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode not in (0, 1):  # 1: the file has invalid rows
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}")
    return seconds, usage.ru_maxrss / 1024, text


def run_case(runner: str, path: Path) -> Measured:
    """One run of a `bench.cases` runner in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "bench.cases", runner, str(path), out]
        seconds, rss, text = timed_process(command)
    lines = text.strip().splitlines()
    if not lines:
        raise RuntimeError(f"bench.cases {runner} {path.name} failed (see its traceback)")
    inner = json.loads(lines[-1])
    return Measured([seconds], [rss], [inner["worker_rss_mb"]])


def run_help() -> Measured:
    """`did-import --help` as the console script runs it."""
    seconds, rss, _ = timed_process([sys.executable, "-m", "importer.cli", "--help"])
    return Measured([seconds], [rss], [0.0])


def run_upload(path: Path) -> Measured:
    """`did-import run` end to end against a sandbox process with 50 ms latency."""
    from bench.uploader_throughput import sandbox_process

    with sandbox_process(50.0) as (base_url, token, _), tempfile.TemporaryDirectory() as out:
        summary = Path(out) / "summary.json"
        command = [
            *(sys.executable, "-m", "importer.cli", "run", str(path), "--quiet"),
            *("--base-url", base_url, "--concurrency", "64", "--default-region", "US"),
            *("--report", f"{out}/r.xlsx", "--summary-json", str(summary)),
            *("--journal", f"{out}/journal.sqlite"),
        ]
        env = os.environ | {"CARRIERX_TOKEN": token, "PYTHONPATH": str(ROOT)}
        seconds, rss, _ = timed_process(command, env)
        counts = json.loads(summary.read_text())["counts"]
    rps = counts["registered"] / seconds
    return Measured([seconds], [rss], [0.0], {"rps": rps, "registered": counts["registered"]})


def run_sync(runner: str) -> Measured:
    """`did-import plan` (with `--prune` for `plan-prune`) or `apply` end to end against a
    sandbox process holding the account (bench/sync_speed.py)."""
    action, _, prune = runner.partition("-")
    sheet, state = sync_speed.data(action)
    with sync_speed.sandbox(state) as server, tempfile.TemporaryDirectory() as out:
        flags = ("--prune",) if prune else ("--yes",) if action == "apply" else ()
        command = sync_speed.command(action, sheet, Path(out), server.base_url, *flags)
        env = os.environ | {"CARRIERX_TOKEN": server.token, "PYTHONPATH": str(ROOT)}
        seconds, rss, _ = timed_process(command, env)
        counts = json.loads((Path(out) / "summary.json").read_text())["counts"]
        extra: dict[str, Any] = {"counts": {k: v for k, v in counts.items() if v}}
        if action == "apply":
            phase = sync_speed.patch_phase(server.requests())
            extra |= phase | {"rps": phase["patches"] / phase["patch_s"]}
            extra["all_rps"] = phase["requests"] / seconds
    return Measured([seconds], [rss], [0.0], extra)


def run_sandbox_state() -> Measured:
    """The sandbox's registration rate with 100k records on disk and in memory, the two
    alternating (bench/sandbox_state.py); `seconds` are the disk runs' wall seconds."""
    from bench import sandbox_state

    figures = sandbox_state.rates(seconds=5.0, pairs=3, connections=32)
    seconds = figures["seconds_each"] * len(figures["disk_rps"])
    extra = {
        "rps": figures["disk_median_rps"],
        "memory_rps": figures["memory_median_rps"],
        "disk_runs": figures["disk_rps"],
        "memory_runs": figures["memory_rps"],
        "disk_cpu_ms": figures["disk_cpu_ms"],
        "memory_cpu_ms": figures["memory_cpu_ms"],
    }
    return Measured([seconds], [0.0], [0.0], extra)


def run_demo(stored: bool) -> Measured:
    """`did-import run numbers20k.csv --sandbox` in a fresh folder, as a newcomer types it
    (its state file fresh, or holding 100k records already)."""
    from bench import sandbox_state

    with sandbox_state.demo_folder(stored) as (folder, command):
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        seconds, rss, _ = timed_process(command, env, cwd=folder)
        registered = sandbox_state.demo_registered(folder)
    return Measured([seconds], [rss], [0.0], {"registered": registered})


def measure(case: Case, runner: str, repeat: int) -> Measured:
    """`repeat` runs of `runner` for `case`'s data set."""
    total = Measured()
    for _ in range(repeat):
        if runner == "help":
            one = run_help()
        elif runner == "run":
            one = run_upload(run_file(case.size))
        elif runner in SYNC_RUNNERS:
            one = run_sync(runner)
        elif runner == "sandbox-state":
            one = run_sandbox_state()
        elif runner in DEMO_RUNNERS:
            one = run_demo(stored=runner == "demo-stored")
        else:
            one = run_case(runner, data_file(case.size, case.fmt))
        total.seconds += one.seconds
        total.rss_mb += one.rss_mb
        total.worker_mb += one.worker_mb
        for name, value in one.extra.items():
            total.extra.setdefault(name, []).append(value)
        print(f"  {case.key:<9} {runner:<13} {one.seconds[0]:7.2f} s", file=sys.stderr, flush=True)
    return total


def rps_ratio(ours: Measured) -> float:
    """An rps case's figure: of the ceiling, or (the sandbox case) of the same sandbox with
    its state in memory, measured side by side."""
    rps = statistics.median(ours.extra["rps"])
    if "memory_rps" in ours.extra:
        return float(rps / statistics.median(ours.extra["memory_rps"]))
    return float(rps / CEILING_RPS)


def verdict(case: Case, ours: Measured) -> str:
    """Whether the figure meets the target."""
    if case.target_ratio is not None:
        return "yes" if rps_ratio(ours) >= case.target_ratio else "NO"
    ok = case.target_s is None or ours.median <= case.target_s
    if case.target_mb is not None:
        ok = ok and max(ours.rss_mb) + max(ours.worker_mb) <= case.target_mb
    return "yes" if ok else "NO"


def row(case: Case, ours: Measured, baselines: dict[str, Measured]) -> dict[str, Any]:
    """One table row, as printed and as written to the JSON file."""
    line: dict[str, Any] = {
        "case": case.label,
        "runs": len(ours.seconds),
        "median_s": round(ours.median, 2),
        "min_s": round(min(ours.seconds), 2),
        "max_s": round(max(ours.seconds), 2),
        "peak_rss_mb": round(max(ours.rss_mb)),
        "worker_rss_mb": round(max(ours.worker_mb)),
        "target_s": case.target_s,
        "target_mb": case.target_mb,
    }
    if case.target_ratio is not None and "memory_rps" in ours.extra:
        memory = statistics.median(ours.extra["memory_rps"])
        line |= {
            "rps": round(statistics.median(ours.extra["rps"])),
            "memory_rps": round(memory),
            "of_memory": round(rps_ratio(ours), 3),
            "target_rps": case.target_ratio * memory,
            "runs_rps": {
                "disk": ours.extra["disk_runs"][-1],
                "memory": ours.extra["memory_runs"][-1],
            },
            "sandbox_cpu_ms": {
                "disk": ours.extra["disk_cpu_ms"][-1],
                "memory": ours.extra["memory_cpu_ms"][-1],
            },
        }
    elif case.target_ratio is not None:
        rps = statistics.median(ours.extra["rps"])
        line |= {
            "rps": round(rps),
            "of_ceiling": round(rps / CEILING_RPS, 3),
            "target_rps": case.target_ratio * CEILING_RPS,
        }
    line |= sync_figures(ours.extra)
    for name, base in baselines.items():
        line[f"{name}_s"] = round(base.median, 2)
        line[f"x_vs_{name}"] = round(base.median / ours.median, 1)
    line["met"] = verdict(case, ours)
    return line


def sync_figures(extra: dict[str, list[Any]]) -> dict[str, Any]:
    """The plan/apply cases' own figures (last run): counts, the PATCH phase, all requests."""
    figures: dict[str, Any] = {}
    if "counts" in extra:
        figures["counts"] = extra["counts"][-1]
    if "patch_s" in extra:
        figures |= {
            "patch_phase_s": round(extra["patch_s"][-1], 2),
            "patches": extra["patches"][-1],
            "requests": extra["requests"][-1],
            "all_requests_rps_end_to_end": round(extra["all_rps"][-1]),
        }
    return figures


def print_table(lines: list[dict[str, Any]]) -> None:
    header = (
        f"{'case':<52} {'runs':>4} {'median s':>9} {'min-max':>13} {'RSS MB':>10} "
        f"{'target':>10} {'met':>4} {'vs stage-by-stage':>18} {'vs naive':>10}"
    )
    print(header)
    for line in lines:
        target = f"<= {line['target_s']} s" if line["target_s"] else ""
        if "rps" in line:
            target = f">= {line['target_rps']:.0f} rps"
        rss = f"{line['peak_rss_mb']}+{line['worker_rss_mb']}"
        stages = next((f"{v}x" for k, v in line.items() if k.startswith("x_vs_stages")), "-")
        naive = f"{line['x_vs_naive']}x" if "x_vs_naive" in line else "-"
        figure = f"{line['rps']} rps" if "rps" in line else f"{line['median_s']:.2f}"
        print(
            f"{line['case']:<52} {line['runs']:>4} {figure:>9} "
            f"{line['min_s']:>6.2f}-{line['max_s']:<6.2f} {rss:>10} {target:>10} "
            f"{line['met']:>4} {stages:>18} {naive:>10}"
        )
        if line["target_mb"]:
            print(f"{'':<52} peak RSS target <= {line['target_mb']:.0f} MB (process + worker)")
        if "of_ceiling" in line:
            print(f"{'':<52} {line['of_ceiling']:.3f} of the {CEILING_RPS:.0f} rps ceiling")
        if "of_memory" in line:
            runs = line["runs_rps"]
            print(
                f"{'':<52} {line['of_memory']:.3f} of the same sandbox in memory, "
                f"{line['memory_rps']} rps (runs on disk {runs['disk']}, in memory "
                f"{runs['memory']}, alternating)"
            )
            cpu = line["sandbox_cpu_ms"]
            print(
                f"{'':<52} sandbox CPU a registration: {cpu['disk']} ms on disk, "
                f"{cpu['memory']} ms in memory"
            )
        if "patch_phase_s" in line:
            print(
                f"{'':<52} PATCH phase {line['patch_phase_s']} s for {line['patches']:,} "
                f"PATCHes (rps above); whole command {line['median_s']} s for "
                f"{line['requests']:,} requests = {line['all_requests_rps_end_to_end']} rps"
            )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        model = next((x.split(":", 1)[1].strip() for x in info if x.startswith("model name")), "")
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def main() -> None:
    """Parse the options, run the cases, print the table, write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(case.key for case in CASES))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each 100k/help case")
    parser.add_argument("--repeat-large", type=int, default=2, help="runs of each 1M case")
    parser.add_argument("--slow", action="store_true", help="also the naive baseline at 1M")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--quick", action="store_true", help="xlsx100k and help, one run")
    args = parser.parse_args()
    keys = "xlsx100k,help" if args.quick else args.cases
    names = {key for name in keys.split(",") for key in GROUPS.get(name, name).split(",")}
    chosen = [case for case in CASES if case.key in names]
    before = machine()
    lines = []
    for case in chosen:
        once = ("run", "sandbox-state", *DEMO_RUNNERS)  # long, or repeated inside
        repeat = 1 if args.quick or case.runner in once else args.repeat
        if case.large:
            repeat = min(repeat, args.repeat_large)
        try:
            ours = measure(case, case.runner, repeat)
        except (RuntimeError, OSError, ImportError, KeyError, ValueError) as error:
            print(f"{case.label}: not measured ({error})")
            continue
        baselines = {}
        for name in () if args.no_baselines else case.baselines:
            if name == "naive" and (args.quick or (case.large and not args.slow)):
                continue
            baselines[name.removesuffix("-csv")] = measure(case, name, 1)
        lines.append(row(case, ours, baselines))
    after = machine()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {after['cpu']}, "
          f"{after['cores']} cores, python {after['python']}, load average "
          f"{before['load_average']} before, {after['load_average']} after")  # fmt: skip
    print_table(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"{time.strftime('%Y-%m-%d', time.gmtime())}.json"
    record = {"machine": after, "load_before": before["load_average"], "cases": lines}
    if target.exists():  # a partial run (--cases) replaces only its own rows
        earlier = json.loads(target.read_text(encoding="utf-8"))
        ours = {line["case"] for line in lines}
        kept = [line for line in earlier.get("cases", []) if line["case"] not in ours]
        record["cases"] = kept + lines
        record["earlier_runs"] = [*earlier.get("earlier_runs", []), earlier["machine"]]
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"written {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
