"""Exactly once under faults, interrupts and kills: the fault soak, SIGINT, SIGKILL and resume.

The sandbox runs in this process (it outlives every client); the client runs either in
process (`run_import`, the soak) or as a real `python -m importer.cli run` subprocess
that is interrupted or killed, then started again on the same file and journal.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.campaign import number, report_rows, write_numbers
from importer.api import run_import
from importer.config import build_settings
from importer.journal import iter_history
from importer.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
SandboxFactory = Callable[..., SandboxServer]


def held(server: SandboxServer) -> Counter[str]:
    return Counter(record["phonenumber"] for record in server.state.records)


def sids(server: SandboxServer) -> dict[str, str]:
    return {r["phonenumber"]: r["external_did_sid"] for r in server.state.records}


def post_statuses(server: SandboxServer) -> Counter[int | None]:
    return Counter(e["status"] for e in server.state.requests if e["method"] == "POST")


def lookups(server: SandboxServer) -> list[str]:
    return [e["query"] for e in server.state.requests if "filter=" in (e["query"] or "")]


def assert_exactly_once(server: SandboxServer, report: Path, count: int) -> None:
    """Each number is held once, and the report says registered with the sandbox's sid."""
    assert set(held(server).values()) == {1}
    assert set(held(server)) == {number(i) for i in range(count)}
    expected = {digits: ("registered", sid) for digits, sid in sids(server).items()}
    assert report_rows(report) == expected


# -- the fault soak ------------------------------------------------------------------
def test_fault_soak_registers_every_row_exactly_once(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """2,000 rows against 5 % 429, 5 % 503, 2 % drops, 2 % lost answers: each once, report true."""
    server = make_sandbox(
        fail_rate=0.10,
        fail_statuses=(429, 503),
        drop_rate=0.02,
        lose_answer_rate=0.02,
        seed=20261122,
    )
    count = 2000
    settings = build_settings(
        {
            "api": {
                "base_url": server.base_url,
                "token": server.token,
                "concurrency": 32,
                "max_attempts": 12,
                "backoff_base": 0.01,
                "backoff_max": 0.2,
            },
            "report": {"report_dir": tmp_path},
        }
    )
    started = time.monotonic()
    outcome = run_import(write_numbers(tmp_path / "soak.csv", count), settings)
    assert time.monotonic() - started < 60
    assert outcome.exit_code == 0, outcome.summary.counts
    assert_exactly_once(server, outcome.report_path, count)
    faults = Counter(entry["fault"] for entry in server.state.requests)
    assert min(faults["failed"], faults["dropped"], faults["lost_answer_cut"]) > 0
    statuses = Counter(e["status"] for e in server.state.requests if e["method"] == "POST")
    assert statuses[429] > 0
    assert statuses[422] == 0  # never POSTed again a number that a lost answer had created


# -- real processes: SIGINT, SIGKILL, resume ---------------------------------------------
def cli(server: SandboxServer, tmp_path: Path, source: Path, *extra: str) -> subprocess.Popen[str]:
    """Start `python -m importer.cli run` on `source` against `server`."""
    env = os.environ | {
        "CARRIERX_BASE_URL": server.base_url,
        "CARRIERX_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    args = [
        sys.executable,
        "-m",
        "importer.cli",
        "run",
        str(source),
        "--report",
        str(tmp_path / "report.xlsx"),
        "--journal",
        str(tmp_path / "journal.sqlite"),
        *extra,
    ]
    return subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_records(server: SandboxServer, at_least: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(server.state.records) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.005)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_sigint_stops_with_exit_4_and_the_next_run_resumes(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Ctrl-C: in-flight rows finish, report and journal written, exit 4; the rerun completes."""
    server = make_sandbox(latency_ms=50)
    count = 300
    source = write_numbers(tmp_path / "numbers.csv", count)
    process = cli(server, tmp_path, source, "--concurrency", "4")
    wait_for_records(server, 40, process)
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)
    assert code == 4, (out, err)
    assert "interrupted (SIGINT)" in err
    assert "Traceback" not in err
    first = report_rows(tmp_path / "report.xlsx")
    assert Counter(status for status, _ in first.values())["not_attempted"] > 100
    registered_before = len(server.state.records)

    code, out, err = finish(cli(server, tmp_path, source, "--concurrency", "16"))
    assert code == 0, (out, err)
    assert_exactly_once(server, tmp_path / "report.xlsx", count)
    assert post_statuses(server) == {200: count}  # done rows were not sent again
    assert registered_before < count
    runs = list(iter_history(tmp_path / "journal.sqlite", 5))
    assert [run.status for run in runs] == ["finished", "stopped"]
    assert runs[0].resumed_from == runs[1].run_id


def test_second_sigint_aborts_at_once_and_resume_reconciles(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Two Ctrl-C: requests in flight are cut at once; the rerun looks those rows up first."""
    server = make_sandbox(latency_ms=400)
    count = 60
    source = write_numbers(tmp_path / "numbers.csv", count)
    process = cli(server, tmp_path, source, "--concurrency", "8")
    wait_for_records(server, 8, process)
    time.sleep(0.1)  # the next 8 POSTs are in flight, sleeping in the sandbox
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    cut = time.monotonic()
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    assert code == 4, err
    assert time.monotonic() - cut < 3  # well under the 10 s grace for in-flight requests
    time.sleep(0.5)  # let the sandbox commit what the aborted client had sent

    lookups_before = len(lookups(server))
    code, out, err = finish(cli(server, tmp_path, source))
    assert code == 0, (out, err)
    assert_exactly_once(server, tmp_path / "report.xlsx", count)
    assert post_statuses(server)[422] == 0  # nothing was sent again after it had been created
    assert len(lookups(server)) - lookups_before >= 8  # the cut-off rows were looked up first


def test_killed_runs_resume_to_exactly_once(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    """SIGKILL at three random points, restart each time: each number once, report complete."""
    server = make_sandbox(latency_ms=10)
    count = 400
    source = write_numbers(tmp_path / "numbers.csv", count)
    kill_points = sorted(random.Random(6).sample(range(20, count - 20), 3))
    for point in kill_points:
        process = cli(server, tmp_path, source, "--concurrency", "16")
        wait_for_records(server, point, process)
        process.kill()
        process.communicate(timeout=10)  # reaps it and closes its pipes
    code, out, err = finish(cli(server, tmp_path, source, "--concurrency", "16"))
    assert code == 0, (out, err)
    assert_exactly_once(server, tmp_path / "report.xlsx", count)
    assert post_statuses(server)[422] == 0  # no number was sent again after its POST went out
    runs = list(iter_history(tmp_path / "journal.sqlite", 10))
    assert [run.status for run in runs] == ["finished", "running", "running", "running"]


@pytest.mark.parametrize("fresh", [False, True], ids=["resume", "fresh"])
def test_fresh_starts_over_instead_of_resuming(
    make_sandbox: SandboxFactory, tmp_path: Path, fresh: bool
) -> None:
    """--fresh ignores the unfinished run: done rows are sent again (and found registered)."""
    server = make_sandbox(latency_ms=20)
    count = 80
    source = write_numbers(tmp_path / "numbers.csv", count)
    process = cli(server, tmp_path, source, "--concurrency", "2")
    wait_for_records(server, 10, process)
    process.send_signal(signal.SIGINT)
    assert finish(process)[0] == 4
    done = len(server.state.records)
    code, out, err = finish(cli(server, tmp_path, source, *(["--fresh"] if fresh else [])))
    assert code == 0, (out, err)
    statuses = Counter(status for status, _ in report_rows(tmp_path / "report.xlsx").values())
    if fresh:
        assert statuses == {"already_registered": done, "registered": count - done}
    else:
        assert statuses == {"registered": count}
    assert set(held(server).values()) == {1}
