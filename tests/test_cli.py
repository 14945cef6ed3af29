"""The command line: help text, exit codes, one-line messages, and the --sandbox demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from importer.cli import app
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


def test_validate_sample_prints_one_line_summary(runner: CliRunner, tmp_path: Path) -> None:
    """validate exits 1 on the sample (it has bad rows) and prints a one-line summary."""
    report = tmp_path / "out.xlsx"
    result = runner.invoke(
        app, ["validate", str(SAMPLES / "partner_numbers.csv"), "--report", str(report)]
    )
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "40 would_register" in lines[0]
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
    assert "40 already_registered" in second.stdout
    assert " registered," not in second.stdout.replace("already_registered", "")
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
