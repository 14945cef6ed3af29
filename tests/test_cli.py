"""The command line: help text, exit codes, one-line messages, and the --sandbox demo."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from importer.cli import app
from importer.journal import Journal
from importer.sandbox import SandboxConfig, SandboxServer

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(runner: CliRunner, command: str) -> None:
    """`did-import COMMAND --help` works and shows a description and worked examples."""
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.output
    assert get_command(app).commands[command].help  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_every_option_text_whole(runner: CliRunner, command: str) -> None:
    """No option's help loses words to rich markup (a bare [profiles.NAME] once vanished)."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "1000"})
    shown = " ".join(result.output.split())
    for param in get_command(app).commands[command].params:  # type: ignore[attr-defined]
        text = (getattr(param, "help", None) or "").replace("\\[", "[")
        text = " ".join(text.replace("[dim]", "").replace("[/dim]", "").split())
        assert text in shown, param.name


def test_validate_sample_prints_one_line_summary(runner: CliRunner, tmp_path: Path) -> None:
    """validate exits 1 on the sample (it has bad rows) and prints a one-line summary."""
    report = tmp_path / "out.xlsx"
    result = runner.invoke(
        app, ["validate", str(SAMPLES / "partner_numbers.csv"), "--report", str(report)]
    )
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "partner_numbers.csv: 50 rows checked: 40 ready to register; 10 need attention — see"
        " Errors · 40 would_register, 9 invalid, 1 duplicate · report: "
    )
    assert str(report) in lines[0]
    assert report.exists()


def test_run_sandbox_twice_registers_once(runner: CliRunner, tmp_path: Path) -> None:
    """The README's demo: --sandbox registers the good rows; a second run finds them registered."""
    state = tmp_path / "sandbox.sqlite"
    args = [
        "run",
        str(SAMPLES / "partner_numbers.xlsx"),
        "--sandbox",
        "--sandbox-state",
        str(state),
    ]
    first = runner.invoke(app, [*args, "--report", str(tmp_path / "first.xlsx")])
    assert first.exit_code == 1, first.output
    assert "40 registered" in first.stdout
    second = runner.invoke(app, [*args, "--report", str(tmp_path / "second.xlsx")])
    assert "0 of 50 numbers registered, 40 already registered;" in second.stdout
    counts = second.stdout.split(" · ")[1]
    assert counts == "40 already_registered, 9 invalid, 1 duplicate"
    with SandboxServer(SandboxConfig(state_file=state)) as server:
        numbers = [record["phonenumber"] for record in server.state.records]
    assert len(numbers) == len(set(numbers)) == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "missing.xlsx"], "missing.xlsx"),
        (["validate", "{no_phone}"], "no phone-number column"),
        (
            ["validate", str(SAMPLES / "partner_numbers.csv"), "--config", "{bad_config}"],
            "bad.toml",
        ),
        (["run", str(SAMPLES / "partner_numbers.csv"), "--concurrency", "0"], "concurrency"),
    ],
    ids=["missing-file", "no-phone-column", "bad-config", "bad-option"],
)
def test_unusable_input_is_exit_2_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    """Unusable input or configuration: exit 2, one line on stderr, no traceback."""
    no_phone = tmp_path / "no_phone.csv"
    no_phone.write_text("Name,Caps\nx,3\n", encoding="utf-8")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[api\n", encoding="utf-8")
    args = [a.format(no_phone=no_phone, bad_config=bad_config) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_bad_token_is_exit_3_and_never_printed(
    runner: CliRunner, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A token the API refuses: exit 3, the reason on stderr, the token itself nowhere."""
    env = {"CARRIERX_BASE_URL": sandbox.base_url, "CARRIERX_TOKEN": "not-a-real-token-123"}
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--report", str(tmp_path / "r.xlsx")]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 3, result.output
    assert "401" in result.stderr
    assert "not-a-real-token-123" not in result.output


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    """The module entry point runs in a real process and maps errors to exit codes."""
    done = subprocess.run(
        [sys.executable, "-m", "importer.cli", "validate", str(tmp_path / "absent.csv")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("did-import: ")
    assert "Traceback" not in done.stderr


# -- scheduled runs: inbox, profiles, logs, notifications (issue 8) -------------------------

INBOX_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "inbox"


def sandbox_env(server: SandboxServer) -> dict[str, str]:
    """Environment pointing a command at the sandbox."""
    return {"CARRIERX_BASE_URL": server.base_url, "CARRIERX_TOKEN": server.token}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An inbox holding a good file and one without a phone-number column."""
    (tmp_path / "inbox" / "incoming").mkdir(parents=True)
    for name in ("good.csv", "no_phone.csv"):
        shutil.copy(INBOX_FIXTURES / name, tmp_path / "inbox" / "incoming" / name)
    return tmp_path / "inbox"


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


def test_inbox_once_then_nothing_to_do(
    runner: CliRunner, sandbox: SandboxServer, inbox: Path
) -> None:
    """`inbox DIR`: files to done/ and failed/, exit = worst file (2); again: exit 0."""
    first = runner.invoke(app, ["inbox", str(inbox), "--settle", "0"], env=sandbox_env(sandbox))
    assert first.exit_code == 2, first.output
    assert "good.csv → done/" in first.stderr
    assert "no_phone.csv → failed/" in first.stderr
    assert [p.name.split("_", 1)[1] for p in (inbox / "done").iterdir()] == ["good.csv"]
    assert [p.name.split("_", 1)[1] for p in (inbox / "failed").iterdir()] == ["no_phone.csv"]
    second = runner.invoke(app, ["inbox", str(inbox), "--settle", "0"], env=sandbox_env(sandbox))
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.stderr


def test_inbox_json_logs_are_one_object_per_line(
    runner: CliRunner, sandbox: SandboxServer, inbox: Path
) -> None:
    """--log-format json: every stderr line is a JSON event; the run ends with inbox_end."""
    args = ["inbox", str(inbox), "--settle", "0", "--log-format", "json"]
    result = runner.invoke(app, args, env=sandbox_env(sandbox))
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("file_")] == [
        "file_start",
        "file_done",
        "file_start",
        "file_failed",
    ]
    assert events[-1]["event"] == "inbox_end"
    assert events[-1]["files"] == {"done": 1, "failed": 1, "duplicate": 0, "pending": 0}


@pytest.mark.parametrize("command", ["run", "inbox"])
def test_no_token_is_exit_2_before_anything_is_sent_or_moved(
    runner: CliRunner, sandbox: SandboxServer, inbox: Path, command: str
) -> None:
    """`run` or `inbox` without a token: one line saying so, exit 2, no request, no file moved."""
    target = SAMPLES / "partner_numbers.csv" if command == "run" else inbox
    unset = dict.fromkeys(("CARRIERX_TOKEN", "CARRIERX_TOKEN_FILE", "CARRIERX_CONFIG"))
    env = {"CARRIERX_BASE_URL": sandbox.base_url, **unset}
    result = runner.invoke(app, [command, str(target)], env=env)  # type: ignore[arg-type]
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"did-import: {command} needs an API token: set CARRIERX_TOKEN or CARRIERX_TOKEN_FILE"
        " (or give --token-file; from Python, the api.token setting)\n"
    )
    assert sandbox.state.requests == []
    assert not Path("reports").exists()  # no report, no journal (the test's own folder)
    assert sorted(p.name for p in (inbox / "incoming").iterdir()) == ["good.csv", "no_phone.csv"]
    assert sorted(p.name for p in inbox.iterdir()) == ["incoming"]


def test_inbox_locked_is_exit_5_one_line(runner: CliRunner, inbox: Path) -> None:
    """Another run holds the lock: exit 5 at once, one line on stderr, nothing moved."""
    (inbox / ".did-import").mkdir()
    with (inbox / ".did-import" / "lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = runner.invoke(app, ["inbox", str(inbox)], env={"CARRIERX_TOKEN": "t"})
    assert result.exit_code == 5, result.output
    assert "holds the lock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(list((inbox / "incoming").iterdir())) == 2


def test_inbox_watch_stops_cleanly_on_sigterm(sandbox: SandboxServer, inbox: Path) -> None:
    """`inbox --watch` keeps polling; SIGTERM ends it with exit 0 after the files are done."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARRIERX_")}
    command = [sys.executable, "-m", "importer.cli", "inbox", str(inbox), "--watch"]
    watcher = subprocess.Popen(
        [*command, "--interval", "0.2", "--settle", "0"],
        env=env | sandbox_env(sandbox),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((inbox / "failed").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.send_signal(signal.SIGTERM)
    _, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert "stopped watching" in err
    assert "Traceback" not in err


def test_run_notify_failure_leaves_the_exit_code(
    runner: CliRunner, sandbox: SandboxServer, tmp_path: Path, dead_url: str
) -> None:
    """--notify-url that cannot be reached: a warning on stderr, the run's exit code unchanged."""
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--report", str(tmp_path / "r.xlsx")]
    result = runner.invoke(app, [*args, "--notify-url", dead_url], env=sandbox_env(sandbox))
    assert result.exit_code == 1, result.output
    assert "40 registered" in result.stdout
    assert "warning: could not send the summary" in result.stderr
    assert "outcome is unchanged" in result.stderr


def test_run_json_logs_end_with_the_summary(
    runner: CliRunner, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """run --log-format json: stderr holds JSON events, the last a run_end with the counts;
    nothing plain goes to stdout (a cron log of `2>&1` holds only JSON lines), even with -v."""
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--report", str(tmp_path / "r.xlsx")]
    result = runner.invoke(app, [*args, "--log-format", "json", "-v"], env=sandbox_env(sandbox))
    assert result.stdout == ""
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert events[-1]["event"] == "run_end"
    assert events[-1]["input"]["mapping"]  # what -v prints for humans
    assert events[-1]["counts"]["registered"] == 40
    assert events[-1]["exit_code"] == 1


def test_json_errors_are_json_too(runner: CliRunner) -> None:
    """With --log-format json even a run-stopping error is one JSON line with its exit code."""
    args = ["run", "missing.csv", "--log-format", "json"]
    result = runner.invoke(app, args, env={"CARRIERX_TOKEN": "t"})
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    error = json.loads(line)
    assert (error["event"], error["exit_code"]) == ("error", 2)
    assert "missing.csv" in error["message"]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["run", "x.csv", "--log-format", "json", "--bogus"], {}),
        (["run"], {"CARRIERX_LOG_FORMAT": "json"}),
    ],
    ids=["flag", "environment"],
)
def test_json_usage_errors_are_json_too(
    runner: CliRunner, args: list[str], env: dict[str, str]
) -> None:
    """Asked for JSON logs, a usage error is one JSON `error` event (exit 2, its hint in it),
    like every other error of the run; a command without JSON logs keeps the human lines."""
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    error = json.loads(line)
    assert (error["event"], error["exit_code"]) == ("error", 2)
    assert error["hint"] == "try 'did-import run --help' for its options and examples"
    human = runner.invoke(app, ["validate"], env={"CARRIERX_LOG_FORMAT": "json"})
    assert human.stderr.startswith("did-import: missing argument 'FILE'\n")


def test_profile_from_did_import_toml_in_the_working_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./did-import.toml is read without --config; --profile picks the partner's mapping."""
    (tmp_path / "did-import.toml").write_text(
        '[defaults]\ndefault_region = "US"\n[profiles.acme.columns]\nphonenumber = "Zeta"\n',
        encoding="utf-8",
    )
    sheet = tmp_path / "acme.csv"
    sheet.write_text("Zeta,Caps\n(205) 797-3091,3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    plain = runner.invoke(app, ["validate", str(sheet)])
    assert plain.exit_code == 2, plain.output
    acme = runner.invoke(app, ["validate", str(sheet), "--profile", "acme"])
    assert acme.exit_code == 0, acme.output
    assert "1 would_register" in acme.stdout


def test_token_file_readable_by_others_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    """A token file with mode 644 is refused: exit 2, one line, the token not shown."""
    token_file = tmp_path / "token"
    token_file.write_text("very-secret-value\n", encoding="utf-8")
    token_file.chmod(0o644)
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--token-file", str(token_file)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "chmod 600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "very-secret-value" not in result.output


def test_run_journals_and_history_lists_the_runs(
    runner: CliRunner, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """`run --journal J` records the run; `history --journal J` lists it with its counts."""
    journal = tmp_path / "journal.sqlite"
    env = {"CARRIERX_BASE_URL": sandbox.base_url, "CARRIERX_TOKEN": sandbox.token}
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--journal", str(journal)]
    result = runner.invoke(app, [*args, "--report", str(tmp_path / "r.xlsx")], env=env)
    assert result.exit_code == 1, result.output
    listed = runner.invoke(app, ["history", "--journal", str(journal)])
    assert listed.exit_code == 0, listed.output
    [line] = listed.stdout.strip().splitlines()
    assert "finished" in line
    assert "exit 1" in line
    assert "40 registered" in line
    assert "partner_numbers.csv" in line


def test_history_without_a_journal_says_so(runner: CliRunner, tmp_path: Path) -> None:
    """`history` on a journal that does not exist yet prints one friendly line, exit 0."""
    listed = runner.invoke(app, ["history", "--journal", str(tmp_path / "none.sqlite")])
    assert listed.exit_code == 0
    assert listed.stdout.strip() == "no runs in the journal yet"


def test_history_shows_the_operation_while_a_run_holds_the_journal(
    runner: CliRunner, tmp_path: Path
) -> None:
    """`history` lists each run's operation, and takes no lock: it works while a run holds one."""
    journal = tmp_path / "journal.sqlite"
    with Journal(journal) as held:
        held.start_run(
            Path("n.csv"), "ab" * 32, "http://api.test", [], fresh=False, operation="delete"
        )
        listed = runner.invoke(app, ["history", "--journal", str(journal)])
    assert listed.exit_code == 0, listed.output
    [line] = listed.stdout.strip().splitlines()
    assert "  delete    running  exit -  n.csv" in line


def test_run_on_a_held_journal_exits_5_in_one_line_and_sends_nothing(
    runner: CliRunner, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """`run` while another run holds its journal: exit 5, one line naming the holder, no request."""
    journal = tmp_path / "journal.sqlite"
    env = {"CARRIERX_BASE_URL": sandbox.base_url, "CARRIERX_TOKEN": sandbox.token}
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--journal", str(journal)]
    with Journal(journal) as held:
        held.lock()
        result = runner.invoke(app, [*args, "--report", str(tmp_path / "r.xlsx")], env=env)
    assert result.exit_code == 5, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"did-import: another run (pid {os.getpid()}, started ")
    assert line.endswith(f") holds {journal}")
    assert sandbox.state.requests == []
    assert not (tmp_path / "r.xlsx").exists()


def test_a2p_messaging_without_campaign_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    """--enable-messaging a2p without --campaign-sid is refused before anything is sent."""
    args = ["run", str(SAMPLES / "partner_numbers.csv"), "--enable-messaging", "a2p"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "campaign" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "fast"], "--latency 'fast'"),
        (["--partner", "name=x"], "name= and token= are required"),
        (["--duplicate-status", "500"], "invalid sandbox option duplicate_status"),
        (["--fail-rate", "2"], "invalid sandbox option fail_rate"),
    ],
    ids=["latency", "partner", "duplicate-status", "fail-rate"],
)
def test_sandbox_bad_option_is_exit_2_one_line(
    runner: CliRunner, args: list[str], message: str
) -> None:
    """A bad sandbox option is refused before serving: exit 2 and one line naming it."""
    result = runner.invoke(app, ["sandbox", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sandbox_command_serves_its_partners_over_http() -> None:
    """`did-import sandbox` prints its URL and token, then answers real requests as configured."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "importer.cli", "sandbox", "--port", str(port)]
    command += ["--partner", "name=acme,token=acme-token,carrier=none", "--duplicate-status", "409"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert f"http://127.0.0.1:{port}/core/v2" in server.stdout.readline()
            assert "acme-token" in server.stdout.readline()
            url = f"http://127.0.0.1:{port}/core/v2/phonenumber/external_dids"
            headers = {"Authorization": "Bearer acme-token"}
            body = {"phonenumber": "12059051025", "capabilities": 3}
            carrier = {"underlying_carrier_sid": "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"}
            assert httpx.post(url, json=body | carrier, headers=headers).status_code == 200
            assert httpx.post(url, json=body | carrier, headers=headers).status_code == 409
            no_carrier = httpx.post(
                url, json=body | {"phonenumber": "12059051026"}, headers=headers
            )
            assert no_carrier.status_code == 422
        finally:
            server.terminate()


def test_sheet_on_a_csv_is_one_warning_not_an_error(runner: CliRunner, tmp_path: Path) -> None:
    """`--sheet` given for a CSV file (which has no sheets) is not silently ignored: one
    warning line on stderr, and the file is validated as usual."""
    args = ["validate", str(SAMPLES / "partner_numbers.csv"), "--report", str(tmp_path / "r.xlsx")]
    result = runner.invoke(app, [*args, "--sheet", "Numbers"])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "did-import: warning: partner_numbers.csv is a CSV file, which has no sheets: the sheet"
        ' "Numbers" is ignored\n'
    )
    assert "40 would_register" in result.stdout
    plain = runner.invoke(app, args)
    assert plain.stderr == ""


# -- the command line's surface (issue 17: a newcomer's first hour) ----------------------


def test_version(runner: CliRunner) -> None:
    """`did-import --version` prints the name and version and exits 0."""
    from importer import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"did-import {__version__}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shows_its_panels_in_one_order(runner: CliRunner, command: str) -> None:
    """Every command is a CliCommand (flags as flags, FILE in usage), and its help panels
    come in the one order of `surface.PANELS`, whichever options it has."""
    from importer.cli.surface import PANELS, CliCommand

    assert isinstance(get_command(app).commands[command], CliCommand)  # type: ignore[attr-defined]
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    lines = result.stdout.splitlines()
    titles = [line.split("─ ")[1].split(" ─")[0] for line in lines if "╭─" in line]
    assert titles == [title for title in ("Arguments", "Options", *PANELS) if title in titles]
    assert "<bool>" not in result.stdout


def test_shell_completion_completes_commands_and_options(tmp_path: Path) -> None:
    """Completion works as `--install-completion` installs it: the shell asks the program
    (`_DID_IMPORT_COMPLETE`) and gets commands and options back."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("_DID_IMPORT")}

    def complete(words: str) -> list[str]:
        env = base | {"_DID_IMPORT_COMPLETE": "complete_bash", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - 1)
        done = subprocess.run(
            [sys.executable, "-m", "importer.cli"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.split()

    assert complete("did-import val") == ["validate"]
    assert complete("did-import run x.csv --conc") == ["--concurrency"]
    script = subprocess.run(
        [sys.executable, "-m", "importer.cli", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "complete -o default -F _did_import_completion did-import" in script


def test_run_sandbox_of_a_missing_file_creates_nothing(runner: CliRunner) -> None:
    """`run nosuch.xlsx --sandbox`: the loader's one line, exit 2, and no sandbox state file."""
    result = runner.invoke(app, ["run", "nosuch.xlsx", "--sandbox"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "did-import: nosuch.xlsx: no such file\n"
    assert not Path("reports").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "numbers.csv", "--report", "-"],
        ["validate", "numbers.csv", "--summary-json", "-"],
        ["validate", "numbers.csv", "--config", "-"],
        ["run", "numbers.csv", "--token-file", "-"],
        ["run", "numbers.csv", "--sandbox", "--sandbox-state", "-"],
        ["plan", "numbers.csv", "--out", "-"],
        ["history", "--journal", "-"],
        ["inbox", "-"],
    ],
)
def test_dash_names_no_file_but_the_input(runner: CliRunner, args: list[str]) -> None:
    """`-` given for an option's file (or the inbox) is a usage error, exit 2, that
    names the option; nothing is written to a file called `-`."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "`-` is not a file here (only FILE reads standard input)" in result.output
    assert not Path("-").exists()
