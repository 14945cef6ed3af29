"""Input that can be read only once: `-` (stdin), a pipe, `/dev/stdin`, `<(…)`.

The loader opens a file several times (its first bytes to tell the format, a workbook's
zip directory, a CSV's encoding sniffed and then the whole file again, the sha256), so
such input is first copied to a private temporary file (mode 0600, in a directory only
this user can enter, removed when the run ends) and then read as any file: the format
is told by content as usual, and the journal keys on the copy's sha256. The copy is
named `stdin` for `-` and `/dev/stdin`, so the report defaults to
`<report_dir>/stdin.results.xlsx`; a named pipe keeps its own name. Summaries, the
journal and a saved plan name the input as it was given (`SourceInfo.given`: `-`,
`/dev/stdin`, `/dev/fd/63`), never the copy.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from importer.errors import UnreadableFileError

STDIN = "-"
"""The path that means standard input, as command-line tools spell it."""
CHUNK = 1024 * 1024
_ONCE_ONLY = (stat.S_ISFIFO, stat.S_ISCHR, stat.S_ISSOCK)


def is_piped(path: Path) -> bool:
    """Whether `path` is `-` or a pipe, terminal or socket: bytes that are read only once."""
    if str(path) == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing or unreadable: the loader says so, naming the file
        return False
    return any(test(mode) for test in _ONCE_ONLY)


@contextmanager
def readable_copy(path: Path) -> Iterator[Path]:
    """`path` itself, or for piped input (`is_piped`) a private copy of all its bytes.

    The copy lives until the block ends. Empty input is refused (exit 2).
    """
    if not is_piped(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="did-import-") as folder:  # mode 0700
        copy = Path(folder) / copy_name(path)
        try:
            if str(path) == STDIN:
                size = _spool(sys.stdin.buffer, copy)
            else:
                with path.open("rb") as stream:
                    size = _spool(stream, copy)
        except OSError as error:
            reason = f"cannot copy the input to a temporary file ({error.strerror or error})"
            raise UnreadableFileError(f"{shown(path)}: {reason}") from None
        if size == 0:
            raise UnreadableFileError(f"{shown(path)}: the input is empty (nothing was piped in)")
        yield copy


def copy_name(path: Path) -> str:
    """The copy's file name, and the name one-line messages give the input: `stdin` for
    `-` and file descriptors (`/dev/fd/63`), else the file's own name (a named pipe
    `numbers.csv` keeps it)."""
    descriptor = path.name.isdigit() and path.parent.name == "fd"
    if str(path) == STDIN or descriptor or not path.name:
        return "stdin"
    return path.name


def _spool(source: BinaryIO, copy: Path) -> int:
    """Copy `source` to a new file at `copy`, readable by this user only; the size.

    `read1` takes what the pipe holds now, so the copy grows as the input comes."""
    read = getattr(source, "read1", source.read)
    descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    size = 0
    with open(descriptor, "wb") as target:
        while chunk := read(CHUNK):
            target.write(chunk)
            size += len(chunk)
    return size


def shown(path: Path) -> str:
    """`path` in a one-line message: `stdin` for `-`, else as given."""
    return "stdin" if str(path) == STDIN else str(path)
