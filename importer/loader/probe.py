"""Crashes of the workbook reader itself: a damaged file must not take the process down.

calamine is Rust. On some damaged files it panics (a `pyo3_runtime.PanicException`,
which derives from `BaseException`, not `Exception`), and on some damaged XLS files it
asks for tens of gigabytes at once, which aborts the whole process (SIGABRT): nothing
in-process can catch that. So an XLS file (the legacy format, at most 65,536 rows) is
read once in a child process first; if the child dies, the file is refused. Panics in
the other formats are caught where calamine is called (`is_panic`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from importer.errors import UnreadableFileError

PROBE_TIMEOUT_S = 60.0
_PROBE = """
import sys
import python_calamine as calamine
with calamine.CalamineWorkbook.from_path(sys.argv[1]) as workbook:
    for name in workbook.sheet_names:
        for _ in workbook.get_sheet_by_name(name).iter_rows():
            pass
"""


def is_panic(error: BaseException) -> bool:
    """True for a Rust panic surfacing as `pyo3_runtime.PanicException`."""
    kind = type(error)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


def probe_in_child(path: Path, label: str) -> None:
    """Read every sheet of `path` in a child process; refuse the file if the reader dies.

    A crash (killed by a signal), a panic or a hang is refused here; any other Python
    exception in the child is left for the caller to meet and translate.
    """
    command = [sys.executable, "-I", "-c", _PROBE, str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        failure: str | None = f"the reader did not finish in {PROBE_TIMEOUT_S:.0f} s"
    else:
        failure = _failure(done.returncode, done.stderr) if done.returncode else None
    if failure is not None:
        raise UnreadableFileError(f"{path}: not a readable {label} workbook ({failure})")


def _failure(returncode: int, stderr: bytes) -> str | None:
    """Why the child failed, when it is the reader's own crash or panic; else None."""
    if returncode < 0:
        return "damaged: the reader crashed on it"
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1] if lines else ""
    if last.startswith("pyo3_runtime.PanicException"):
        return last.partition(": ")[2][:120] or "damaged: the reader panicked"
    return None
