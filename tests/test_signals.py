"""Stop requests: the switch's two stages, SIGINT/SIGTERM wired to it while a run lasts, and
real processes interrupted while they read a file (exit 4, one line, a report, no orphan)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import Popen

import pytest

from importer.signals import (
    Interrupted,
    SignalStop,
    StopSwitch,
    catch_signals,
    stop_on_signals,
)


def test_first_request_stops_second_aborts() -> None:
    """The first request records its reason; the second only marks the abort."""
    switch = StopSwitch()
    assert not switch.requested
    switch.request("SIGINT")
    assert (switch.requested, switch.aborted, switch.reason) == (True, False, "SIGINT")
    switch.request("SIGTERM")
    assert (switch.aborted, switch.reason) == (True, "SIGINT")


def test_waiters_wake_on_request_and_on_abort() -> None:
    """wait() returns after the first request, wait(abort=True) only after the second."""
    switch = StopSwitch()

    async def go() -> list[str]:
        woke: list[str] = []

        async def waiter(abort: bool) -> None:
            await switch.wait(abort=abort)
            woke.append("abort" if abort else "stop")

        tasks = [asyncio.create_task(waiter(False)), asyncio.create_task(waiter(True))]
        await asyncio.sleep(0)
        switch.request("SIGINT")
        await asyncio.sleep(0.01)
        assert woke == ["stop"]
        switch.request("SIGINT")
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(go()) == ["stop", "abort"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_flip_the_switch_and_handlers_are_restored(sig: signal.Signals) -> None:
    """Inside catch_signals a signal requests a stop (no KeyboardInterrupt); outside, as before."""
    switch = StopSwitch()
    before = signal.getsignal(sig)

    async def go() -> None:
        with catch_signals(switch):
            os.kill(os.getpid(), sig)
            await asyncio.wait_for(switch.wait(), timeout=5)

    asyncio.run(go())
    assert switch.reason == sig.name
    assert signal.getsignal(sig) == before


def test_stop_on_signals_turns_a_signal_into_a_request_and_restores_handlers() -> None:
    """Inside stop_on_signals a SIGTERM flips the switch and the process goes on; then as before."""
    switch = StopSwitch()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(switch):
        os.kill(os.getpid(), signal.SIGTERM)
        assert switch.reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before


def test_abrupt_raises_interrupted_once_and_only_inside() -> None:
    """Inside `abrupt()` a signal raises Interrupted (once); outside it only flips the switch."""
    switch = StopSwitch()

    def cut_short(signals: SignalStop) -> None:
        with signals.abrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler runs at the next bytecode: never slept out

    with stop_on_signals(switch) as signals:
        with pytest.raises(Interrupted, match="SIGINT"):
            cut_short(signals)
        os.kill(os.getpid(), signal.SIGINT)  # outside: a second request, an abort
    assert (switch.reason, switch.aborted) == ("SIGINT", True)


def test_catch_signals_gives_back_the_handlers_it_found() -> None:
    """After the upload's loop handlers, a SIGTERM is the run's stop request again, not a kill."""
    switch = StopSwitch()

    async def upload() -> None:
        with catch_signals(switch):
            await asyncio.sleep(0)

    with stop_on_signals(switch):
        asyncio.run(upload())
        os.kill(os.getpid(), signal.SIGTERM)
    assert switch.reason == "SIGTERM"


# -- a real process interrupted while it reads the file --------------------------------------

BIG_ROWS = 300_000  # about 4.5 MB: the helper process starts; validating takes seconds


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV of 300,000 valid US numbers (a few repeated), shared by the interrupt tests."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = random.Random(15)
    lines = (f"+1205{rng.randrange(2_000_000, 10_000_000)},3\n" for _ in range(BIG_ROWS))
    path.write_text("Phone Number,Capabilities\n" + "".join(lines), encoding="utf-8")
    return path


def children(pid: int) -> set[int]:
    """The processes `pid` started that are still alive (from /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for init to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_reading(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[Popen, set[int]]:
    """Start `did-import COMMAND` in its own process group; return once its helper runs.

    The helper process is started as the file starts being read: once it is there, the
    process is reading (validating 300,000 rows takes seconds, more on a busy box).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "importer.cli", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a Ctrl-C or a `kill` of the group reaches its helper too
    )
    deadline = time.monotonic() + 60
    while not any("spawn_main" in _cmdline(child) for child in children(process.pid)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the helper process never started"
        time.sleep(0.02)
    return process, children(process.pid)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def assert_no_orphan(helpers: set[int]) -> None:
    """Every process the run had started ends with it (within a few seconds)."""
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in helpers if alive(pid)] == []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_signal_while_the_file_is_read_ends_with_exit_4_and_a_report(
    big_csv: Path, tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    """SIGINT/SIGTERM while validating: exit 4, one line, no traceback, a report, no orphan."""
    report, summary = tmp_path / "big.results.xlsx", tmp_path / "summary.json"
    args = [command, str(big_csv), "--report", str(report), "--summary-json", str(summary)]
    args += ["--sandbox", "--sandbox-state", str(tmp_path / "sandbox.sqlite")] * (command == "run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARRIERX_")}
    process, helpers = start_reading(args, tmp_path, env)
    # well inside the read: `validate` judges chunks as it reads them (~1 s a chunk pair);
    # `run` reads its whole file first (300k rows: about a second), then judges and sends
    time.sleep(1 if command == "validate" else 0.3)
    os.killpg(process.pid, sig)  # as Ctrl-C in a terminal, or systemd stopping the unit
    out, err = process.communicate(timeout=120)
    assert process.returncode == 4, (out, err)
    (line,) = err.splitlines()
    assert line.startswith(f"did-import: interrupted ({sig.name}) while validating; ")
    stopped_at = re.search(r"; the read stopped after row ([\d,]+); ", line)
    assert stopped_at is not None, line
    assert ("resume" in line) == (command == "run")
    assert "exit 4" in out
    assert report.exists()
    facts = json.loads(summary.read_text(encoding="utf-8"))
    assert facts["exit_code"] == 4
    assert facts["stopped_reason"] == line.removeprefix("did-import: ")
    assert 0 < facts["input"]["data_rows"] < BIG_ROWS
    assert facts["input"]["data_rows"] + 1 == int(stopped_at[1].replace(",", ""))  # header: row 1
    assert_no_orphan(helpers)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc (Linux)")
def test_an_inbox_file_interrupted_while_read_waits_in_processing(
    big_csv: Path, tmp_path: Path
) -> None:
    """SIGTERM while an inbox file is validated: exit 4, the file and its report stay pending."""
    inbox = tmp_path / "inbox"
    (inbox / "incoming").mkdir(parents=True)
    shutil.copy(big_csv, inbox / "incoming" / "big.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARRIERX_")}
    env |= {"CARRIERX_TOKEN": "never-sent", "CARRIERX_BASE_URL": "http://127.0.0.1:9/v2"}
    process, helpers = start_reading(["inbox", str(inbox), "--settle", "0"], tmp_path, env)
    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 4, err
    assert "Traceback" not in err
    assert "interrupted (SIGTERM) while validating" in err
    assert "stays in processing/" in err
    (job,) = (inbox / "processing").iterdir()
    assert (job / "big.csv.results.xlsx").exists()
    assert_no_orphan(helpers)
