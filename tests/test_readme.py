"""The README's set-up commands: what CI runs, and (with --run-slow) that they work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV = "python3 -m venv .venv && "
SKIPPED_IN_COPY = shutil.ignore_patterns(
    ".git", ".venv", "reports", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def setup_commands() -> list[str]:
    """The shell commands of the README's "Set up" section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Set up\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [" ".join(block.split()) for block in blocks]


def ci_command() -> str:
    """The command `.ci/run` runs: its last line."""
    return (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs exactly the README's second set-up command (install, then the tests)."""
    commands = setup_commands()
    assert len(commands) == 2, commands
    assert commands[1] == ci_command()
    assert commands[1].endswith(".venv/bin/python -m pytest")


def test_setup_commands_need_only_python3_and_a_venv() -> None:
    """Both commands create the virtual environment with `python3` and run everything from
    `.venv/bin/` (no bare `python` or `pip`, which stock Debian/Ubuntu lack or refuse)."""
    for command in setup_commands():
        assert command.startswith(VENV), command
        for step in command.removeprefix(VENV).split(" && "):
            assert step.startswith(".venv/bin/"), step


@pytest.mark.slow
def test_readme_demo_command_works_word_for_word(tmp_path: Path) -> None:
    """The README's first command, run verbatim by the shell in a copy of the checkout,
    builds .venv, installs, and registers the sample's 40 good rows (exit 1: bad rows)."""
    copy = tmp_path / "did-import"
    shutil.copytree(REPO, copy, ignore=SKIPPED_IN_COPY)
    done = subprocess.run(
        ["bash", "-c", setup_commands()[0]],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "40 registered" in done.stdout.splitlines()[-1]
    assert (copy / "reports" / "partner_numbers.xlsx.results.xlsx").is_file()
