"""One run at a time: the flock helper, and two real `did-import run` processes on one journal."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.campaign import number, report_rows, write_numbers
from importer.errors import LockHeld
from importer.journal.lock import FileLock, Holder, locked
from importer.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
SandboxFactory = Callable[..., SandboxServer]


class Busy(LockHeld):
    """What these tests raise when the lock is taken."""


def busy(holder: Holder) -> Busy:
    return Busy(holder.describe())


def dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("4242 2025-06-01T09:30:00+00:00\n", "pid 4242, started 2025-06-01T09:30:00+00:00"),
        ("4242\n", "pid 4242"),  # an inbox lock written before the start time was
        ("", "pid unknown"),
        ("garbage", "pid unknown"),
    ],
)
def test_holder_says_what_the_lock_file_says(text: str, described: str) -> None:
    """A lock file's pid and start time, or as much of them as it holds."""
    assert Holder.parse(text).describe() == described


def test_the_holder_writes_its_pid_and_start_time(tmp_path: Path) -> None:
    """The lock file holds the holder's pid and its start time in ISO, to the second, UTC."""
    lock = FileLock(tmp_path / "x.lock")
    lock.acquire(busy)
    pid, started = (tmp_path / "x.lock").read_text(encoding="utf-8").split()
    assert (int(pid), lock.held) == (os.getpid(), True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", started)
    lock.release()
    assert not lock.held


def test_a_held_lock_raises_busy_with_its_holder(tmp_path: Path) -> None:
    """A second holder (even in the same process) gets the caller's exception, naming the first."""
    path = tmp_path / "x.lock"
    with locked(path, busy):
        holder = Holder.parse(path.read_text(encoding="utf-8"))
        with pytest.raises(Busy) as caught, locked(path, busy):
            pass
    assert str(caught.value) == holder.describe()
    assert caught.value.exit_code == 5
    with locked(path, busy):  # released at the end of the block
        pass


def test_acquire_twice_is_one_hold(tmp_path: Path) -> None:
    """`acquire` on a lock already held by the same object does nothing; `release` is idempotent."""
    lock = FileLock(tmp_path / "x.lock")
    lock.acquire(busy)
    lock.acquire(busy)
    lock.release()
    lock.release()
    with locked(tmp_path / "x.lock", busy):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    """A lock file naming a process that no longer exists does not block; we write ourselves in."""
    path = tmp_path / "x.lock"
    path.write_text(f"{dead_pid()} 2025-06-01T09:30:00+00:00\n", encoding="utf-8")
    with locked(path, busy):
        assert Holder.parse(path.read_text(encoding="utf-8")).pid == os.getpid()


def test_a_lock_held_by_another_process_is_busy_until_it_ends(tmp_path: Path) -> None:
    """Another live process's flock is busy; once that process is gone, the lock is free."""
    path = tmp_path / "x.lock"
    script = (
        "import sys, pathlib; from importer.journal.lock import FileLock;"
        " lock = FileLock(pathlib.Path(sys.argv[1])); lock.acquire(None);"
        " print('held', flush=True); sys.stdin.read()"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", script, str(path)]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    with subprocess.Popen(args, **pipes, text=True, env=env) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "held\n"
        with pytest.raises(Busy, match=rf"^pid {child.pid}, started "):
            FileLock(path).acquire(busy)
        child.kill()
    with locked(path, busy):
        pass


def test_the_lock_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """The lock file is created mode 0600."""
    old = os.umask(0)
    try:
        with locked(tmp_path / "x.lock", busy):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.lock").stat().st_mode) == 0o600


# -- two real `did-import run` processes on one journal ----------------------------------


def cli_run(
    server: SandboxServer, tmp_path: Path, source: Path, name: str
) -> subprocess.Popen[str]:
    """Start `python -m importer.cli run` on `source`, its report named after `name`."""
    env = os.environ | {
        "CARRIERX_BASE_URL": server.base_url,
        "CARRIERX_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    args = [
        *(sys.executable, "-m", "importer.cli", "run", str(source)),
        *("--report", str(tmp_path / f"{name}.xlsx")),
        *("--journal", str(tmp_path / "journal.sqlite")),
        *("--concurrency", "4"),
    ]
    return subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@dataclass(frozen=True, slots=True)
class Ended:
    """A finished process: its pid, exit code, stdout and stderr."""

    pid: int
    code: int
    out: str
    err: str


def finish(process: subprocess.Popen[str]) -> Ended:
    out, err = process.communicate(timeout=120)
    return Ended(process.pid, process.returncode, out, err)


def test_two_runs_on_one_journal_one_works_the_other_exits_5(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Two `run`s started together on one journal: one registers each number once, one exits 5."""
    server = make_sandbox(
        latency_ms=50
    )  # ~2 s of POSTs: the winner still runs when the other starts
    count = 160
    source = write_numbers(tmp_path / "numbers.csv", count)
    processes = {name: cli_run(server, tmp_path, source, name) for name in ("a", "b")}
    ended = {name: finish(process) for name, process in processes.items()}
    assert sorted(end.code for end in ended.values()) == [0, 5], ended
    (winner,) = (name for name, end in ended.items() if end.code == 0)
    (loser,) = (name for name, end in ended.items() if end.code == 5)
    journal = tmp_path / "journal.sqlite"
    pid, started = journal.with_name("journal.sqlite.lock").read_text(encoding="utf-8").split()
    assert int(pid) == ended[winner].pid
    busy_line = f"did-import: another run (pid {pid}, started {started}) holds {journal}"
    assert (ended[loser].err.splitlines(), ended[loser].out) == ([busy_line], "")
    assert not (tmp_path / f"{loser}.xlsx").exists()
    held = Counter(record["phonenumber"] for record in server.state.records)
    assert held == Counter({number(i): 1 for i in range(count)})
    report = report_rows(tmp_path / f"{winner}.xlsx")
    assert Counter(status for status, _ in report.values()) == {"registered": count}
    posts = Counter(e["status"] for e in server.state.requests if e["method"] == "POST")
    assert posts == {200: count}  # before the lock, both POSTed every number (the 2nd got 422)
    assert len(server.state.requests) == count + 1  # the winner's preflight and POSTs: no more
