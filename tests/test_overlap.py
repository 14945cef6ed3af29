"""`run` sends while later chunks are judged (issue 15: one validation pipeline).

The first POST leaves before the last chunk is judged; the report is the one a run
judging everything first writes; a run killed while later chunks were still judged
resumes to each number once; a file unusable past its first chunk sends nothing.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_resume import (
    ROOT,
    SandboxFactory,
    assert_exactly_once,
    cli,
    finish,
    post_statuses,
)
from test_run import SAMPLE, settings_for

from bench.campaign import write_numbers
from importer.errors import ImporterError
from importer.models import Status
from importer.run import Command, Hooks, Run, overlap
from importer.sandbox import SandboxServer
from importer.validate import streaming
from importer.validate.chunks import ChunkJudge, Judged

POSTS_WAIT_SECONDS = 10.0


def posts(server: SandboxServer) -> int:
    return sum(entry["method"] == "POST" for entry in server.state.requests)


def test_the_first_post_leaves_before_the_last_chunk_is_judged(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 10 rows; every chunk after the first waits (up to 10 s) for a POST: the
    run sends the first chunk's rows while the others are still being judged."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 10)
    judge = ChunkJudge.judge
    order: list[tuple[str, int]] = []

    def slow_judge(self: ChunkJudge, chunk: list[Any], *, as_lines: bool) -> Judged:
        if order:  # not the first chunk: judged once a POST went out (or the wait ran out)
            deadline = time.monotonic() + POSTS_WAIT_SECONDS
            while not posts(sandbox) and time.monotonic() < deadline:
                time.sleep(0.01)
        order.append(("judged", posts(sandbox)))
        return judge(self, chunk, as_lines=as_lines)

    monkeypatch.setattr(ChunkJudge, "judge", slow_judge)
    started = time.monotonic()
    outcome = Run(SAMPLE, settings_for(sandbox, tmp_path), Command.RUN).execute()
    assert time.monotonic() - started < POSTS_WAIT_SECONDS
    assert len(order) == 5
    assert order[0] == ("judged", 0)  # nothing is sent before a chunk is judged
    assert order[-1][1] > 0  # the last chunk was judged after POSTs had left
    assert outcome.summary.counts["registered"] == 40
    assert posts(sandbox) == 40


def test_the_report_is_the_one_of_a_run_judging_everything_first(
    make_sandbox: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7 rows sent as they come, or one chunk (judged whole before any POST):
    the same rows, statuses, issues and counts, in the same order."""
    outcomes = []
    for chunk_rows in (7, 12_500):
        monkeypatch.setattr(streaming, "CHUNK_ROWS", chunk_rows)
        folder = tmp_path / str(chunk_rows)
        outcomes.append(Run(SAMPLE, settings_for(make_sandbox(), folder)).execute())
    chunked, whole = outcomes
    assert [(r.row, r.status, r.issues) for r in chunked.results] == [
        (r.row, r.status, r.issues) for r in whole.results
    ]
    assert chunked.summary.counts == whole.summary.counts
    assert chunked.summary.input == whole.summary.input
    assert chunked.exit_code == whole.exit_code == 1


def test_a_file_damaged_past_its_first_chunk_sends_nothing(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte that does not decode in the last chunk: exit 2, no request, no journal (the
    file is read to its end before any row is handed to the sending)."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 10)
    damaged = tmp_path / "damaged.csv"
    damaged.write_bytes(SAMPLE.read_bytes() + "+12059051099,3,caf\u00e9\n".encode())
    damaged.write_bytes(damaged.read_bytes() + b"+12059051098,3,\xff\xfe\n")
    with pytest.raises(ImporterError) as error:
        Run(damaged, settings_for(sandbox, tmp_path / "out")).execute()
    assert error.value.exit_code == 2
    assert sandbox.state.requests == []
    assert not (tmp_path / "out" / "journal.sqlite").exists()


SLOW_CLI = """
import sys, time
from importer.validate import chunks, streaming
streaming.CHUNK_ROWS = 40
judge = chunks.ChunkJudge.judge
def slow(self, chunk, *, as_lines):
    time.sleep(0.3)
    return judge(self, chunk, as_lines=as_lines)
chunks.ChunkJudge.judge = slow
from importer.cli import app
sys.argv[0] = "did-import"
app()
"""


def test_a_run_killed_while_later_chunks_are_judged_resumes_to_exactly_once(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """SIGKILL once rows are registered but before the last chunk is journaled (chunks of
    40 rows judged 0.3 s each), then a plain rerun: each number once, the report complete,
    nothing sent again after its POST went out."""
    server = make_sandbox(latency_ms=10)
    count = 400
    source = write_numbers(tmp_path / "numbers.csv", count)
    process = _slow_cli(server, tmp_path, source)
    deadline = time.monotonic() + 60
    while len(server.state.records) < 20:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.005)
    process.kill()
    process.communicate(timeout=10)
    journaled = _journaled_rows(tmp_path / "journal.sqlite")
    assert 0 < journaled < count  # killed mid-stream: later chunks were not judged yet
    code, out, err = finish(cli(server, tmp_path, source, "--concurrency", "16"))
    assert code == 0, (out, err)
    assert_exactly_once(server, tmp_path / "report.xlsx", count)
    assert post_statuses(server)[422] == 0


def _slow_cli(server: SandboxServer, tmp_path: Path, source: Path) -> subprocess.Popen[str]:
    """`did-import run` with chunks of 40 rows, each judged 0.3 s slower."""
    env = os.environ | {
        "CARRIERX_BASE_URL": server.base_url,
        "CARRIERX_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    args = [sys.executable, "-c", SLOW_CLI, "run", str(source), "--concurrency", "4"]
    args += ["--report", str(tmp_path / "report.xlsx")]
    args += ["--journal", str(tmp_path / "journal.sqlite")]
    return subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _journaled_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from rows").fetchone()[0])


def test_a_stop_while_later_chunks_are_judged_reports_every_row(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop once sending began: the rest of the file is still judged (the report holds
    every row), nothing more is sent, exit 4, and the rows not sent are not_attempted."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 10)
    judge = ChunkJudge.judge
    hooks = Hooks()
    run = Run(SAMPLE, settings_for(sandbox, tmp_path), Command.RUN, hooks)
    stopped = threading.Event()

    def stopping_judge(self: ChunkJudge, chunk: list[Any], *, as_lines: bool) -> Judged:
        if not stopped.is_set() and chunk[0].number > 20:
            deadline = time.monotonic() + POSTS_WAIT_SECONDS
            while not posts(sandbox) and time.monotonic() < deadline:
                time.sleep(0.01)
            run.switch.request("SIGTERM")
            stopped.set()
        return judge(self, chunk, as_lines=as_lines)

    monkeypatch.setattr(ChunkJudge, "judge", stopping_judge)
    outcome = run.execute()
    assert outcome.exit_code == 4
    assert outcome.summary.input.data_rows == 50
    counts = outcome.summary.counts
    assert counts["registered"] + counts["not_attempted"] == 40
    assert counts["not_attempted"] > 0
    assert Status.WOULD_REGISTER not in {result.status for result in outcome.results}


def test_the_judging_waits_for_the_sending_to_catch_up(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paced: a chunk after the first is judged only once every row handed over before it
    was sent (room for one row), not all at once while the first rows are sent."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 10)
    monkeypatch.setattr(overlap, "AHEAD_ROWS", 1)
    monkeypatch.setattr(overlap, "ROOM_WAIT_SECONDS", 60.0)  # the safety net never paces
    judge = ChunkJudge.judge
    posts_when_judged: list[int] = []

    def counting_judge(self: ChunkJudge, chunk: list[Any], *, as_lines: bool) -> Judged:
        posts_when_judged.append(posts(sandbox))
        return judge(self, chunk, as_lines=as_lines)

    monkeypatch.setattr(ChunkJudge, "judge", counting_judge)
    started = time.monotonic()
    outcome = Run(SAMPLE, settings_for(sandbox, tmp_path), Command.RUN).execute()
    assert time.monotonic() - started < POSTS_WAIT_SECONDS
    assert outcome.summary.counts["registered"] == 40
    first, *later = posts_when_judged
    assert first == 0
    assert len(later) == 4
    assert all(b > a > 0 for a, b in itertools.pairwise([first + 1, *later]))


def test_pacing_waits_for_the_chunk_posted_and_for_room() -> None:
    """`room` waits until the loop has fed every chunk posted and fewer than
    `AHEAD_ROWS` rows wait to be sent; `release` frees it for good."""
    pacing = overlap.Pacing()
    pacing.room()  # nothing posted, nothing to send: at once
    pacing.posted()
    assert not _returns_soon(pacing.room)
    pacing.handed(overlap.AHEAD_ROWS)
    assert not _returns_soon(pacing.room)
    pacing.settled(None)  # type: ignore[arg-type]
    assert _returns_soon(pacing.room)
    pacing.handed(overlap.AHEAD_ROWS)
    pacing.posted()
    assert not _returns_soon(pacing.room)
    pacing.release()
    assert _returns_soon(pacing.room)


def _returns_soon(wait: Any) -> bool:
    """Whether `wait()` returns within a quarter of a second (checked in a thread)."""
    done = threading.Event()
    threading.Thread(target=lambda: (wait(), done.set()), daemon=True).start()
    return done.wait(0.25)
