"""The README's set-up commands: what CI runs, and (with --run-slow) that they work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import importer

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


def test_readme_demo_runs_from_a_fresh_venv(tmp_path: Path) -> None:
    """The README's demo, fast enough for CI: in a copy of the checkout, `python3 -m venv
    .venv` (the README's first step, verbatim), the project built and installed into it
    by its own pip (`--no-deps`: the build backend is fetched as the README's install
    fetches it; the dependencies are lent from this environment by a .pth file instead),
    then the README's `.venv/bin/did-import …` step verbatim: 40 rows registered, exit 1.
    The full install, every dependency downloaded, is the `slow` test above."""
    venv_step, install_step, *run_steps = setup_commands()[0].split(" && ")
    copy = tmp_path / "did-import"
    shutil.copytree(REPO, copy, ignore=SKIPPED_IN_COPY)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and "VIRTUAL_ENV" not in k}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    assert venv_step == "python3 -m venv .venv"
    assert shell(venv_step).returncode == 0
    lend_this_environment(copy / ".venv")
    assert install_step == ".venv/bin/python -m pip install ."
    installed = shell(f"{install_step} --no-deps")
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    where = shell(".venv/bin/python -I -c 'import importer; print(importer.__file__)'")
    assert where.stdout.startswith(str(copy / ".venv" / "lib")), where.stdout + where.stderr
    version = shell(".venv/bin/did-import --version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip().endswith(importer.__version__)
    (demo,) = run_steps
    done = shell(demo)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "40 registered" in done.stdout.splitlines()[-1]
    assert (copy / "reports" / "partner_numbers.xlsx.results.xlsx").is_file()


def lend_this_environment(venv: Path) -> None:
    """A .pth file in `venv` that puts this interpreter's site-packages after its own:
    the dependencies resolve there, the project from the venv (it comes first)."""
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site_packages,) = venv.glob("lib/python3*/site-packages")
    assert site_packages.parent.name == f"python{sys.version_info.major}.{sys.version_info.minor}"
    (site_packages / "lent-from-the-test-runner.pth").write_text("\n".join(sorted(ours)) + "\n")
