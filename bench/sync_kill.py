"""Issue 16's kill campaign: the same `apply --prune --allow-replace`, SIGKILLed and started again.

The sandbox runs in this process and keeps its state; the account is made by `run` of
`account.csv` (bench/sync_data.py's scenario), then `python -m importer.cli apply
sheet.csv --prune --allow-replace --yes` runs as a real subprocess, with one journal. It
is SIGKILLed once the sandbox's request log has seen a seeded random number of applied
writes, started again, `--kills` times; then it runs to the end. One line per kill, then
the verdicts:

    in step           the sandbox equals `Scenario.wanted()`, field by field
    writes exact      per number, the applied writes are the planned ones: PATCH once
                      (update), DELETE then POST once each (replace), POST once (new),
                      DELETE once (removed), nothing (unchanged)
    none left deleted a replaced number is absent only between its DELETE and its POST;
                      one absent at a kill is registered again by the next run that
                      reaches the replace pass (`late` when the next run was itself killed
                      before that pass); none is absent at the end
    report agrees     the last run's report: every sheet row ended well with the sid the
                      sandbox holds; every Deletes row is gone from the sandbox
    final exit        0

    python bench/sync_kill.py [--kills 5] [--seed 1] [--latency-ms 10] [--faults]
                              [--in-replace N]  (N of the kills inside the replace pass)
                              [--accounts 5000 --callbacks 1000 --capabilities 300
                               --new 500 --removed 400] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

from bench.campaign import number  # noqa: E402
from bench.sync_data import Scenario  # noqa: E402
from bench.sync_soak import FAULTS, WRITES_PER_ACTION, execute, settings_for  # noqa: E402
from importer.run import Command  # noqa: E402
from importer.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from importer.sandbox.state import RequestEntry  # noqa: E402

GOOD = frozenset({"updated", "replaced", "registered", "unchanged"})
GONE = frozenset({"deleted", "not_found"})
POLL_S = 0.003


@dataclass
class Kill:
    """One kill: when it was asked for, what the log held once the client was dead."""

    target: int
    applied: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    phase: str = "-"
    absent: int = 0
    finished_first: bool = False


@dataclass
class Campaign:
    """The sandbox, the files, the kills so far."""

    server: SandboxServer
    folder: Path
    sheet: Path
    concurrency: int
    kills: list[Kill] = field(default_factory=list)


def actions(scenario: Scenario) -> dict[str, str]:
    """number → the planned action (the keys of `WRITES_PER_ACTION`)."""
    s = scenario
    planned = {}
    for i in range(s.accounts + s.new):
        if i >= s.accounts:
            action = "would_register"
        elif i >= s.accounts - s.removed:
            action = "would_delete"
        elif i < s.callbacks:
            action = "would_update"
        elif i < s.callbacks + s.capabilities:
            action = "would_replace"
        else:
            action = "unchanged"
        planned[number(i)] = action
    return planned


def client(campaign: Campaign) -> subprocess.Popen[bytes]:
    """`did-import apply sheet.csv --prune --allow-replace --yes` against the sandbox."""
    server, folder = campaign.server, campaign.folder
    env = os.environ | {
        "CARRIERX_BASE_URL": server.base_url,
        "CARRIERX_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    args = [sys.executable, "-m", "importer.cli", "apply", str(campaign.sheet)]
    args += ["--prune", "--allow-replace", "--yes", "--quiet"]
    args += ["--concurrency", str(campaign.concurrency)]
    args += ["--report", str(folder / "report.xlsx"), "--journal", str(folder / "j.sqlite")]
    log = (folder / "client.log").open("ab")
    return subprocess.Popen(args, cwd=folder, env=env, stdout=log, stderr=log)


def applied_count(server: SandboxServer) -> int:
    return sum(map(len, server.state.applied_writes().values()))


def kill_at(campaign: Campaign, target: int) -> Kill:
    """Start a client; SIGKILL it once `target` writes are applied (at least one new)."""
    server = campaign.server
    kill = Kill(target=max(target, applied_count(server) + 1))
    started = time.monotonic()
    process = client(campaign)
    while applied_count(server) < kill.target:
        if process.poll() is not None:
            kill.finished_first = True
            break
        time.sleep(POLL_S)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kill.seconds = time.monotonic() - started
    time.sleep(0.3)  # requests in flight when it died are handled and logged
    return kill


def observe(kill: Kill, server: SandboxServer, planned: dict[str, str]) -> Kill:
    """What the log shows once the client is dead: writes, phase, absent replaced numbers."""
    requests = server.state.requests
    writes = [entry for entry in requests if entry["applied"]]
    kill.applied = len(writes)
    kill.last_seq = requests[-1]["seq"] if requests else 0
    kill.phase = writes[-1]["method"] if writes else "-"
    held = {record["phonenumber"] for record in server.state.records}
    kill.absent = sum(
        1 for n, action in planned.items() if action == "would_replace" and n not in held
    )
    return kill


def make_account(scenario: Scenario, folder: Path, concurrency: int) -> tuple[Path, Path]:
    """account.csv registered by `run` into the state file; the files written."""
    account, sheet = scenario.write(folder)
    state = folder / "sandbox.sqlite"
    with SandboxServer(SandboxConfig(state_file=state)) as server:
        made = execute(account, settings_for(server, folder, concurrency), Command.RUN)
        if made.exit_code != 0:
            raise SystemExit(f"the account's run exited {made.exit_code}")
    return state, sheet


def kill_points(
    scenario: Scenario, total: int, kills: int, seed: int, in_replace: int
) -> list[int]:
    """`kills` applied-write counts, seeded: `in_replace` of them inside the replace pass
    (after the POSTs of the new numbers and the PATCHes; its DELETEs and POSTs), the
    others anywhere."""
    draw = random.Random(seed)
    start = scenario.new + scenario.callbacks
    window = range(start + 1, start + 2 * scenario.capabilities)
    chosen = draw.sample(window, min(in_replace, kills))
    others = [n for n in range(1, total) if n not in chosen]
    return sorted(chosen + draw.sample(others, kills - len(chosen)))


def run_campaign(arguments: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    planned = actions(scenario)
    total = sum(sum(WRITES_PER_ACTION[a].values()) for a in planned.values())
    points = kill_points(scenario, total, arguments.kills, arguments.seed, arguments.in_replace)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        state, sheet = make_account(scenario, folder, arguments.concurrency)
        faults = FAULTS if arguments.faults else {}
        config = SandboxConfig(
            state_file=state, seed=arguments.seed, latency_ms=arguments.latency_ms, **faults
        )
        with SandboxServer(config) as server:
            campaign = Campaign(server, folder, sheet, arguments.concurrency)
            print_head(total)
            for point in points:
                kill = observe(kill_at(campaign, point), server, planned)
                campaign.kills.append(kill)
                print_kill(len(campaign.kills), kill)
            started = time.monotonic()
            last = client(campaign)
            last.wait()
            seconds = time.monotonic() - started
            result = verdicts(campaign, scenario, planned)
    return result | {"final exit": last.returncode, "final run s": round(seconds, 1)}


def print_head(total: int) -> None:
    print(f"planned writes: {total:,}")
    print(
        f"{'kill':>4} {'at writes':>9} {'applied':>8} {'last write':>10} "
        f"{'replaced absent':>15} {'run s':>6}"
    )


def print_kill(n: int, kill: Kill) -> None:
    note = "  (finished first)" if kill.finished_first else ""
    print(
        f"{n:>4} {kill.target:>9} {kill.applied:>8} {kill.phase:>10} {kill.absent:>15} "
        f"{kill.seconds:>6.1f}{note}",
        flush=True,
    )


def verdicts(campaign: Campaign, scenario: Scenario, planned: dict[str, str]) -> dict[str, Any]:
    """Every check of the module doc, from the sandbox, its log and the last report."""
    server = campaign.server
    held = {r["phonenumber"]: r for r in server.state.records}
    writes = server.state.applied_writes()
    wanted = scenario.wanted()
    differ = sum(
        (held[n]["capabilities"], held[n]["callback_url"], held[n]["name"]) != value
        if n in held
        else True
        for n, value in wanted.items()
    )
    wrong = sum(
        Counter(e["method"] for e in writes.get(n, [])) != WRITES_PER_ACTION[action]
        for n, action in planned.items()
    )
    timeline = absences(campaign, planned, writes)
    return {
        "differ": differ + len(set(held) - set(wanted)),
        "wrong writes": wrong,
        **timeline,
        "missing at end": sum(n not in held for n in wanted),
        "report disagrees": report_disagreements(campaign.folder / "report.xlsx", held),
    }


def absences(
    campaign: Campaign, planned: dict[str, str], writes: dict[str, list[RequestEntry]]
) -> dict[str, Any]:
    """The replaced numbers' absences: at each kill, and how soon each came back."""
    bounds = [kill.last_seq for kill in campaign.kills]
    reaching = runs_reaching_deletes(bounds, planned, writes)
    left, late, longest = 0, 0, 0.0
    for n, action in planned.items():
        if action != "would_replace":
            continue
        gone = next((e for e in writes.get(n, []) if e["method"] == "DELETE"), None)
        back = next((e for e in writes.get(n, []) if e["method"] == "POST"), None)
        if gone is None:
            continue
        if back is None or back["seq"] < gone["seq"]:
            left += 1
            continue
        longest = max(longest, back["time"] - gone["time"])
        run_gone, run_back = (bisect.bisect_left(bounds, e["seq"]) for e in (gone, back))
        skipped = [r for r in range(run_gone + 1, run_back) if r in reaching]
        left += bool(skipped)
        late += run_back > run_gone + 1 and not skipped
    return {"left deleted": left, "back late": late, "longest absence s": round(longest, 2)}


def runs_reaching_deletes(
    bounds: list[int], planned: dict[str, str], writes: dict[str, list[RequestEntry]]
) -> set[int]:
    """The runs that got past the replace pass (applied a prune DELETE), and the last run."""
    reached = {len(bounds)}
    for n, action in planned.items():
        if action == "would_delete":
            reached.update(bisect.bisect_left(bounds, e["seq"]) for e in writes.get(n, []))
    return reached


def report_disagreements(report: Path, held: dict[str, dict[str, Any]]) -> int:
    """Rows of the last report that the sandbox contradicts (or wanted rows missing)."""
    book = openpyxl.load_workbook(report, read_only=True)
    try:
        results = sheet_rows(book["Results"])
        deletes = sheet_rows(book["Deletes"]) if "Deletes" in book.sheetnames else []
    finally:
        book.close()
    bad = 0
    for row in results:
        record = held.get(str(row["normalized_phonenumber"]))
        sid = record["external_did_sid"] if record else None
        bad += row["status"] not in GOOD or row["external_did_sid"] != sid
    bad += sum(row["status"] not in GONE or str(row["phonenumber"]) in held for row in deletes)
    return bad + abs(len(held) - len(results))


def sheet_rows(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(name) for name in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--faults", action="store_true", help="the 14 %% fault mix")
    parser.add_argument(
        "--in-replace", type=int, default=0, help="kills drawn inside the replace pass"
    )
    for name, value in vars(Scenario()).items():
        parser.add_argument(f"--{name}", type=int, default=value)
    arguments = parser.parse_args()
    sizes = {name: getattr(arguments, name) for name in vars(Scenario())}
    scenario = Scenario(**sizes)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load {os.getloadavg()}")
    print(f"scenario {sizes}, seed {arguments.seed}, latency {arguments.latency_ms} ms, "
          f"faults {'14 %' if arguments.faults else 'off'}, "
          f"{arguments.in_replace} kill(s) in the replace pass")  # fmt: skip
    result = run_campaign(arguments, scenario)
    print(" ".join(f"{name:>17}" for name in result))
    print(" ".join(f"{value!s:>17}" for value in result.values()))
    clean = result["final exit"] == 0 and result["differ"] == result["wrong writes"] == 0
    clean &= result["left deleted"] == result["missing at end"] == 0
    clean &= result["report disagrees"] == 0
    print("in step, every write once, none left deleted, report agrees: "
          + ("yes" if clean else "NO"))  # fmt: skip


if __name__ == "__main__":
    main()
