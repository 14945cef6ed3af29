"""Tests for importer.reporter's files: which ones a run writes, atomically, large runs."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from reporter_samples import (
    HEADER,
    opened,
    row,
    sample_summary,
    values,
    write_workbook,
)
from xlsxwriter.exceptions import FileCreateError, XlsxWriterException

from importer import schemas
from importer.config import ReportSettings
from importer.errors import ConfigError
from importer.models import RowResult, Status
from importer.reporter import (
    ReportData,
    ReportFiles,
    default_report_path,
    flatten,
    layout,
    plan_reports,
    write_report,
    write_summary_json,
)
from importer.reporter.files import reason, twin_paths
from importer.reporter.summary import RunSummary


@pytest.fixture
def data(results: list[RowResult], summary: RunSummary) -> ReportData:
    return ReportData(header=HEADER, results=results, summary=summary)


# -- planning --------------------------------------------------------------------------
def test_default_report_path() -> None:
    """The default report sits in the report folder, named after the input's whole file
    name: `numbers.csv` and `numbers.xlsx` never share a report."""
    path = default_report_path(Path("in/partner.2026.csv"), Path("reports"))
    assert path == Path("reports/partner.2026.csv.results.xlsx")
    other = default_report_path(Path("in/partner.2026.xlsx"), Path("reports"))
    assert other == Path("reports/partner.2026.xlsx.results.xlsx")


@pytest.mark.parametrize(
    ("report", "twins"),
    [
        ("r/partner.results.xlsx", ("r/partner.results.csv", "r/partner.errors.csv")),
        ("out.xlsx", ("out.results.csv", "out.errors.csv")),
        ("out.csv", ("out.results.csv", "out.errors.csv")),
        ("x/out.results.csv", ("x/out.results.csv", "x/out.errors.csv")),
    ],
)
def test_twins_sit_beside_the_report(report: str, twins: tuple[str, str]) -> None:
    """`<stem>.results.csv` and `<stem>.errors.csv` go beside the workbook."""
    assert twin_paths(Path(report)) == (Path(twins[0]), Path(twins[1]))


@pytest.mark.parametrize(
    ("report_format", "source", "workbook", "twins"),
    [
        (None, "xlsx", True, False),
        (None, "csv", True, True),
        ("xlsx", "csv", True, False),
        ("csv", "xlsx", False, True),
        ("both", "xlsx", True, True),
    ],
)
def test_plan_follows_the_format_and_the_input(
    report_format: str | None, source: str, workbook: bool, twins: bool
) -> None:
    """The workbook unless csv is asked for; the twins for CSV input, csv or both."""
    settings = ReportSettings.model_validate({"report_format": report_format})
    files = plan_reports(Path("r/p.results.xlsx"), rows=10, source_format=source, settings=settings)
    assert (files.workbook is not None, files.results_csv is not None) == (workbook, twins)
    assert (files.errors_csv is not None) == twins
    assert files.results_in_workbook == workbook
    assert files.main == (Path("r/p.results.xlsx") if workbook else Path("r/p.results.csv"))


def test_a_csv_report_path_means_csv_output() -> None:
    """`--report out.csv` without a format writes the CSV files, no workbook."""
    files = plan_reports(Path("out.csv"), rows=1, source_format="xlsx", settings=ReportSettings())
    assert files.paths == [Path("out.results.csv"), Path("out.errors.csv")]


@pytest.mark.parametrize("report_format", [None, "xlsx", "both"])
def test_over_the_row_limit_results_go_to_csv(report_format: str | None) -> None:
    """Above workbook_row_limit the results CSV is written and the workbook drops Results."""
    settings = ReportSettings.model_validate(
        {"report_format": report_format, "workbook_row_limit": 5}
    )
    files = plan_reports(Path("p.results.xlsx"), rows=6, source_format="xlsx", settings=settings)
    assert files.workbook == Path("p.results.xlsx")
    assert files.results_csv == Path("p.results.csv")
    assert not files.results_in_workbook
    at_limit = plan_reports(Path("p.xlsx"), rows=5, source_format="xlsx", settings=settings)
    assert at_limit.results_in_workbook


def test_the_row_limit_stays_under_excel_limit() -> None:
    """A limit at or above Excel's 1,048,576 rows is refused as a setting."""
    with pytest.raises(ValueError, match="less than 1048576"):
        ReportSettings(workbook_row_limit=1_048_576)


# -- large runs ------------------------------------------------------------------------
def test_large_run_keeps_summary_errors_retry_and_points_at_the_csv(
    tmp_path: Path, data: ReportData
) -> None:
    """Over the limit: Retry, Summary (active, with notes), Errors; every row in the CSV.

    Errors then shows its first `workbook_row_limit` lines; the errors CSV has them all.
    """
    settings = ReportSettings(workbook_row_limit=3)
    files = plan_reports(
        tmp_path / "p.results.xlsx", rows=len(data.results), source_format="xlsx", settings=settings
    )
    write_report(files, data)
    with opened(tmp_path / "p.results.xlsx") as book:
        assert book.sheetnames == ["Retry", "Summary", "Errors"]
        assert book.active is not None
        assert book.active.title == "Summary"
        headline, note, errors_note = values(book["Summary"])[1:4]  # the headline, then notes
        assert headline[0] == "in short"
        assert errors_note[1] == "Errors shows the first 3 of 7 lines; all are in p.errors.csv"
        errors = values(book["Errors"])
        assert [line[0] for line in errors] == ["row", 5, 5, 6]  # row 5 has two errors
        assert len(values(book["Retry"])) == 5
    assert note[0] == "note"
    assert "(10 rows) are in p.results.csv" in str(note[1])
    with (tmp_path / "p.results.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle, delimiter=";"))
    assert len(lines) == 11
    assert [line[6] for line in lines[1:]] == [r.status.value for r in data.results]


def test_sheets_beyond_excel_capacity_are_capped_with_a_note(
    tmp_path: Path, data: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors and Retry never pass a sheet's capacity; Summary says so; the CSV has all."""
    monkeypatch.setattr(layout, "MAX_SHEET_ROWS", 4)
    files = ReportFiles(
        workbook=tmp_path / "p.xlsx",
        results_csv=tmp_path / "p.results.csv",
        errors_csv=tmp_path / "p.errors.csv",
        results_in_workbook=False,
    )
    write_report(files, data)
    with opened(tmp_path / "p.xlsx") as book:
        assert len(values(book["Errors"])) == 4
        assert len(values(book["Retry"])) == 4
        notes = [line[1] for line in values(book["Summary"]) if line[0] == "note"]
    assert "Errors shows the first 3 of 7 lines; all are in p.errors.csv" in notes
    assert any(str(note).startswith("Retry shows the first 3 of 4 lines") for note in notes)
    errors = (tmp_path / "p.errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(errors) == 8


def test_many_url_cells_are_all_kept(tmp_path: Path, input_file: Path) -> None:
    """70,000 URL-like cells all survive (no hyperlink conversion, no 65,530-link cut).

    Read back with calamine, which reads this many rows ten times faster than openpyxl.
    """
    count = 70_000
    results = [
        RowResult(row=row(n + 2, f"https://example.com/cb/{n}"), status=Status.WOULD_REGISTER)
        for n in range(count)
    ]
    started = time.perf_counter()
    path = write_workbook(
        tmp_path / "urls.xlsx", ("callback_url",), results, sample_summary(input_file, results)
    )
    lines = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Results").to_python()
    assert [line[0] for line in lines[1:]] == [result.row.cells[0] for result in results]
    assert time.perf_counter() - started < 30


# -- writing safely --------------------------------------------------------------------
def test_refuses_to_overwrite_the_input(
    input_file: Path, data: ReportData, summary: RunSummary
) -> None:
    """Any report file that is the input file raises ConfigError; the input stays intact."""
    before = input_file.read_bytes()
    same = input_file.parent / "." / input_file.name
    with pytest.raises(ConfigError, match="would overwrite the input file"):
        write_report(ReportFiles(workbook=same), data)
    twin_is_input = ReportFiles(workbook=input_file.with_suffix(".xlsx"), results_csv=input_file)
    with pytest.raises(ConfigError, match="would overwrite the input file"):
        write_report(twin_is_input, data)
    with pytest.raises(ConfigError, match="would overwrite the input file"):
        write_summary_json(input_file, summary)
    assert input_file.read_bytes() == before
    assert not input_file.with_suffix(".xlsx").exists()


def test_replaces_old_reports_without_leaving_temporaries(tmp_path: Path, data: ReportData) -> None:
    """Writing over old reports replaces them and leaves no temporary file behind."""
    files = ReportFiles(
        workbook=tmp_path / "r.xlsx",
        results_csv=tmp_path / "r.results.csv",
        errors_csv=tmp_path / "r.errors.csv",
    )
    for path in files.paths:
        path.write_bytes(b"old")
    write_report(files, data)
    assert (tmp_path / "r.xlsx").read_bytes()[:2] == b"PK"
    assert (tmp_path / "r.results.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_report_removes_the_twins_it_no_longer_writes(tmp_path: Path, data: ReportData) -> None:
    """CSV twins left by an earlier report of the same name (its CSV run, `--report-format
    both`) are removed once a report without twins is in place: none is read as its own."""
    stale = ["r.results.csv", "r.errors.csv", "r.deletes.csv"]
    for name in stale:
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "other.results.csv").write_bytes(b"another report's")
    write_report(ReportFiles(workbook=tmp_path / "r.xlsx"), data)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.results.csv",
        "partner.csv",
        "r.xlsx",
    ]


def test_a_results_csv_fed_back_is_never_removed_as_a_stale_twin(
    tmp_path: Path, data: ReportData
) -> None:
    """The input `r.results.csv` (a report fed back), reported to `r.xlsx` without twins,
    stays: only earlier reports' files are removed."""
    fed_back = tmp_path / "r.results.csv"
    fed_back.write_bytes(b"Phone\n")
    summary = data.summary.model_copy(
        update={"input": data.summary.input.model_copy(update={"file": str(fed_back)})}
    )
    write_report(ReportFiles(workbook=tmp_path / "r.xlsx"), replace(data, summary=summary))
    assert fed_back.read_bytes() == b"Phone\n"


def test_a_failed_write_keeps_every_old_report(
    tmp_path: Path, data: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When rendering fails half way, no old file is touched and no temporary remains."""
    files = ReportFiles(
        workbook=tmp_path / "r.xlsx",
        results_csv=tmp_path / "r.results.csv",
        errors_csv=tmp_path / "r.errors.csv",
    )
    for path in files.paths:
        path.write_bytes(b"old")

    def broken(*args: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(flatten, "retry_row", broken)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(files, data)
    assert [path.read_bytes() for path in files.paths] == [b"old"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "partner.csv",
        "r.errors.csv",
        "r.results.csv",
        "r.xlsx",
    ]


def test_an_unwritable_target_is_a_config_error(tmp_path: Path, data: ReportData) -> None:
    """A report path that is a directory gives a one-line ConfigError naming it."""
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(ConfigError, match="taken: cannot write the report") as raised:
        write_report(ReportFiles(workbook=target), data)
    assert "\n" not in str(raised.value)


def _file_create_error() -> Exception:
    try:
        try:
            raise PermissionError(13, "Permission denied")
        except OSError as error:
            raise FileCreateError(error) from error
    except FileCreateError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (IsADirectoryError(21, "Is a directory"), "Is a directory"),
        (_file_create_error(), "Permission denied"),
        (XlsxWriterException(), "XlsxWriterException"),
    ],
)
def test_write_failures_read_as_one_short_reason(error: Exception, shown: str) -> None:
    """OS and xlsxwriter failures are reduced to the OS reason for the one-line message."""
    assert reason(error) == shown


# -- JSON summary ----------------------------------------------------------------------
def test_summary_json_round_trips(tmp_path: Path, summary: RunSummary) -> None:
    """The JSON summary is valid RunSummary JSON, in a new folder, with the URL redacted."""
    path = write_summary_json(tmp_path / "deep" / "er" / "summary.json", summary)
    again = RunSummary.model_validate_json(path.read_text(encoding="utf-8"))
    assert again == summary.model_copy(update={"base_url": "https://api.example.com/core/v2"})
    assert json.loads(path.read_text(encoding="utf-8"))["counts"]["registered"] == 2


def test_summary_json_matches_the_published_schema(tmp_path: Path, summary: RunSummary) -> None:
    """The file validates against schemas/run_summary.schema.json (jsonschema)."""
    import jsonschema

    schema = json.loads((schemas.SCHEMA_DIR / "run_summary.schema.json").read_text("utf-8"))
    path = write_summary_json(tmp_path / "summary.json", summary)
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)
    broken = json.loads(path.read_text(encoding="utf-8")) | {"exit_code": "one"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
