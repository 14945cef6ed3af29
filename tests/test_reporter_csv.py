"""Tests for importer.reporter.csvout: the CSV twins, neutralised against formula injection."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from reporter_samples import APPENDED, HEADER, HOSTILE, sample_results, sample_summary

from importer.reporter import ReportData, ReportFiles, csvout, flatten, write_report


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1-2", "'+1-2"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("+1 (205) 905-1025", "'+1 (205) 905-1025"),
        ("+12059051025", "+12059051025"),
        ("-5", "-5"),
        ("12059051025", "12059051025"),
        ("0012059051027", "0012059051027"),
        ("plain = text", "plain = text"),
        ("", ""),
        (None, None),
        (3, 3),
        (-1.5, -1.5),
    ],
)
def test_neutralize(cell: object, written: object) -> None:
    """Cells starting = + - @ TAB CR get a quote, unless they are only a (signed) number."""
    assert csvout.neutralize(cell) == written  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delimiter", "used"), [(None, ","), (";", ";"), ("\t", "\t"), ('"', ","), ("ab", ",")]
)
def test_csv_delimiter_follows_the_input(delimiter: str | None, used: str) -> None:
    """The twins use the input's delimiter when it is usable, else a comma."""
    assert csvout.csv_delimiter(delimiter) == used


def _read(path: Path, delimiter: str) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    input_file = tmp_path / "partner.csv"
    input_file.write_text("Phone Number\n+12059051025\n", encoding="utf-8")
    results = sample_results()
    data = ReportData(header=HEADER, results=results, summary=sample_summary(input_file, results))
    files = ReportFiles(
        workbook=None,
        results_csv=tmp_path / "partner.results.csv",
        errors_csv=tmp_path / "partner.errors.csv",
    )
    write_report(files, data)
    return tmp_path / "partner.results.csv", tmp_path / "partner.errors.csv"


def test_results_twin_holds_every_row_neutralised(twins: tuple[Path, Path]) -> None:
    """The results CSV has the Results sheet's lines, hostile cells quoted, numbers intact."""
    lines = _read(twins[0], ";")
    assert lines[0] == [*HEADER, "", "", *APPENDED]
    assert len(lines) == 11
    notes = [line[3] for line in lines[1:5]]
    assert notes == ["'" + cell for cell in HOSTILE[:4]]
    normalized = 6 + APPENDED.index("normalized_phonenumber")
    assert [line[normalized] for line in lines[1:4]] == [
        "12059051025",
        "12059051026",
        "12059051027",
    ]
    assert lines[1][0] == "+12059051025"
    assert lines[1][6 + APPENDED.index("http_status")] == "200"


def test_no_twin_cell_can_start_a_formula(twins: tuple[Path, Path]) -> None:
    """No cell of either twin starts a formula unless it is a plain signed number."""
    for path in twins:
        for line in _read(path, ";"):
            for cell in line:
                risky = cell.startswith(csvout.FORMULA_STARTS)
                assert not risky or csvout.neutralize(cell) == cell, (path.name, cell)


def test_errors_twin_matches_the_errors_sheet(twins: tuple[Path, Path]) -> None:
    """The errors CSV has one line per problem, with the original value neutralised."""
    lines = _read(twins[1], ";")
    assert lines[0] == list(flatten.ERROR_COLUMNS)
    assert [line[4] for line in lines[1:]] == [
        "phonenumber.invalid",
        "capabilities.voice_not_allowed",
        "row.duplicate",
        "api.rejected",
        "api.failed",
        "",
        "capabilities.missing",
    ]
    assert lines[3][6] == "+12059051025"


def test_twins_start_with_a_bom(twins: tuple[Path, Path]) -> None:
    """UTF-8 with a BOM, so Excel reads accents and symbols right."""
    for path in twins:
        assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
