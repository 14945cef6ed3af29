"""Input read only once (`-`, a pipe, `/dev/stdin`): copied privately, then read as a file
(`importer.loader.piped`, used by `importer.run.Run`)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from importer.errors import UnreadableFileError
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
