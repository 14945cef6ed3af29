"""The inbox: files move incoming → processing → done/failed/duplicates, once, under a lock."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from importer.api import RunOutcome, run_import
from importer.config import Settings, build_settings
from importer.errors import ConfigError, InboxBusy, RunStopped
from importer.inbox import (
    FileState,
    InboxRun,
    Runner,
    is_temporary,
    process_inbox,
    watch_inbox,
)
from importer.journal import Journal, iter_history
from importer.sandbox import DEFAULT_CARRIER_SID, Partner, SandboxConfig, SandboxServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "inbox"
GOOD_ROWS = 10  # tests/fixtures/inbox/good.csv: every row registers
BAD_FILE_GOOD_ROWS = 30  # bad_rows.csv: 30 good rows and 9 bad ones


def make_settings(server: SandboxServer | None, tmp_path: Path, **api: object) -> Settings:
    """Settings for the sandbox (else a token never sent): no waits, no settling, reports in tmp."""
    api = {"backoff_base": 0.001, "backoff_max": 0.01} | api
    if server is not None:
        api = {"base_url": server.base_url, "token": server.token} | api
    else:
        api = {"token": "never-sent"} | api
    flags = {"api": api, "inbox": {"settle": 0}, "report": {"report_dir": tmp_path / "reports"}}
    return build_settings(flags)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty inbox folder."""
    root = tmp_path / "inbox"
    root.mkdir()
    return root


def drop(inbox: Path, fixture: str, name: str | None = None) -> Path:
    """Copy a fixture file into the inbox's incoming/ folder (as `name`)."""
    (inbox / "incoming").mkdir(exist_ok=True)
    return Path(shutil.copy(FIXTURES / fixture, inbox / "incoming" / (name or fixture)))


def posts(server: SandboxServer) -> int:
    """Write requests the sandbox received."""
    return sum(1 for entry in server.state.requests if entry["method"] == "POST")


def only(run: InboxRun, name: str) -> Path:
    """The folder where the file `name` ended, from the run's outcome."""
    (outcome,) = [outcome for outcome in run.files if outcome.name == name]
    return outcome.folder


def test_good_and_unusable_files_land_in_done_and_failed(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """A good file goes to done/ with its report and summary; an unusable one to failed/."""
    drop(inbox, "good.csv")
    drop(inbox, "no_phone.csv")
    run = process_inbox(inbox, make_settings(sandbox, tmp_path))
    assert {o.name: (o.state, o.exit_code) for o in run.files} == {
        "good.csv": (FileState.DONE, 0),
        "no_phone.csv": (FileState.FAILED, 2),
    }
    assert run.exit_code == 2
    done = only(run, "good.csv")
    assert done.parent == inbox / "done"
    assert sorted(p.name for p in done.iterdir()) == [
        "good.csv",
        "good.csv.errors.csv",
        "good.csv.results.csv",
        "good.csv.results.xlsx",
        "good.csv.summary.json",
    ]
    summary = json.loads((done / "good.csv.summary.json").read_text(encoding="utf-8"))
    assert summary["report_path"] == str(done / "good.csv.results.xlsx")
    assert summary["input"]["file"] == str(done / "good.csv")
    failed = only(run, "no_phone.csv")
    error = json.loads((failed / "no_phone.csv.error.json").read_text(encoding="utf-8"))
    assert error["exit_code"] == 2
    assert "no phone-number column" in error["error"]
    assert str(failed / "no_phone.csv") in error["error"]
    assert list((inbox / "incoming").iterdir()) == []
    assert list((inbox / "processing").iterdir()) == []
    assert len(sandbox.state.records) == GOOD_ROWS


def test_second_pass_has_nothing_to_do(sandbox: SandboxServer, inbox: Path, tmp_path: Path) -> None:
    """Run again with no new file: nothing is handled, nothing is sent, exit 0."""
    settings = make_settings(sandbox, tmp_path)
    drop(inbox, "good.csv")
    process_inbox(inbox, settings)
    sent = len(sandbox.state.requests)
    again = process_inbox(inbox, settings)
    assert (again.files, again.waiting, again.exit_code) == ((), (), 0)
    assert again.describe() == "nothing to do"
    assert len(sandbox.state.requests) == sent


def test_same_bytes_under_another_name_are_not_imported_again(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """A copy of an imported file, renamed, goes to duplicates/ with a note and sends nothing."""
    settings = make_settings(sandbox, tmp_path)
    drop(inbox, "good.csv")
    first = process_inbox(inbox, settings)
    sent = posts(sandbox)
    drop(inbox, "good.csv", "resend_of_good.csv")
    second = process_inbox(inbox, settings)
    (outcome,) = second.files
    assert (outcome.state, outcome.exit_code) == (FileState.DUPLICATE, 1)
    assert outcome.folder.parent == inbox / "duplicates"
    note = json.loads((outcome.folder / "resend_of_good.csv.duplicate.json").read_text("utf-8"))
    assert first.files[0].job in note["note"]
    assert posts(sandbox) == sent
    assert len(sandbox.state.records) == GOOD_ROWS


def test_a_file_that_failed_may_be_dropped_again(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """Exit 3 (token refused) sends the file to failed/ with its report; the same bytes retry."""
    good = make_settings(sandbox, tmp_path)
    refused = good.model_copy(
        update={"api": good.api.model_copy(update={"token": SecretStr("wrong-token")})}
    )
    drop(inbox, "good.csv")
    first = process_inbox(inbox, refused)
    (outcome,) = first.files
    assert (outcome.state, outcome.exit_code) == (FileState.FAILED, 3)
    assert (outcome.folder / "good.csv.results.xlsx").exists()
    assert outcome.counts["not_attempted"] == GOOD_ROWS
    drop(inbox, "good.csv")
    second = process_inbox(inbox, good)
    assert [(o.state, o.exit_code) for o in second.files] == [(FileState.DONE, 0)]


@pytest.mark.parametrize("name", ["numbers.csv.part", "numbers.tmp", "~$numbers.xlsx", "x.csv~"])
def test_temporary_names_are_left_for_the_next_run(inbox: Path, tmp_path: Path, name: str) -> None:
    """A file whose name says it is still being written stays where it is."""
    path = drop(inbox, "good.csv", name)
    run = process_inbox(inbox, make_settings(None, tmp_path))
    assert (run.files, run.waiting) == ((), (name,))
    assert path.exists()


def test_dotfiles_are_ignored(inbox: Path, tmp_path: Path) -> None:
    """Hidden files (.DS_Store, editors' swap files) are neither imported nor reported."""
    (inbox / ".DS_Store").write_bytes(b"\0")
    run = process_inbox(inbox, make_settings(None, tmp_path))
    assert (run.files, run.waiting) == ((), ())
    assert (inbox / ".DS_Store").exists()


def test_a_file_still_growing_is_left_for_the_next_run(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """A file whose size changes between the two looks stays in incoming/ until it settles."""
    path = drop(inbox, "good.csv")
    settings = make_settings(sandbox, tmp_path)

    def writer_still_busy(_: float) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("+12059051025,3,,,,,late row\n")

    first = process_inbox(inbox, settings, sleep=writer_still_busy)
    assert (first.files, first.waiting) == ((), ("good.csv",))
    assert path.exists()
    second = process_inbox(inbox, settings)
    assert [o.state for o in second.files] == [FileState.DONE]


def test_files_dropped_in_the_inbox_itself_are_picked_up(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """A file put straight into DIR (not incoming/) is handled the same way."""
    shutil.copy(FIXTURES / "good.csv", inbox / "good.csv")
    run = process_inbox(inbox, make_settings(sandbox, tmp_path))
    assert [o.state for o in run.files] == [FileState.DONE]
    assert not (inbox / "good.csv").exists()


@pytest.fixture
def held_lock(inbox: Path) -> Iterator[None]:
    """Another process's lock on the inbox, taken with flock on its own file description."""
    (inbox / ".did-import").mkdir()
    with (inbox / ".did-import" / "lock").open("a+", encoding="utf-8") as handle:
        handle.write("4242\n")
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


@pytest.mark.usefixtures("held_lock")
def test_overlapping_run_exits_5_at_once_and_touches_nothing(inbox: Path, tmp_path: Path) -> None:
    """While another run holds the lock, a run raises InboxBusy (exit 5) and moves nothing."""
    path = drop(inbox, "good.csv")
    started = time.monotonic()
    with pytest.raises(InboxBusy) as caught:
        process_inbox(inbox, make_settings(None, tmp_path))
    assert caught.value.exit_code == 5
    assert "pid 4242" in str(caught.value)
    assert time.monotonic() - started < 1
    assert path.exists()


def stopped_once(outcome_code: int | None) -> tuple[list[int], Runner]:
    """A runner that stops the first run (raising, or returning exit 4), then runs for real."""
    calls: list[int] = []

    def runner(path: Path, settings: Settings) -> RunOutcome:
        calls.append(1)
        if len(calls) > 1:
            return run_import(path, settings)
        if outcome_code is None:
            raise RunStopped("interrupted by SIGTERM")
        outcome = run_import(path, settings)
        return replace(outcome, summary=outcome.summary.model_copy(update={"exit_code": 4}))

    return calls, runner


@pytest.mark.parametrize("outcome_code", [None, 4], ids=["raises-RunStopped", "returns-exit-4"])
def test_a_stopped_run_stays_in_processing_and_resumes_next_time(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path, outcome_code: int | None
) -> None:
    """Exit 4 leaves the job in processing/; the next pass runs it first and finishes it."""
    settings = make_settings(sandbox, tmp_path)
    drop(inbox, "good.csv")
    _, runner = stopped_once(outcome_code)
    first = process_inbox(inbox, settings, runner=runner)
    (stopped,) = first.files
    assert (stopped.state, stopped.exit_code) == (FileState.PENDING, 4)
    assert stopped.folder.parent == inbox / "processing"
    assert (stopped.folder / "good.csv").exists()
    second = process_inbox(inbox, settings, runner=runner)
    (resumed,) = second.files
    assert (resumed.state, resumed.job) == (FileState.DONE, stopped.job)
    numbers = [record["phonenumber"] for record in sandbox.state.records]
    assert len(numbers) == len(set(numbers)) == GOOD_ROWS


def test_a_file_whose_journal_is_held_stays_in_processing_with_exit_5(
    inbox: Path, tmp_path: Path
) -> None:
    """While another run holds the inbox's journal, a file waits in processing/ (exit 5)."""
    drop(inbox, "good.csv")
    (inbox / ".did-import").mkdir()
    with Journal(inbox / ".did-import" / "journal.sqlite") as held:
        held.lock()
        run = process_inbox(inbox, make_settings(None, tmp_path))
    (waiting,) = run.files
    assert (waiting.state, waiting.exit_code, run.exit_code) == (FileState.PENDING, 5, 5)
    assert (waiting.folder / "good.csv").exists()
    assert waiting.folder.parent == inbox / "processing"
    assert waiting.note is not None
    assert "another run (pid " in waiting.note


def test_journal_lives_in_the_inbox_unless_configured(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """Each file's run is journaled in DIR/.did-import/journal.sqlite, so a crash resumes."""
    drop(inbox, "good.csv")
    process_inbox(inbox, make_settings(sandbox, tmp_path))
    assert (inbox / ".did-import" / "journal.sqlite").exists()
    assert not (tmp_path / "reports" / "journal.sqlite").exists()


def test_watch_passes_until_stopped(sandbox: SandboxServer, inbox: Path, tmp_path: Path) -> None:
    """--watch handles files pass after pass and returns once the stop event is set."""
    settings = make_settings(sandbox, tmp_path).model_copy(
        update={"inbox": build_settings({"inbox": {"interval": 0.05, "settle": 0}}).inbox}
    )
    drop(inbox, "good.csv")
    stop = threading.Event()
    passes: list[InboxRun] = []

    def on_pass(run: InboxRun) -> None:
        passes.append(run)
        if len(passes) == 1:
            drop(inbox, "bad_rows.csv")
        if len(passes) == 3:
            stop.set()

    watch_inbox(inbox, settings, stop=stop, on_pass=on_pass)
    handled = [[o.name for o in run.files] for run in passes]
    assert handled == [["good.csv"], ["bad_rows.csv"], []]
    assert len(sandbox.state.records) == GOOD_ROWS + BAD_FILE_GOOD_ROWS


@pytest.mark.parametrize(
    ("name", "temporary"),
    [("a.csv", False), ("a.csv.part", True), ("~$a.xlsx", True), (".a.csv", True)],
)
def test_is_temporary(name: str, temporary: bool) -> None:
    """Names of files still being written or editors' lock files are recognised."""
    assert is_temporary(name) is temporary


def test_a_stray_folder_in_processing_is_left_alone(
    inbox: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder in processing/ that is not a job holding its file is warned about, not run."""
    (inbox / "processing" / "someone-else").mkdir(parents=True)
    run = process_inbox(inbox, make_settings(None, tmp_path))
    assert run.files == ()
    assert (inbox / "processing" / "someone-else").is_dir()
    assert "someone-else: not a job folder" in caplog.text


def test_the_package_exports_the_scheduler_api() -> None:
    """`importer.run_import`, `validate_file`, `process_inbox`, `build_settings` for schedulers."""
    import importer
    import importer.api
    import importer.inbox

    assert importer.run_import is importer.api.run_import
    assert importer.validate_file is importer.api.validate_file
    assert importer.process_inbox is importer.inbox.process_inbox
    assert importer.build_settings is build_settings
    with pytest.raises(AttributeError):
        _ = importer.nothing_here  # type: ignore[attr-defined]


def test_progress_lines_off_a_terminal(
    make_sandbox: Callable[..., SandboxServer],
    inbox: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Off a terminal a run logs `progress` events with rows done, total, rate and ETA."""
    server = make_sandbox(SandboxConfig(latency_ms=10))
    settings = make_settings(server, tmp_path, concurrency=1).model_copy(
        update={"log": build_settings({"log": {"progress_every": 0.05}}).log}
    )
    caplog.set_level(logging.INFO, logger="importer")
    drop(inbox, "good.csv")
    process_inbox(inbox, settings)
    progress = [r.fields for r in caplog.records if getattr(r, "event", "") == "progress"]
    assert progress, "expected at least one progress line"
    assert all(line["total"] == GOOD_ROWS and line["file"] == "good.csv" for line in progress)
    assert all(line["rows_per_second"] > 0 for line in progress)
    assert progress[-1]["done"] > progress[0]["done"] or len(progress) == 1


def test_without_a_token_nothing_is_claimed(inbox: Path, tmp_path: Path) -> None:
    """process_inbox with its own runner and no token: ConfigError, every file left in place."""
    drop(inbox, "good.csv")
    with pytest.raises(ConfigError, match="inbox needs an API token"):
        process_inbox(inbox, make_settings(None, tmp_path, token=None))
    assert sorted(p.name for p in inbox.iterdir()) == ["incoming"]
    assert [p.name for p in (inbox / "incoming").iterdir()] == ["good.csv"]


# -- real processes ------------------------------------------------------------------------


def cli(inbox: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `did-import inbox` in its own process."""
    command = [sys.executable, "-m", "importer.cli", "inbox", str(inbox), *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def sandbox_env(server: SandboxServer, **extra: str) -> dict[str, str]:
    """The environment of a scheduled run against `server`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARRIERX_")}
    return env | {"CARRIERX_BASE_URL": server.base_url, "CARRIERX_TOKEN": server.token} | extra


def test_two_concurrent_runs_one_works_one_exits_on_the_lock(
    sandbox: SandboxServer, inbox: Path
) -> None:
    """Three files and a renamed copy, two runs at once: one does it all, the other exits 5."""
    for fixture in ("good.csv", "bad_rows.csv", "broken.xlsx"):
        drop(inbox, fixture)
    os.utime(drop(inbox, "good.csv", "copy_of_good.csv"), (time.time() + 5, time.time() + 5))
    env = sandbox_env(sandbox)
    runs = [cli(inbox, env, "--settle", "3") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    results = sorted((run.returncode, err) for run, (_, err) in zip(runs, outputs, strict=True))
    (worked, worked_err), (locked, locked_err) = results
    assert (worked, locked) == (2, 5), results
    assert "holds the lock" in locked_err
    assert len(locked_err.strip().splitlines()) == 1
    assert "Traceback" not in worked_err + locked_err
    homes = {
        path.name.split("_", 1)[1]: path.parent.name
        for home in ("done", "failed", "duplicates")
        for path in (inbox / home).iterdir()
    }
    assert homes == {
        "good.csv": "done",
        "bad_rows.csv": "done",
        "broken.xlsx": "failed",
        "copy_of_good.csv": "duplicates",
    }
    for home, stem, report in [
        ("done", "good", "good.csv.results.xlsx"),
        ("done", "bad_rows", "bad_rows.csv.results.xlsx"),
        ("failed", "broken", "broken.xlsx.error.json"),
        ("duplicates", "copy_of_good", "copy_of_good.csv.duplicate.json"),
    ]:
        (job,) = [p for p in (inbox / home).iterdir() if p.name.endswith(f"_{stem}" + p.suffix)]
        assert (job / report).exists(), (home, report)
    assert posts(sandbox) == GOOD_ROWS + BAD_FILE_GOOD_ROWS
    assert len(sandbox.state.records) == GOOD_ROWS + BAD_FILE_GOOD_ROWS


def test_a_killed_run_resumes_from_processing(
    make_sandbox: Callable[..., SandboxServer], inbox: Path
) -> None:
    """SIGKILL mid-file leaves it in processing/; the next run finishes it, nothing twice."""
    server = make_sandbox(SandboxConfig(latency_ms=40))
    drop(inbox, "bad_rows.csv")
    env = sandbox_env(server)
    victim = cli(inbox, env, "--settle", "0", "--concurrency", "1")
    deadline = time.monotonic() + 60
    while len(server.state.records) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    (job,) = (inbox / "processing").iterdir()
    assert (job / "bad_rows.csv").exists()
    assert 5 <= len(server.state.records) < BAD_FILE_GOOD_ROWS
    again = cli(inbox, env, "--settle", "0")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 1, err
    assert (inbox / "done" / job.name / "bad_rows.csv.results.xlsx").exists()
    numbers = [record["phonenumber"] for record in server.state.records]
    assert len(numbers) == len(set(numbers)) == BAD_FILE_GOOD_ROWS


@pytest.mark.parametrize(("mode", "code"), [("--once", 4), ("--watch", 0)])
def test_sigterm_mid_file_stops_cleanly_and_the_next_run_resumes(
    make_sandbox: Callable[..., SandboxServer], inbox: Path, mode: str, code: int
) -> None:
    """SIGTERM mid-file: the file stops (exit 4 once, 0 watching), stays in processing/, resumes."""
    server = make_sandbox(SandboxConfig(latency_ms=40))
    drop(inbox, "bad_rows.csv")
    env = sandbox_env(server)
    victim = cli(inbox, env, mode, "--settle", "0", "--concurrency", "1")
    deadline = time.monotonic() + 60
    while len(server.state.records) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGTERM)
    _, err = victim.communicate(timeout=30)
    assert victim.returncode == code, err
    assert "stays in processing/" in err
    (job,) = (inbox / "processing").iterdir()
    again = cli(inbox, env, "--settle", "0")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 1, err
    assert (inbox / "done" / job.name).is_dir()
    assert posts(server) == BAD_FILE_GOOD_ROWS


# -- the token never leaks ------------------------------------------------------------------

TOKEN = "tok-DISTINCTIVE-7f3a9c2e51d0"  # a test token, distinctive to grep for


class Receiver:
    """A loopback HTTP server that records every POST (a notification endpoint)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/did-import"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A notification endpoint on loopback, shut down after the test."""
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def everything_written(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under `root`, and every member of each zip (xlsx) file, as bytes."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield str(path), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{path}!{member}", archive.read(member)


@pytest.mark.parametrize("source", ["env", "token-file", "refused"])
def test_the_token_is_nowhere_in_any_output(
    make_sandbox: Callable[..., SandboxServer],
    inbox: Path,
    tmp_path: Path,
    receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
    source: str,
) -> None:
    """stdout, stderr (JSON logs), reports, summaries, ledger, journal, notifications: no token."""
    partner = Partner(
        name="partner-z",
        partner_sid="0b7d6c1e-3f4a-4b5c-8d9e-0f1a2b3c4d5e",
        tokens={TOKEN: frozenset({"phonenumber.manage"})},
        default_carrier_sid=DEFAULT_CARRIER_SID,
    )
    server = make_sandbox(SandboxConfig(partners=[partner]))
    token = TOKEN if source != "refused" else TOKEN + "-revoked"
    env = sandbox_env(server, CARRIERX_NOTIFY_URL=receiver.url, CARRIERX_LOG_FORMAT="json")
    if source == "token-file":
        token_file = tmp_path_factory.mktemp("secrets") / "token"
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        del env["CARRIERX_TOKEN"]
        env["CARRIERX_TOKEN_FILE"] = str(token_file)
    else:
        env["CARRIERX_TOKEN"] = token
    for fixture in ("good.csv", "bad_rows.csv", "broken.xlsx"):
        drop(inbox, fixture)
    outputs = []
    for copy in ("", "copy_of_good.csv"):
        if copy:
            drop(inbox, "good.csv", copy)
        run = cli(inbox, env, "--settle", "0")
        outputs.append(run.communicate(timeout=120))
    assert run.returncode == (1 if source != "refused" else 3)
    written = [("stdout/stderr", (out + err).encode()) for out, err in outputs]
    written += [("notification", repr(r).encode()) for r in receiver.requests]
    written += list(everything_written(tmp_path))
    leaks = [where for where, data in written if token.encode() in data]
    assert leaks == []
    assert len(receiver.requests) == 2
    for _, err in outputs:
        assert all(json.loads(line)["event"] for line in err.splitlines()), err
    assert any(where.endswith("journal.sqlite") for where, _ in written)


def test_history_points_at_the_report_in_done(
    sandbox: SandboxServer, inbox: Path, tmp_path: Path
) -> None:
    """Once a job is filed under done/, the journal's history names its report there."""
    drop(inbox, "good.csv")
    run = process_inbox(inbox, make_settings(sandbox, tmp_path))
    (record,) = iter_history(inbox / ".did-import" / "journal.sqlite", 5)
    assert record.report_path == str(only(run, "good.csv") / "good.csv.results.xlsx")
    assert Path(record.report_path).is_file()
