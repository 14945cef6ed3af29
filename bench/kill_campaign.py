"""Kill campaign: SIGKILL the importer at many random points, restart it each time.

The sandbox runs in this process (it outlives every client); each client is a real
`python -m importer.cli run` on the same file and journal. The client is killed with
SIGKILL once the sandbox holds a randomly drawn number of records (seeded), then
started again; after the last kill it runs to the end. One line per kill, then:

    duplicates     numbers the sandbox holds more than once (must be 0)
    lost           rows the sandbox does not hold (must be 0)
    mismatches     final report rows not `registered` with the sandbox's sid (must be 0)
    resent         POSTs answered "already registered" (a row sent again after its POST
                   had gone out; must be 0: `sending` rows are looked up first)

    python bench/kill_campaign.py [--rows 3000] [--kills 10] [--seed 1] [--latency-ms 10]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.campaign import number, report_rows, write_numbers  # noqa: E402
from importer.sandbox import SandboxConfig, SandboxServer  # noqa: E402


def client(server: SandboxServer, folder: Path, source: Path) -> subprocess.Popen[str]:
    env = os.environ | {
        "CARRIERX_BASE_URL": server.base_url,
        "CARRIERX_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    args = [sys.executable, "-m", "importer.cli", "run", str(source), "--concurrency", "32"]
    args += ["--report", str(folder / "report.xlsx"), "--journal", str(folder / "j.sqlite")]
    return subprocess.Popen(
        args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def kill_at(server: SandboxServer, process: subprocess.Popen[str], records: int) -> bool:
    """SIGKILL `process` once the sandbox holds `records`; False if it finished first."""
    while len(server.state.records) < records:
        if process.poll() is not None:
            process.communicate()
            return False
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return True


def campaign(rows: int, kills: int, seed: int, latency_ms: float) -> None:
    points = sorted(random.Random(seed).sample(range(10, rows - 10), kills))
    config = SandboxConfig(latency_ms=latency_ms)
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = write_numbers(folder / "numbers.csv", rows)
        print(f"{'kill':>4} {'at records':>10} {'held after':>10}")
        for n, point in enumerate(points, 1):
            killed = kill_at(server, client(server, folder, source), point)
            held = len(server.state.records)
            print(f"{n:>4} {point:>10} {held:>10}" + ("" if killed else "  (finished first)"))
        last = client(server, folder, source)
        last.communicate()
        held = Counter(r["phonenumber"] for r in server.state.records)
        sids = {r["phonenumber"]: r["external_did_sid"] for r in server.state.records}
        report = report_rows(folder / "report.xlsx")
        posts = Counter(e["status"] for e in server.state.requests if e["method"] == "POST")
    mismatches = sum(report.get(d) != ("registered", sid) for d, sid in sids.items())
    mismatches += len(report) - len(sids)
    result = {
        "rows": rows,
        "kills": kills,
        "final exit": last.returncode,
        "duplicates": sum(n - 1 for n in held.values()),
        "lost": sum(number(i) not in held for i in range(rows)),
        "mismatches": mismatches,
        "resent": posts[422] + posts[409],
    }
    print(" ".join(f"{name:>10}" for name in result))
    print(" ".join(f"{value:>10}" for value in result.values()))
    clean = result["duplicates"] == result["lost"] == result["mismatches"] == result["resent"] == 0
    print("exactly once, report complete: " + ("yes" if clean else "NO"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    arguments = parser.parse_args()
    campaign(arguments.rows, arguments.kills, arguments.seed, arguments.latency_ms)
