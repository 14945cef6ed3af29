"""Issue 16's exactly-once check: plan and apply a changed sheet against a faulty sandbox.

An account of 5,000 numbers is registered (no faults); then, with the 14 % fault mix
(5 % 429, 5 % 503, 2 % cut connections, 2 % writes applied and their answer lost, on
every method), `plan --prune --allow-replace` of a sheet with 1,000 callback changes,
300 capability changes, 500 new numbers and 400 removed ones must count exactly that;
`apply --yes` must leave the sandbox equal to the sheet, field by field, with each
planned write applied once (the sandbox's request log: `applied_writes`); and a second
plan must find every row `unchanged`.

    python bench/sync_soak.py [--seeds 1 2 3] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync_data import Scenario  # noqa: E402
from importer.config import Settings, build_settings  # noqa: E402
from importer.run import Command, Hooks, Run  # noqa: E402
from importer.sandbox import SandboxConfig, SandboxServer  # noqa: E402

FAULTS: dict[str, Any] = {
    "fail_rate": 0.10,
    "fail_statuses": (429, 503),
    "drop_rate": 0.02,
    "lose_answer_rate": 0.02,
}
WRITES_PER_ACTION = {
    "would_update": Counter({"PATCH": 1}),
    "would_replace": Counter({"DELETE": 1, "POST": 1}),
    "would_register": Counter({"POST": 1}),
    "would_delete": Counter({"DELETE": 1}),
    "unchanged": Counter(),
}


def settings_for(server: SandboxServer, folder: Path, concurrency: int, **plan: Any) -> Settings:
    api = {
        "base_url": server.base_url,
        "token": server.token,
        "concurrency": concurrency,
        "backoff_base": 0.05,
        "backoff_max": 1.0,
    }
    flags = {"api": api, "report": {"report_dir": folder}, "plan": plan}
    return build_settings(flags)  # type: ignore[arg-type]


def execute(path: Path, settings: Settings, command: Command) -> Any:
    return Run(path, settings, command, Hooks(yes=True)).execute()


def soak(scenario: Scenario, seed: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        account, sheet = scenario.write(folder)
        state = folder / "sandbox.sqlite"
        with SandboxServer(SandboxConfig(state_file=state)) as server:
            execute(account, settings_for(server, folder, concurrency), Command.RUN)
        config = SandboxConfig(state_file=state, seed=seed, **FAULTS)
        with SandboxServer(config) as server:
            chosen = settings_for(server, folder, concurrency, prune=True, allow_replace=True)
            plan = execute(sheet, chosen, Command.PLAN)
            planned = {r.normalized_phonenumber: r.status.value for r in plan.results}
            started = time.monotonic()
            applied = execute(sheet, chosen, Command.APPLY)
            seconds = time.monotonic() - started
            again = execute(sheet, chosen, Command.PLAN)
            return _verdict(scenario, server, plan, planned, applied, again, seconds)


def _verdict(  # noqa: PLR0917 - one call site, every part of the check
    scenario: Scenario,
    server: SandboxServer,
    plan: Any,
    planned: dict[str | None, str],
    applied: Any,
    again: Any,
    seconds: float,
) -> dict[str, Any]:
    counts = {k: v for k, v in plan.summary.counts.items() if v}
    wanted = scenario.wanted()
    held = {
        r["phonenumber"]: (r["capabilities"], r["callback_url"], r["name"])
        for r in server.state.records
    }
    writes = server.state.applied_writes()
    doubled = 0
    for number, action in planned.items():
        done = Counter(entry["method"] for entry in writes.get(number or "", []))
        doubled += done != WRITES_PER_ACTION[action]
    return {
        "plan_exact": counts == scenario.expected(),
        "apply_exit": applied.exit_code,
        "differ": sum(held.get(n) != v for n, v in wanted.items()) + len(set(held) - set(wanted)),
        "wrong_writes": doubled,
        "replan_unchanged": again.summary.counts["unchanged"] == len(wanted)
        and sum(again.summary.counts.values()) == len(wanted),
        "faults": sum(1 for entry in server.state.requests if entry["fault"]),
        "seconds": seconds,
        "outcome": {k: v for k, v in applied.summary.counts.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--concurrency", type=int, default=64)
    arguments = parser.parse_args()
    scenario = Scenario()
    print(f"expected plan: {scenario.expected()}", flush=True)
    good = True
    for seed in arguments.seeds:
        result = soak(scenario, seed, arguments.concurrency)
        print(f"seed {seed}: {result}", flush=True)
        good &= result["plan_exact"] and result["apply_exit"] == 0 and result["replan_unchanged"]
        good &= result["differ"] == 0 and result["wrong_writes"] == 0
    print("in step, every action once: " + ("yes" if good else "NO"))


if __name__ == "__main__":
    main()
