"""Tests for the loader's streaming: lazy rows, one pass over CSV, end-of-file facts."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from importer import loader
from importer.cli import app
from importer.config import InputSettings
from importer.errors import UnreadableFileError
from importer.loader import load_file
from importer.loader.workbook import phone_cell_text

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
ROWS = 100_000
PAST_SNIFF = 5000  # rows enough to put a line beyond the 64k characters sniffed up front


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 100,000-row CSV with a blank line every 1,000 rows."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Phone,Caps,Name\r\n")
        for n in range(ROWS):
            out.write(f"+1205{n:07d},3,Name {n}\r\n")
            if n % 1000 == 999:
                out.write("\r\n")
    return path


def test_rows_are_read_lazily(big_csv: Path) -> None:
    """load_file reads only the top of the file; the rest comes as rows are consumed."""
    loaded = load_file(big_csv, InputSettings())
    assert not loaded.complete
    assert loaded.source.sha256 == ""
    first = next(loaded.rows)
    assert (first.number, first.cells) == (2, ("+12050000000", "3", "Name 0"))
    assert sum(1 for _ in loaded.rows) == ROWS - 1
    assert loaded.complete


def test_end_of_file_facts_complete_the_source(big_csv: Path) -> None:
    """Blank rows and the sha256 (computed on the same pass) are in `source` at the end."""
    loaded = load_file(big_csv, InputSettings())
    for _ in loaded.rows:
        pass
    assert loaded.source.blank_rows == ROWS // 1000
    assert loaded.source.sha256 == hashlib.sha256(big_csv.read_bytes()).hexdigest()


def test_memory_stays_bounded(big_csv: Path) -> None:
    """Reading 100,000 rows one by one never holds them all: peak well under their size."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in load_file(big_csv, InputSettings()).rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == ROWS
    assert peak < 10 * 1024 * 1024  # the rows held as RawRow objects take ~40 MB


def test_workbook_rows_are_lazy() -> None:
    """A workbook's rows are an iterator too, completed like a CSV's."""
    loaded = load_file(FIXTURES / "numeric_openpyxl.xlsx", InputSettings())
    assert loaded.source.blank_rows == 0
    assert not loaded.complete
    assert len(list(loaded.rows)) == 3
    assert (loaded.complete, loaded.source.blank_rows) == (True, 1)


def test_late_cp1252_byte_switches_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first non-UTF-8 byte after only ASCII switches to cp1252 mid-stream."""
    monkeypatch.setattr(loader.text, "SCAN_CHUNK", 4096)
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"+1205905{n % 10000:04d},3,Plain\r\n" for n in range(PAST_SNIFF))
    path.write_bytes(f"Phone,Caps,Name\r\n{ascii_rows}+12059059999,3,Café\r\n".encode("cp1252"))
    loaded = load_file(path, InputSettings())
    assert loaded.source.encoding == "utf-8"
    rows = list(loaded.rows)
    assert rows[-1].cells == ("+12059059999", "3", "Café")
    assert loaded.source.encoding == "cp1252"


def test_utf8_then_bad_byte_is_refused_when_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid UTF-8 text followed by a byte that is not: refused with its offset, when read."""
    monkeypatch.setattr(loader.text, "SCAN_CHUNK", 4096)
    path = tmp_path / "mixed.csv"
    rows = "".join(f"+1205905{n % 10000:04d},Zoë\r\n" for n in range(PAST_SNIFF))
    head = f"Phone,Name\r\n{rows}".encode()
    path.write_bytes(head + b"+12059059999,G\xfcnter\r\n")
    loaded = load_file(path, InputSettings())
    offset = len(head) + len("+12059059999,G")
    with pytest.raises(UnreadableFileError, match=rf"as utf-8 \(bad byte at offset {offset}\)"):
        list(loaded.rows)


def test_unread_loaded_file_closes_its_file(big_csv: Path) -> None:
    """Dropping a LoadedFile before reading its rows closes the file (no ResourceWarning)."""
    loaded = load_file(big_csv, InputSettings())
    next(loaded.rows)
    del loaded  # filterwarnings=error turns an unclosed file into a failure


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12059051025.0, "12059051025"),
        (12059051025, "12059051025"),
        (0.0, "0"),
        (12059051025.5, "1.20590510255E+10"),
        (491511234567.8, "4.915112345678E+11"),
        (float(2**53), "9.007199254740992E+15"),
        (1.2059051025e16, "1.2059051025E+16"),
        (-12059051025.0, "-1.2059051025E+10"),
        (float("nan"), "nan"),
        ("+12059051025", "+12059051025"),
        (True, "TRUE"),
        (None, ""),
    ],
)
def test_phone_cell_text(value: object, text: str) -> None:
    """Phone cells: whole numbers below 2**53 are digits; any other number is E notation."""
    assert phone_cell_text(value) == text  # type: ignore[arg-type]


def test_verbose_prints_the_mapping(tmp_path: Path) -> None:
    """`validate -v` prints the mapping used, composed fields included."""
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(FIXTURES / "capability_flags.xlsx"),
            "-v",
            "--report",
            str(tmp_path / "r.xlsx"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[:3] == [
        'mapping: phonenumber  <- "Phone"',
        'mapping: capabilities <- "SMS + MMS columns"',
        'mapping: attributes   <- "attributes.team columns"',
    ]


def test_summary_sheet_has_the_mapping(tmp_path: Path) -> None:
    """The Summary sheet of the report lists the mapping actually used."""
    import openpyxl

    report = tmp_path / "r.xlsx"
    CliRunner().invoke(
        app, ["validate", str(FIXTURES / "capability_flags.xlsx"), "--report", str(report)]
    )
    workbook = openpyxl.load_workbook(report, read_only=True)
    items = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    workbook.close()
    assert str(items["mapping: capabilities"]).startswith("SMS + MMS columns")
    assert str(items["mapping: attributes"]).startswith("attributes.team columns")
