"""The command line as a newcomer meets it on a terminal: a real process in a
pseudo-terminal (as `tests/test_cli_sync.py` does for the apply prompt), so that what
rich and typer decide from `isatty()` is what is checked: `--version`, flags in the
help, usage errors, `NO_COLOR`, the progress bar of `validate`.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from importer import __version__

ESCAPE = re.compile(r"\x1b")
STYLE = re.compile(r"\x1b\[[0-9;]*m")  # colour, bold, dim (SGR); not cursor movement
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # any CSI sequence: styles and cursor moves
ROOT = Path(__file__).resolve().parent.parent


def in_terminal(args: list[str], cwd: Path, *, no_color: bool = True) -> tuple[int, str]:
    """Run `did-import ARGS` with stdin, stdout and stderr on a 100x40 pseudo-terminal;
    its exit code and everything it showed (CRLF line ends, as a terminal gets them)."""
    main, child = os.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERMINAL_WIDTH"}
        and not k.startswith("CARRIERX_")
    }
    env |= {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    if no_color:
        env["NO_COLOR"] = "1"
    command = [sys.executable, "-m", "importer.cli", *args]
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, cwd=cwd, env=env)
    os.close(child)
    shown = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([main], [], [], 0.2)[0]:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child side closed: the process has ended
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(main)
    return process.wait(timeout=30), shown.decode(errors="replace")


def lines(shown: str) -> list[str]:
    return [line for line in shown.replace("\r\n", "\n").split("\n") if line.strip()]


def test_version_on_a_terminal(tmp_path: Path) -> None:
    """`did-import --version` prints the name and version, one plain line, exit 0."""
    code, shown = in_terminal(["--version"], tmp_path)
    assert code == 0
    assert lines(shown) == [f"did-import {__version__}"]


@pytest.mark.parametrize("command", ["validate", "run", "plan", "apply", "inbox", "export"])
def test_help_shows_flags_as_flags_and_no_escape_codes_under_no_color(
    tmp_path: Path, command: str
) -> None:
    """`COMMAND --help` under NO_COLOR: no escape code at all, the usage line names
    `FILE` (not `{file}`), and no option carries a `<bool>` placeholder."""
    code, shown = in_terminal([command, "--help"], tmp_path)
    assert code == 0, shown
    assert not ESCAPE.search(shown), repr(shown[:300])
    assert "<bool>" not in shown
    assert "{file}" not in shown
    (quiet,) = [line for line in lines(shown) if "--quiet" in line]
    assert re.search(r"--quiet\s+-q\s+Print only", quiet), quiet  # no placeholder between


def test_run_help_shows_the_defaults(tmp_path: Path) -> None:
    """`run --help` names the defaults of the API options, and `--quiet` as a bare flag."""
    code, shown = in_terminal(["run", "--help"], tmp_path)
    assert code == 0
    text = " ".join(shown.split())
    assert "Usage: did-import run [OPTIONS] FILE" in text
    for option, default in [
        ("--concurrency", "16"),
        ("--rate", "no limit"),
        ("--timeout", "30"),
        ("--max-attempts", "5"),
        ("--max-wait", "300"),
        ("--max-error-rate", "0.5"),
    ]:
        assert re.search(rf"{option} .*?\[default: {re.escape(default)}\]", text), option
    assert "Print only warnings and errors" in text


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["validate", "x.csv", "--bogus"], "did-import: no such option: --bogus"),
        (["validate"], "did-import: missing argument 'FILE'"),
        (
            ["validate", "x.csv", "--quiet", "true"],
            "did-import: --quiet is a flag and takes no value",
        ),
        (["validate", "--report"], "did-import: option '--report' requires an argument"),
        (["frobnicate"], "did-import: no such command 'frobnicate'"),
    ],
    ids=["unknown-option", "missing-file", "flag-with-value", "option-without-value", "command"],
)
def test_a_usage_error_is_one_line_and_a_hint(tmp_path: Path, args: list[str], first: str) -> None:
    """A usage error reads like the product's errors: one `did-import: …` line, then one
    hint naming the command's --help; exit 2; no box, no escape code (even in colour)."""
    code, shown = in_terminal(args, tmp_path, no_color=False)
    assert code == 2
    assert not ESCAPE.search(shown), repr(shown)
    error, hint = lines(shown)
    assert error.startswith(first), error
    command = " ".join(["did-import", *args[:1]]) if args[0] != "frobnicate" else "did-import"
    assert hint == f"try '{command} --help' for its options and examples"


@pytest.fixture
def rows_20k(tmp_path: Path) -> Path:
    """A CSV of 20,000 good US numbers: a second or more to validate, so the bar shows."""
    path = tmp_path / "numbers.csv"
    body = "".join(f"+1205{5550000 + i:07d},3\n" for i in range(20_000))
    path.write_text("phonenumber,capabilities\n" + body, encoding="utf-8")
    return path


def test_validate_shows_a_progress_bar_on_a_terminal(tmp_path: Path, rows_20k: Path) -> None:
    """`validate` on a terminal draws a bar (rows counted with separators, rows/s) while
    the file streams; under NO_COLOR without colour or style codes (only the cursor
    movements a bar redraws with); the summary line says `20,000 rows`."""
    report = tmp_path / "out.xlsx"
    code, shown = in_terminal(["validate", rows_20k.name, "--report", str(report)], tmp_path)
    assert code == 0, shown
    assert not STYLE.search(shown), repr(shown[:300])
    assert re.search(r"numbers\.csv .*\d{1,2},\d{3} rows .*rows/s", shown), repr(shown[:600])
    summary = CONTROL.sub("", lines(shown)[-1]).strip("\r")  # the bar cleared, then the line
    assert summary.startswith(
        "numbers.csv: 20,000 rows checked: 20,000 ready to register; nothing needs attention"
        " · 20,000 would_register · report: "
    )


def test_validate_quiet_on_a_terminal_draws_no_bar(tmp_path: Path, rows_20k: Path) -> None:
    """`--quiet` keeps the terminal clear: no bar, no summary line."""
    report = tmp_path / "out.xlsx"
    args = ["validate", rows_20k.name, "--report", str(report), "--quiet"]
    code, shown = in_terminal(args, tmp_path)
    assert code == 0, shown
    assert shown.strip() == ""
