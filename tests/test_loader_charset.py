"""Encoding detection for CSV files that are not UTF-8 (importer/loader/charset.py).

The files are written in their encodings by tests/fixtures/make_text_fixtures.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import openpyxl
import pytest
from typer.testing import CliRunner

from importer import loader
from importer.cli import app
from importer.config import InputSettings
from importer.errors import UnreadableFileError
from importer.loader import charset, load_file
from importer.loader.charset import SAMPLE_BYTES, detection_sample, guess_encoding

TEXT = Path(__file__).parent / "fixtures" / "text"
PAST_SNIFF = 5000  # ASCII rows enough to go past the 64k characters sniffed up front


def _maker() -> ModuleType:
    """tests/fixtures/make_text_fixtures.py, imported from its path (its name lists)."""
    spec = importlib.util.spec_from_file_location(
        "make_text", TEXT.parent / "make_text_fixtures.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()


@pytest.mark.parametrize(
    ("name", "encoding", "names"),
    [
        ("greek_iso8859_7.csv", "iso8859_7", MAKER.GREEK),
        ("cyrillic_cp1251.csv", "cp1251", MAKER.CYRILLIC),
        ("western_cp1252.csv", "cp1252", MAKER.WESTERN),
    ],
)
def test_code_page_is_detected_and_names_read_right(
    name: str, encoding: str, names: list[str]
) -> None:
    """Greek, Cyrillic and Western files are read in their own code page, names intact,
    with how the encoding was detected and how sure the detector was."""
    loaded = load_file(TEXT / name, InputSettings())
    assert [row.cells[2] for row in loaded.rows] == names
    source = loaded.source
    assert source.encoding == encoding
    assert source.encoding_confidence is not None
    assert charset.SURE_CONFIDENCE <= source.encoding_confidence <= 1
    assert source.encoding_detection is not None
    assert source.encoding_detection.startswith(f"{encoding} (")
    assert "detected by charset-normalizer" in source.encoding_detection
    assert "bytes of non-ASCII lines" in source.encoding_detection


def test_greek_is_not_read_as_cp1252() -> None:
    """The issue's file: `Λεωνιδας` no longer comes out as `Ëåùíéäáò`."""
    first = next(load_file(TEXT / "greek_iso8859_7.csv", InputSettings()).rows)
    assert first.cells[2].startswith("Λεωνιδας")
    assert "Ëåùíéäáò" not in first.cells[2]


def test_short_ambiguous_file_is_refused_with_each_reading() -> None:
    """Two letters that read as plausibly in cp1252, cp1251 and cp1253 are not guessed:
    the refusal shows each reading and asks for --encoding."""
    path = TEXT / "ambiguous_short.csv"
    with pytest.raises(UnreadableFileError) as caught:
        load_file(path, InputSettings())
    message = str(caught.value)
    assert message.startswith(f"{path}: the file is not UTF-8 (byte 0xC4 at offset 32)")
    assert "its encoding is unclear" in message
    for reading in ("cp1252 reads '9051000,Äé'", "cp1251 reads '9051000,Дй'", "'9051000,Δι'"):
        assert reading in message
    assert message.endswith("give the right one with --encoding")


def test_explicit_encoding_reads_the_ambiguous_file() -> None:
    """--encoding settles what the detector cannot; nothing is reported as detected."""
    loaded = load_file(TEXT / "ambiguous_short.csv", InputSettings(encoding="cp1251"))
    assert next(loaded.rows).cells[1] == "Дй"
    assert (loaded.source.encoding, loaded.source.encoding_detection) == ("cp1251", None)


def test_utf8_file_never_calls_the_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A UTF-8 file without a BOM, accents and all, is read without sampling: no
    detection is run or reported."""

    def refuse(sample: bytes) -> list[object]:
        raise AssertionError("the detector ran on a UTF-8 file")

    monkeypatch.setattr(charset, "_readings", refuse)
    path = tmp_path / "utf8.csv"
    path.write_text(MAKER._csv(MAKER._numbered(MAKER.GREEK)), encoding="utf-8")
    loaded = load_file(path, InputSettings())
    assert [row.cells[2] for row in loaded.rows] == MAKER.GREEK
    assert (loaded.source.encoding, loaded.source.encoding_detection) == ("utf-8", None)


def test_late_greek_switches_encoding_mid_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASCII for many chunks, then Greek: detected where it starts, read as Greek."""
    monkeypatch.setattr(loader.text, "SCAN_CHUNK", 4096)
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"+1205905{n % 10000:04d},3,Plain\r\n" for n in range(PAST_SNIFF))
    greek = "".join(f"+1205906{n:04d},3,{name}\r\n" for n, name in enumerate(MAKER.GREEK))
    path.write_bytes(f"Phone,Caps,Name\r\n{ascii_rows}{greek}".encode("iso8859_7"))
    loaded = load_file(path, InputSettings())
    assert loaded.source.encoding == "utf-8"
    assert [row.cells[2] for row in loaded.rows][-4:] == MAKER.GREEK
    assert loaded.source.encoding == "iso8859_7"
    assert loaded.source.encoding_detection is not None


def test_stray_byte_is_refused_not_read_as_another_script(tmp_path: Path) -> None:
    """A Western file with one byte cp1252 leaves undefined (0x81) is refused at that
    byte, not read in a code page that happens to define it (Arabic cp1256)."""
    path = tmp_path / "stray.csv"
    path.write_bytes(b"Phone,Name\r\n+12059051025,Jos\xe9 M\xfcller\r\n+12059051026,x\x81\r\n")
    offset = path.read_bytes().index(b"\x81")
    with pytest.raises(
        UnreadableFileError,
        match=rf"cannot decode the file as cp1252 \(bad byte at offset {offset}\)",
    ):
        list(load_file(path, InputSettings()).rows)


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("Łukasz Wiśniewski,1\nZofia Dąbrowska,2\n", "cp1250", "cp1250"),
        (",1\n".join(MAKER.GREEK), "iso8859_7", "iso8859_7"),
        (",1\n".join(MAKER.GREEK), "cp1253", "cp1253"),
        ("Søren Ærø,1\nJürgen Groß,2\nRenée Dupont,3\n", "cp1252", "cp1252"),
    ],
    ids=["polish-letter-not-pound-sign", "iso-greek-tonos", "windows-greek-tonos", "nordic"],
)
def test_most_letters_wins_within_a_script(text: str, encoding: str, expected: str) -> None:
    """Within a script the reading with the most letters wins: cp1250 reads A3 as `Ł`
    where cp1252 has `£`; ISO-8859-7 and cp1253 put `Ά` at different bytes."""
    sample = text.encode(encoding)
    assert guess_encoding(sample, "f.csv", 0).encoding == expected


def test_western_ties_name_the_other_latin_code_pages() -> None:
    """Letters that cp1250 reads differently but as plausibly are read as cp1252, and the
    alternatives are named in the description."""
    guess = guess_encoding("Søren Ærø,1\nZoë Ångström,2\n".encode("cp1252"), "f.csv", 0)
    assert (guess.encoding, guess.language) == ("cp1252", "Western")
    assert "cp1250" in guess.alternatives
    assert guess.describe().endswith(f"{', '.join(guess.alternatives)} would also fit")


def test_detection_sample_is_bounded_and_skips_ascii_lines() -> None:
    """The sample is the non-ASCII lines from the first one on, at most SAMPLE_BYTES."""
    data = b"a,b\r\n" * 10 + b"x,\xe9\r\n" + b"plain\r\n" * 5 + b"y,\xe8\r\n" * 50_000
    sample = detection_sample(data, data.index(b"\xe9"))
    assert sample.startswith(b"x,\xe9\r\ny,\xe8\r")
    assert b"plain" not in sample
    assert len(sample) <= SAMPLE_BYTES


def test_bytes_no_candidate_reads_plausibly_are_refused_with_each_reading(
    tmp_path: Path,
) -> None:
    """Bytes no candidate reads plausibly are refused, naming the first and its offset,
    and how the code pages that decode them at all read them."""
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Phone\r\n+1205\x81\x8d\r\n")
    with pytest.raises(UnreadableFileError, match=r"\(byte 0x81 at offset 12\) and its") as no:
        load_file(path, InputSettings())
    assert "cp1251 reads '+1205ЃЌ'" in str(no.value)


def test_detection_is_reported_in_summary_json_sheet_and_one_line(tmp_path: Path) -> None:
    """`validate` says which encoding was detected and how sure, in the one-line output,
    the JSON summary and the report's Summary sheet."""
    report, summary = tmp_path / "out.xlsx", tmp_path / "summary.json"
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(TEXT / "greek_iso8859_7.csv"),
            "--report",
            str(report),
            "--summary-json",
            str(summary),
        ],
    )
    assert result.exit_code == 0, result.output
    facts = json.loads(summary.read_text(encoding="utf-8"))["input"]
    assert facts["encoding"] == "iso8859_7"
    percent = f"{facts['encoding_confidence']:.0%}"
    assert f" · encoding iso8859_7 detected, {percent} sure · report: " in result.stdout
    assert facts["encoding_detection"].startswith("iso8859_7 (Greek), detected by")
    book = openpyxl.load_workbook(report, read_only=True)
    try:
        sheet = book["Summary"]
        items = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
        assert items["input: encoding detection"] == facts["encoding_detection"]
    finally:
        book.close()


def test_a_sample_too_short_to_measure_shows_each_reading() -> None:
    """A lone `©` (the detector measures no reading of it): refused as unclear, with the
    readings that differ, not as a file no code page reads."""
    with pytest.raises(UnreadableFileError) as refused:
        guess_encoding(b"2,\xa9", "latin1.csv", 20)
    message = str(refused.value)
    assert message.startswith("latin1.csv: the file is not UTF-8 (byte 0xA9 at offset 20)")
    assert "its encoding is unclear (cp1252 reads '2,©'" in message
    assert "no known code page" not in message


def test_a_short_sample_every_candidate_reads_alike_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When every candidate that decodes an unmeasured sample reads the same text there
    is nothing to choose: read, 100 % sure."""
    monkeypatch.setattr(charset, "CANDIDATES", {"cp1252": "Western", "cp1250": "Central European"})
    guess = guess_encoding(b"2,\xa9", "f.csv", 0)
    assert (guess.encoding, guess.confidence) == ("cp1252", 1.0)
