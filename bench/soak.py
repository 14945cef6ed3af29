"""The fault soak at full size: 10,000 rows against a sandbox that misbehaves on purpose.

The sandbox (in this process, on loopback) answers 5 % of requests 429, 5 % 503, cuts
2 % of connections, and for 2 % of registrations commits the number and then loses
the answer. The real run path (`run_import`: journal, uploader, report) registers the
file; then the sandbox's records are compared with the report, row for row:

    registered     rows the report says registered (or already registered)
    duplicates     numbers the sandbox holds more than once (must be 0)
    lost           valid rows the sandbox does not hold (must be 0)
    mismatches     report rows whose status or sid disagree with the sandbox (must be 0)

A row the report calls `failed` is counted too: with the default 5 attempts a row,
about one row in 10,000 meets 5 faults in a row; the executor's second pass at the end
of the run must finish it (`failed` 0 in every seed). Each seed runs in turn, with the
tool's default retry settings and short waits; `--no-second-pass` shows the baseline.

    python bench/soak.py [--rows 10000] [--concurrency 64] [--seeds 1 2 3 4 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.campaign import number, write_numbers  # noqa: E402
from importer.api import run_import  # noqa: E402
from importer.config import build_settings  # noqa: E402
from importer.models import Status  # noqa: E402
from importer.sandbox import SandboxConfig, SandboxServer  # noqa: E402

FAULTS = {
    "fail_rate": 0.10,
    "fail_statuses": (429, 503),
    "drop_rate": 0.02,
    "lose_answer_rate": 0.02,
}


def soak(rows: int, concurrency: int, seed: int, *, second_pass: bool) -> dict[str, float]:
    config = SandboxConfig(seed=seed, **FAULTS)  # type: ignore[arg-type]
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as folder:
        settings = build_settings(
            {
                "api": {
                    "base_url": server.base_url,
                    "token": server.token,
                    "concurrency": concurrency,
                    "backoff_base": 0.05,
                    "backoff_max": 1.0,
                    "second_pass": second_pass,
                },
                "report": {"report_dir": Path(folder)},
            }
        )
        started = time.monotonic()
        outcome = run_import(write_numbers(Path(folder) / "soak.csv", rows), settings)
        seconds = time.monotonic() - started
        held = Counter(record["phonenumber"] for record in server.state.records)
        sids = {r["phonenumber"]: r["external_did_sid"] for r in server.state.records}
        faults = Counter(entry["fault"] for entry in server.state.requests)
    good = {Status.REGISTERED, Status.ALREADY_REGISTERED}
    mismatches = sum(
        r.status not in good or sids.get(r.normalized_phonenumber or "") != r.external_did_sid
        for r in outcome.results
    )
    return {
        "seed": seed,
        "rows": rows,
        "registered": sum(r.status in good for r in outcome.results),
        "failed": sum(r.status is Status.FAILED for r in outcome.results),
        "duplicates": sum(n - 1 for n in held.values()),
        "lost": sum(number(i) not in held for i in range(rows)),
        "mismatches": mismatches,
        "seconds": seconds,
        "faults": sum(n for fault, n in faults.items() if fault),
        "exit": outcome.exit_code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--no-second-pass", action="store_true")
    arguments = parser.parse_args()
    names = ["seed", "rows", "registered", "failed", "duplicates", "lost", "mismatches"]
    names += ["faults", "seconds", "exit"]
    print(" ".join(f"{name:>11}" for name in names), flush=True)
    verdicts = []
    for seed in arguments.seeds:
        result = soak(
            arguments.rows,
            arguments.concurrency,
            seed,
            second_pass=not arguments.no_second_pass,
        )
        print(" ".join(f"{result[name]:>11.0f}" for name in names), flush=True)
        verdicts.append(result["duplicates"] == result["lost"] == result["mismatches"] == 0)
        verdicts.append(result["failed"] == 0)
    print("exactly once, nothing failed: " + ("yes" if all(verdicts) else "NO"))


if __name__ == "__main__":
    main()
