"""The hostile-file corpus: each file ends cleanly, in bounded time and memory.

Each file goes through the real command line (`python -m importer.cli validate`) in
its own process, capped at 2 GiB of address space and 30 seconds: it is either
refused with exit code 2 and exactly one line naming the file, or processed with the
counts pinned here. The small files are tests/fixtures/hostile/ (written by
tests/fixtures/make_hostile.py) plus a few already in tests/fixtures/loader/; the huge
ones are written at test time into a temporary folder. The million-row file (about
20 s on two cores) is marked `slow`, like every million-row run, and runs with
`pytest --run-slow`.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = FIXTURES / "hostile"
LOADER = FIXTURES / "loader"
MEMORY_LIMIT = 2 * 1024**3  # address space for the whole `did-import validate` process
TIME_LIMIT = 30.0


@dataclass(frozen=True)
class Refused:
    """Exit 2 and this one line on stderr ({path} is the file)."""

    message: str


@dataclass(frozen=True)
class Processed:
    """Read to the end: the exit code and these non-zero counts in the JSON summary."""

    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)


XLSX_BAD = "{path}: not a readable XLSX workbook"
OUTCOMES: dict[str, Refused | Processed] = {
    # zip and XML bombs
    "hostile/billion_laughs_sheet.xlsx": Refused(
        XLSX_BAD + " (the sheet XML declares a DTD: refused, as XML entity bombs do)"
    ),
    "hostile/zip_bomb_lying_sizes.xlsx": Refused(
        XLSX_BAD + " (I/O error: File is larger than its declared uncompressed size)"
    ),
    "loader/entity_bomb.xlsx": Refused(XLSX_BAD + " (at 0..0: unrecognized entity `&lol9;`)"),
    "loader/deflate_bomb.xlsx": Refused(
        XLSX_BAD + " (part 'xl/worksheets/sheet1.xml' inflates 1022 times: a zip bomb?)"
    ),
    # damaged, protected, macro-enabled and huge workbooks
    "loader/truncated.xlsx": Refused(XLSX_BAD + " (damaged or truncated zip archive)"),
    "hostile/truncated.xls": Refused(
        "{path}: not a readable XLS workbook (Cfb error: Sector 9 points past end of file)"
    ),
    "hostile/xls_reader_abort.xls": Refused(
        "{path}: not a readable XLS workbook (damaged: the reader crashed on it)"
    ),
    "hostile/xls_reader_panic.xls": Refused(
        "{path}: not a readable XLS workbook (range end index 64 out of range for slice of"
        " length 25)"
    ),
    "hostile/encrypted_zip_member.xlsx": Refused(
        XLSX_BAD + " (unsupported Zip archive: Password required to decrypt file)"
    ),
    "hostile/encrypted_zip_member.ods": Refused(
        "{path}: not a readable ODS workbook (damaged or truncated zip archive)"
    ),
    "hostile/password_protected.xlsx": Refused(
        "{path}: password-protected workbook; save a copy without the password"
        " (File > Info > Protect Workbook in Excel) and import that"
    ),
    "loader/macro.xlsm": Processed(0, {"would_register": 1}),
    "hostile/wide_16384_columns.xlsx": Processed(0, {"would_register": 2}),
    "huge/phantom_1048576_rows.xlsx": Processed(0, {"would_register": 1}),
    # not text at all
    "hostile/garbage.csv": Refused(
        "{path}: not a text or spreadsheet file (it has binary content)"
    ),
    "hostile/garbage_no_nul.csv": Refused(
        "{path}: the file is not UTF-8 (byte 0x84 at offset 1) and no known code page"
        " reads it; give the right encoding with --encoding"
    ),
    "loader/binary_junk.csv": Refused(
        "{path}: not a text or spreadsheet file (it has binary content)"
    ),
    "hostile/image.csv": Refused("{path}: not a text or spreadsheet file (it has binary content)"),
    "loader/empty.csv": Refused("{path}: the file is empty"),
    "hostile/empty.xlsx": Refused("{path}: the file is empty"),
    # awkward text
    "hostile/nul_in_head.csv": Refused(
        "{path}: not a text file as it stands (a NUL byte at offset 26, which no CSV holds;"
        " remove it if the rest is text)"
    ),
    "hostile/nul_after_head.csv": Processed(1, {"would_register": 400, "invalid": 1}),
    "hostile/mixed_line_endings.csv": Processed(0, {"would_register": 4}),
    "hostile/utf16le_no_bom_cjk.csv": Processed(0, {"would_register": 2}),
    "hostile/utf16le_no_bom_odd_length.csv": Refused(
        "{path}: cannot decode the file as utf-16-le (bad byte at offset 112);"
        " give the right encoding with --encoding"
    ),
    "hostile/columns_20000.csv": Refused(
        "{path}: not a readable CSV file (record 2: more than 16,384 columns)"
    ),
    "huge/single_line_200mb.csv": Refused(
        "{path}: not a readable CSV file (a line longer than 4,194,304 characters)"
    ),
    "huge/commas_200mb.csv": Refused(
        "{path}: not a readable CSV file (a line longer than 4,194,304 characters)"
    ),
}
SLOW_OUTCOMES: dict[str, Refused | Processed] = {
    "huge/identical_1m_rows.csv": Processed(1, {"would_register": 1, "duplicate": 999_999}),
}


def _generator() -> ModuleType:
    """tests/fixtures/make_hostile.py, imported from its path."""
    spec = importlib.util.spec_from_file_location("make_hostile", FIXTURES / "make_hostile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def huge_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files too big to commit, written once for this module."""
    folder = tmp_path_factory.mktemp("huge")
    _generator().write_huge(folder)
    return folder


def _path(name: str, huge_folder: Path) -> Path:
    folder, file_name = name.split("/")
    return huge_folder / file_name if folder == "huge" else FIXTURES / folder / file_name


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _check(path: Path, expected: Refused | Processed, out: Path, limit: float) -> None:
    report, summary = out / "r.xlsx", out / "s.json"
    command = [sys.executable, "-m", "importer.cli", "validate", str(path)]
    command += ["--report", str(report), "--summary-json", str(summary)]
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=limit, preexec_fn=_cap_memory, check=False
    )
    assert time.monotonic() - started < limit
    assert "Traceback" not in done.stderr, done.stderr
    if isinstance(expected, Refused):
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"did-import: {expected.message.format(path=path)}\n"
        assert not report.exists()
        return
    assert done.returncode == expected.exit_code, done.stderr
    counts = json.loads(summary.read_text(encoding="utf-8"))["counts"]
    assert {status: n for status, n in counts.items() if n} == expected.counts


def test_the_corpus_is_all_pinned() -> None:
    """Every file in tests/fixtures/hostile/ has an expected outcome here."""
    pinned = {name.split("/")[1] for name in OUTCOMES if name.startswith("hostile/")}
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted(pinned)


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_hostile_file(name: str, huge_folder: Path, tmp_path: Path) -> None:
    """Refused with exit 2 and one line, or processed right: under 30 s and 2 GiB."""
    _check(_path(name, huge_folder), OUTCOMES[name], tmp_path, TIME_LIMIT)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_OUTCOMES))
def test_hostile_file_slow(name: str, huge_folder: Path, tmp_path: Path) -> None:
    """A million identical rows: one would register, 999,999 duplicates, under 30 s and 2 GiB."""
    _check(_path(name, huge_folder), SLOW_OUTCOMES[name], tmp_path, TIME_LIMIT)
