"""Issue 17's sandbox rows: registering with the state on disk vs in memory, and the demo.

1. *Registration rate*: a sandbox process holding `RECORDS` records (written straight
   into a state file, as `bench/sync_speed.py` does) is hammered with POST registrations
   of new numbers from `--connections` keep-alive connections (the lean uvloop client of
   `bench/sandbox_throughput.py`, so the sandbox is the busy side) for `--seconds`:
   - *disk*: the sandbox serves a copy of that file (`state_file`, every write committed);
   - *memory*: the same records loaded into a sandbox without a state file.
   The two alternate (disk, memory, disk, memory, ...) `--pairs` times, so both see the
   same box; the ratio is the median disk rate over the median memory rate (target 0.8).
2. *The demo*: `did-import run numbers20k.csv --sandbox` as a newcomer types it (20,000
   valid rows, the embedded sandbox, its state file on disk), with a fresh state file
   and with one already holding `RECORDS` records; wall time of the whole command.

`python -m bench --cases sandbox` runs the same as rows of the bench table; alone:

    python -m bench.sandbox_state [--seconds 5] [--pairs 3] [--connections 32] [--no-demo]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import sync_speed
from bench.campaign import number
from bench.datasets import DATA, ROOT
from bench.sandbox_throughput import hammer, request_builders
from bench.uploader_throughput import cpu_seconds

RECORDS = sync_speed.PLAN_ROWS
DEMO_ROWS = 20_000
TARGET_RATIO = 0.8
_SERVER = """
import signal, sys
from pathlib import Path
from importer.sandbox import SandboxConfig, SandboxServer
from importer.sandbox.store import SqliteStore
path = Path(sys.argv[2])
if sys.argv[1] == "disk":
    server = SandboxServer(SandboxConfig(state_file=path, request_log_limit=0))
else:
    server = SandboxServer(SandboxConfig(request_log_limit=0))
    store = SqliteStore(path)
    for record, messaging in store.load():
        server.state.put(record, messaging)
    store.close()
with server:
    print(server.base_url, server.token, len(server.state.live_records()), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
"""


@contextmanager
def sandbox(where: str, state: Path) -> Iterator[tuple[str, str, int]]:
    """A sandbox process holding the records of `state`, `where` = disk or memory (a copy
    of the file is served or read; the original is never written)."""
    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        copy = Path(folder) / "state.sqlite"
        shutil.copyfile(state, copy)
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", _SERVER, where, str(copy)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert process.stdout is not None
            base_url, token, held = process.stdout.readline().split()
            if int(held) != RECORDS:
                raise RuntimeError(f"the {where} sandbox holds {held} records, not {RECORDS}")
            yield base_url, token, process.pid
        finally:
            process.terminate()
            process.wait(10)


def registration_rate(
    where: str, state: Path, seconds: float, connections: int
) -> tuple[float, float]:
    """Registrations a second of one sandbox (`disk` or `memory`), and the sandbox
    process's CPU milliseconds a registration (its threads together); every
    registration must succeed."""
    with sandbox(where, state) as (base_url, token, pid):
        register = request_builders(base_url, token, "")["POST register"]
        cpu = cpu_seconds(pid)
        ok, errors, elapsed = asyncio.run(hammer(base_url, register, seconds, connections))
        cpu = cpu_seconds(pid) - cpu
    if errors:
        raise RuntimeError(f"{errors} of {ok + errors} registrations failed ({where})")
    return ok / elapsed, 1000 * cpu / ok


def rates(seconds: float, pairs: int, connections: int) -> dict[str, Any]:
    """Disk and memory rates, alternating, and the ratio of their medians."""
    state = sync_speed.data("plan")[1]  # RECORDS records, the store's own schema
    measured: dict[str, list[float]] = {"disk": [], "memory": []}
    cpu: dict[str, list[float]] = {"disk": [], "memory": []}
    for _ in range(pairs):
        for where, figures in measured.items():
            rate, cpu_ms = registration_rate(where, state, seconds, connections)
            figures.append(rate)
            cpu[where].append(cpu_ms)
            print(f"  sandbox {where:<6} {rate:7.0f} /s, {cpu_ms:.3f} ms CPU", file=sys.stderr)
    disk, memory = (statistics.median(measured[w]) for w in ("disk", "memory"))
    return {
        "records": RECORDS,
        "connections": connections,
        "seconds_each": seconds,
        "disk_rps": [round(r) for r in measured["disk"]],
        "memory_rps": [round(r) for r in measured["memory"]],
        "disk_median_rps": round(disk),
        "memory_median_rps": round(memory),
        "disk_cpu_ms": round(statistics.median(cpu["disk"]), 3),
        "memory_cpu_ms": round(statistics.median(cpu["memory"]), 3),
        "ratio": round(disk / memory, 3),
        "target_ratio": TARGET_RATIO,
    }


def demo_sheet() -> Path:
    """`DEMO_ROWS` valid numbers none of the `RECORDS` stored records holds."""
    path = DATA / "numbers20k.csv"
    if not path.exists():
        lines = [f"+{number(RECORDS + i)},3" for i in range(DEMO_ROWS)]
        sync_speed.write_sheet(path, iter(lines))
    return path


@contextmanager
def demo_folder(stored: bool) -> Iterator[tuple[Path, list[str]]]:
    """A fresh folder to run the demo in (its `reports/sandbox-state.sqlite` on disk,
    absent or a copy of the `RECORDS`-record file), and the demo's command line."""
    with tempfile.TemporaryDirectory(dir=DATA) as name:
        folder = Path(name)
        if stored:
            (folder / "reports").mkdir()
            shutil.copyfile(sync_speed.data("plan")[1], folder / "reports/sandbox-state.sqlite")
        command = [
            *(sys.executable, "-m", "importer.cli", "run", str(demo_sheet()), "--sandbox"),
            *("--quiet", "--summary-json", "summary.json"),
        ]
        yield folder, command


def demo_registered(folder: Path) -> int:
    """How many rows the demo in `folder` registered; all of them, or RuntimeError."""
    counts = json.loads((folder / "summary.json").read_text())["counts"]
    if counts.get("registered") != DEMO_ROWS:
        raise RuntimeError(f"the demo registered {counts.get('registered')} of {DEMO_ROWS}")
    return DEMO_ROWS


def demo(stored: bool) -> float:
    """`did-import run numbers20k.csv --sandbox` as a newcomer types it; wall seconds."""
    with demo_folder(stored) as (folder, command):
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        subprocess.run(command, cwd=folder, env=env, check=False, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        demo_registered(folder)
    return seconds


def main() -> None:
    """Measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    figures = rates(args.seconds, args.pairs, args.connections)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load[0]:.2f}")
    print(f"sandbox POST register, {RECORDS:,} records held, {args.connections} connections")
    for where in ("disk", "memory"):
        print(
            f"  state {'on disk' if where == 'disk' else 'in memory':<9} "
            f"{figures[f'{where}_median_rps']:>6} /s {figures[f'{where}_rps']!s:<20} "
            f"sandbox CPU {figures[f'{where}_cpu_ms']:.3f} ms a registration"
        )
    met = "met" if figures["ratio"] >= TARGET_RATIO else "NOT met"
    print(f"  disk / memory   {figures['ratio']:.3f} (target >= {TARGET_RATIO}: {met})")
    if not args.no_demo:
        for stored in (False, True):
            seconds = demo(stored)
            label = f"{RECORDS:,} records stored" if stored else "fresh state file"
            print(f"did-import run numbers20k.csv --sandbox, {label}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
