"""Input read only once (`-`, a pipe, `/dev/stdin`): copied privately, then read as a file
(`importer.loader.piped`, used by `importer.run.Run`)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reporter_samples import opened, values

from importer.errors import UnreadableFileError
from importer.journal import held
from importer.loader.piped import copy_name, is_piped, readable_copy

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
SAMPLE_LINE = (
    "stdin: 50 rows checked: 40 ready to register; 10 need attention — see Errors"
    " · 40 would_register, 9 invalid, 1 duplicate"
)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize("argument", ["-", "/dev/stdin"])
def test_piped_sheet_validates_as_the_file_does(suffix: str, argument: str) -> None:
    """A CSV or XLSX piped in as `-` or `/dev/stdin` gets the file's result, exit 1 and
    the report `reports/stdin.results.xlsx` (no traceback, no seek error)."""
    data = (SAMPLES / f"partner_numbers.{suffix}").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "importer.cli", "validate", argument],
        input=data,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr.decode()
    assert done.stderr == b""
    assert SAMPLE_LINE in done.stdout.decode()
    assert "report: reports/stdin.results.xlsx" in done.stdout.decode()
    assert Path("reports/stdin.results.xlsx").is_file()


def test_empty_stdin_is_refused_with_exit_2() -> None:
    """Nothing piped in: one line naming stdin, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "importer.cli", "validate", "-"],
        input="",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "did-import: stdin: the input is empty (nothing was piped in)\n"


def test_named_pipe_is_copied_privately_then_removed(tmp_path: Path) -> None:
    """A FIFO is read to its end into a 0600 file in a 0700 folder, named after the pipe;
    the copy is gone when the block ends."""
    fifo = tmp_path / "numbers.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(b"Phone\n+12057973091\n",))
    writer.start()
    assert is_piped(fifo)
    with readable_copy(fifo) as copy:
        writer.join()
        assert copy.read_bytes() == b"Phone\n+12057973091\n"
        assert copy.name == "numbers.csv"
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert not copy.parent.exists()


def test_regular_and_missing_files_are_read_in_place(tmp_path: Path) -> None:
    """A regular file, or a missing one (the loader names it), is not copied."""
    regular = tmp_path / "numbers.csv"
    regular.write_text("Phone\n")
    for path in (regular, tmp_path / "absent.csv"):
        assert not is_piped(path)
        with readable_copy(path) as same:
            assert same == path


def test_copy_names_default_to_stdin() -> None:
    """`-`, `/dev/stdin` and a descriptor name (`<(…)` is /dev/fd/63) give `stdin`."""
    assert copy_name(Path("-")) == "stdin"
    assert copy_name(Path("/dev/stdin")) == "stdin"
    assert copy_name(Path("/dev/fd/63")) == "stdin"
    assert copy_name(Path("/tmp/partner.xlsx")) == "partner.xlsx"


def test_empty_pipe_is_refused(tmp_path: Path) -> None:
    """An empty pipe raises UnreadableFileError (exit 2) naming the pipe."""
    fifo = tmp_path / "empty.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(b"",))
    writer.start()
    with (
        pytest.raises(UnreadableFileError, match=r"empty\.csv: the input is empty"),
        readable_copy(fifo),
    ):
        pass
    writer.join()


def test_interrupt_while_stdin_is_read_is_exit_4(tmp_path: Path) -> None:
    """Ctrl-C while piped input is still coming (it never ends) stops the run at once:
    exit 4, one line, and the private copy removed."""
    env = os.environ | {"TMPDIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-m", "importer.cli", "validate", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdin is not None
        child.stdin.write("Phone\n+12057973091\n")
        child.stdin.flush()
        _wait_for_copy(tmp_path)  # the child is copying, blocked reading stdin
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 4
    assert err == "did-import: interrupted (SIGINT) while reading the input; nothing was sent\n"
    assert not list(tmp_path.glob("did-import-*"))


def _wait_for_copy(folder: Path, timeout: float = 60) -> None:
    """Until the private copy exists under `folder` (its signal handling is set by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(folder.glob("did-import-*/stdin")):
            return
        time.sleep(0.05)
    raise AssertionError("no copy of stdin appeared")


def _did_import(*args: str, data: bytes = b"", **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m importer.cli ARGS` with `data` piped in (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "importer.cli", *args],
        input=data.decode("latin-1"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=os.environ | env,
    )


@pytest.mark.parametrize("argument", ["-", "/dev/stdin"])
def test_summaries_name_piped_input_as_given(argument: str) -> None:
    """The JSON summary's and Summary sheet's input file is `-` or `/dev/stdin` as given,
    never the private copy; the one-line summary calls it `stdin`."""
    data = (SAMPLES / "partner_numbers.csv").read_bytes()
    done = _did_import("validate", argument, "--summary-json", "s.json", data=data)
    assert done.stdout.startswith(SAMPLE_LINE), done.stderr
    assert json.loads(Path("s.json").read_text(encoding="utf-8"))["input"]["file"] == argument
    with opened(Path("reports/stdin.results.xlsx")) as book:
        assert ["input: file", argument] in values(book["Summary"])


def test_errors_name_piped_input_not_its_copy() -> None:
    """A piped sheet without a phone column is refused naming `stdin`, not the copy."""
    done = _did_import("validate", "-", data=b"Name,Caps\nshop,1\n")
    assert done.returncode == 2
    message = 'did-import: stdin: no phone-number column in row 1; headers found: "Name", "Caps"\n'
    assert done.stderr == message


def test_a_piped_saved_plan_is_refused_by_apply() -> None:
    """`apply -` reads a sheet; a saved plan piped in is refused in one line (exit 2),
    before any request, rather than read as a sheet."""
    plan = b'{\n "format": "did-import-plan/1",\n "file": "numbers.csv"\n}\n'
    api = {"CARRIERX_TOKEN": "never-sent", "CARRIERX_BASE_URL": "http://127.0.0.1:9/v2"}
    done = _did_import("apply", "-", "--yes", data=plan, **api)
    assert done.returncode == 2
    assert done.stderr == (
        "did-import: stdin: a saved plan is not read from standard input;"
        " give its file: did-import apply PLAN.json\n"
    )


def test_a_plan_of_piped_input_is_applied_to_the_same_bytes_piped_again() -> None:
    """`plan - --out p.json` saves `-` as its file; `apply p.json` reads the sheet from
    standard input again, and carries the plan out only while it is the same bytes."""
    data = (SAMPLES / "partner_numbers.csv").read_bytes()
    sandbox = ("--sandbox", "--sandbox-state", "state.sqlite")
    planned = _did_import("plan", "-", "--out", "p.json", *sandbox, data=data)
    assert planned.returncode == 1, planned.stderr
    assert json.loads(Path("p.json").read_text(encoding="utf-8"))["file"] == "-"
    changed = _did_import("apply", "p.json", "--yes", *sandbox, data=data + b"+12025550123,3\n")
    assert changed.returncode == 2
    assert "the input changed since the plan was made" in changed.stderr
    applied = _did_import("apply", "p.json", "--yes", *sandbox, data=data)
    assert applied.returncode == 1, applied.stderr
    assert "40 registered" in applied.stdout
    history = _did_import("history").stdout.splitlines()
    assert [line.split()[3] for line in history] == ["apply", "plan"]
    assert all(" finished exit 1  -  " in line for line in history), history


def test_a_run_on_a_busy_journal_exits_5_before_reading_stdin(tmp_path: Path) -> None:
    """With the journal's lock held, `run -` exits 5 at once, its standard input still
    open and unread (it used to read all of it first): nothing is copied."""
    env = os.environ | {"TMPDIR": str(tmp_path), "CARRIERX_TOKEN": "never-sent"}
    env |= {"CARRIERX_BASE_URL": "http://127.0.0.1:9/v2"}
    with (
        held(Path("reports/journal.sqlite")),
        subprocess.Popen(
            [sys.executable, "-m", "importer.cli", "run", "-"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as child,
    ):
        assert child.stderr is not None
        child.wait(timeout=60)  # its stdin stays open: EOF never comes
        err = child.stderr.read()
    assert child.returncode == 5, err
    assert err.startswith("did-import: another run (pid ")
    assert err.endswith(") holds reports/journal.sqlite\n")
    assert err.count("\n") == 1
    assert not list(tmp_path.glob("did-import-*"))
