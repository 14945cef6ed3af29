"""One Run owns a run's life: the library notifies, stops are heeded at every stage, progress.

`run_import`, `validate_file`, the CLI and the inbox are thin callers of `Run`; these
tests pin what moved into it: the `--notify-url` POST (sent once, by the library),
a stop before anything is sent, a signal cutting a remote check short, row progress.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_notify import Receiver
from test_streaming import StopAt
from typer.testing import CliRunner

from importer.api import run_import, validate_file
from importer.cli import app
from importer.config import Settings, build_settings
from importer.errors import JournalBusy
from importer.journal import held
from importer.models import Status
from importer.run import Command, Hooks, Run
from importer.sandbox import SandboxServer
from importer.signals import StopSwitch
from importer.validate import streaming

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "partner_numbers.csv"
GOOD_ROWS = 40  # the sample's rows that register


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback notification endpoint answering 204."""
    server = Receiver([])
    yield server
    server.close()


def settings_for(server: SandboxServer | None, tmp_path: Path, **sections: object) -> Settings:
    """Settings for the sandbox (or a token never sent), reports and journal in tmp_path."""
    api: dict[str, object] = {"token": "never-sent"}
    if server is not None:
        api = {"base_url": server.base_url, "token": server.token}
    flags: dict[str, dict[str, object]] = {"api": api, "report": {"report_dir": tmp_path}}
    return build_settings(flags | sections)  # type: ignore[arg-type]


def test_run_import_alone_notifies(
    sandbox: SandboxServer, tmp_path: Path, receiver: Receiver
) -> None:
    """A scheduler calling run_import gets the JSON summary POSTed, once, with no CLI."""
    chosen = settings_for(sandbox, tmp_path, notify={"url": receiver.url})
    outcome = run_import(SAMPLE, chosen)
    assert outcome.summary.counts["registered"] == GOOD_ROWS
    (request,) = receiver.requests
    body = json.loads(request[1])
    assert (body["mode"], body["exit_code"]) == ("run", outcome.exit_code)
    assert body["counts"] == outcome.summary.counts
    assert sandbox.token not in request[1].decode()


def test_a_dry_run_notifies_nobody(tmp_path: Path, receiver: Receiver) -> None:
    """validate_file never POSTs the summary, even with a notification URL set."""
    validate_file(SAMPLE, settings_for(None, tmp_path, notify={"url": receiver.url}))
    assert receiver.requests == []


def test_the_cli_run_notifies_once(
    sandbox: SandboxServer, tmp_path: Path, receiver: Receiver
) -> None:
    """`run --notify-url`: one POST (the library's), not one more from the command line."""
    args = ["run", str(SAMPLE), "--report", str(tmp_path / "r.xlsx"), "--notify-url", receiver.url]
    env = {"CARRIERX_BASE_URL": sandbox.base_url, "CARRIERX_TOKEN": sandbox.token}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    assert len(receiver.requests) == 1


def test_a_run_stopped_before_sending_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Stopped while reading: exit 4, a report whose valid rows are not_attempted, no request."""
    switch = StopSwitch()
    switch.request("SIGTERM")
    chosen = settings_for(sandbox, tmp_path)
    outcome = Run(SAMPLE, chosen, Command.RUN, Hooks(stop=switch)).execute()
    assert outcome.exit_code == 4
    assert str(outcome.stopped_by) == (
        "interrupted (SIGTERM) while validating; the read stopped before the first row;"
        " nothing was sent; run the same file again to resume"
    )
    assert outcome.report_path.exists()
    assert outcome.summary.input.data_rows == 0
    assert sandbox.state.requests == []
    assert not (tmp_path / "journal.sqlite").exists()  # nothing was sent: nothing to journal


def test_a_stopped_run_marks_its_valid_rows_not_attempted(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Rows read before the stop are in the report: valid ones not_attempted, the rest as judged."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(streaming, "CHUNK_ROWS", 20)
        hooks = Hooks(stop=StopAt(2))  # after the first chunk
        outcome = Run(SAMPLE, settings_for(sandbox, tmp_path), hooks=hooks).execute()
    assert outcome.exit_code == 4
    assert len(outcome.results) == 20
    assert Status.WOULD_REGISTER not in {result.status for result in outcome.results}
    assert outcome.summary.counts["not_attempted"] > 0
    assert "the read stopped after row 21;" in str(outcome.stopped_by)
    assert sandbox.state.requests == []


def test_a_signal_cuts_the_remote_check_short(tmp_path: Path) -> None:
    """SIGTERM during --check-remote's lookups: exit 4, unchecked rows say remote.not_checked."""

    def handler(request: httpx.Request) -> httpx.Response:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal's handler raises at the next bytecode: never slept out
        return httpx.Response(200, json={"items": [], "has_more": False})

    hooks = Hooks(transport=httpx.MockTransport(handler), handle_signals=True)
    chosen = settings_for(None, tmp_path)
    started = time.monotonic()
    outcome = Run(SAMPLE, chosen, Command.CHECK_REMOTE, hooks).execute()
    assert time.monotonic() - started < 4
    assert outcome.exit_code == 4
    assert str(outcome.stopped_by).startswith("interrupted (SIGTERM) while checking the API; ")
    valid = [r for r in outcome.results if r.status is Status.WOULD_REGISTER]
    assert len(valid) == GOOD_ROWS
    assert all("remote.not_checked" in {issue.code for issue in r.issues} for r in valid)


def test_a_run_logs_progress_events(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """run_import follows its rows: `progress` events with the total to send, off a terminal."""
    chosen = settings_for(sandbox, tmp_path, log={"progress_every": 1e-9})
    started: list[int] = []
    with caplog.at_level(logging.INFO, logger="importer"):
        run_import(SAMPLE, chosen, on_start=started.append)
    progress = [r.fields for r in caplog.records if getattr(r, "event", "") == "progress"]
    assert started == [GOOD_ROWS]
    assert progress
    assert {line["total"] for line in progress} == {GOOD_ROWS}
    assert progress[-1]["done"] == GOOD_ROWS


def test_a_stop_as_the_read_ends_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Stopped once the file is read, before the journal opens: every row in, nothing sent."""
    hooks = Hooks(stop=StopAt(2))  # the stream looks once (one chunk), the run then
    outcome = Run(SAMPLE, settings_for(sandbox, tmp_path), hooks=hooks).execute()
    assert outcome.exit_code == 4
    assert "while validating; the whole file was read; nothing was sent;" in str(outcome.stopped_by)
    assert outcome.summary.counts["not_attempted"] == GOOD_ROWS
    assert sandbox.state.requests == []
    assert not (tmp_path / "journal.sqlite").exists()


def test_a_held_journal_stops_a_run_before_its_file_is_read(tmp_path: Path) -> None:
    """A run takes the journal's lock first: with it held, even a damaged file gives exit 5."""
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    chosen = settings_for(None, tmp_path)
    with held(tmp_path / "journal.sqlite"), pytest.raises(JournalBusy) as busy:
        run_import(damaged, chosen)
    assert busy.value.exit_code == 5
    assert f"pid {os.getpid()}" in str(busy.value)
    assert not (tmp_path / "damaged.results.xlsx").exists()
