"""Shared sample records and helpers for the tests/test_reporter*.py files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from importer.models import Issue, RawRow, RowResult, Status
from importer.reporter import ReportData, ReportFiles, write_report
from importer.reporter.flatten import RESULT_COLUMNS, Item
from importer.reporter.summary import InputFacts, RunSummary, count_statuses, exit_code_for
from importer.send.operations import register
from importer.validate import catalogue

HEADER = ("Phone Number", "Capabilities", "Callback", "Notes")
MAPPING = {
    "phonenumber": "Phone Number",
    "capabilities": "Capabilities",
    "callback_url": "Callback",
}
SID = "5c6f0b6e-3f0e-4f43-9a7b-1d1d2b8a9c01"
HOSTILE = (
    '=HYPERLINK("http://x")',
    "+1-2",
    "@SUM(1)",
    "-cmd|' /C calc'!A0",
    "https://example.com/cb",
)
APPENDED = list(RESULT_COLUMNS)


def row(number: int, *cells: str) -> RawRow:
    return RawRow(number, tuple(cells))


def rejected_issue() -> Issue:
    return register.API_REJECTED.issue(field="callback_url", detail="callback_url is not reachable")


def sample_results() -> list[RowResult]:
    """One row per status, plus multi-issue, warning-only and ragged rows."""
    cb = "https://example.com/cb"
    return [
        RowResult(
            row=row(2, "+12059051025", "3", cb, HOSTILE[0]),
            status=Status.REGISTERED,
            normalized_phonenumber="12059051025",
            external_did_sid=SID,
            http_status=200,
            attempts=1,
        ),
        RowResult(
            row=row(3, "12059051026", "27", "", HOSTILE[1]),
            status=Status.ALREADY_REGISTERED,
            normalized_phonenumber="12059051026",
            external_did_sid=SID,
            http_status=200,
            attempts=2,
        ),
        RowResult(
            row=row(4, "0012059051027", "3", "", HOSTILE[2]),
            status=Status.WOULD_REGISTER,
            normalized_phonenumber="12059051027",
        ),
        RowResult(
            row=row(5, "2059051", "7", "", HOSTILE[3]),
            status=Status.INVALID,
            issues=(
                catalogue.PHONENUMBER_INVALID.issue(
                    field="phonenumber", column="Phone Number", value="2059051"
                ),
                catalogue.CAPABILITIES_VOICE_NOT_ALLOWED.issue(
                    field="capabilities", column="Capabilities", value="7"
                ),
                catalogue.ROW_RAGGED.issue(found=5, expected=4),
            ),
        ),
        RowResult(
            row=row(6, "+12059051025", "3", "", ""),
            status=Status.DUPLICATE,
            issues=(
                catalogue.ROW_DUPLICATE.issue(
                    field="phonenumber", column="Phone Number", value="+12059051025", first_row=2
                ),
            ),
        ),
        RowResult(
            row=row(7, "+12059051028", "3", "http://nowhere.invalid/cb", ""),
            status=Status.REJECTED,
            issues=(rejected_issue(),),
            normalized_phonenumber="12059051028",
            http_status=422,
            attempts=1,
        ),
        RowResult(
            row=row(8, "+12059051029", "3", "", ""),
            status=Status.FAILED,
            issues=(register.API_FAILED.issue(attempts=5, detail="timed out"),),
            normalized_phonenumber="12059051029",
            attempts=5,
        ),
        RowResult(
            row=row(10, "+12059051030", "3", "", ""),
            status=Status.NOT_ATTEMPTED,
            normalized_phonenumber="12059051030",
        ),
        RowResult(
            row=row(11, "+12059051031", "3", "", "", "extra one", "extra two"),
            status=Status.REGISTERED,
            issues=(catalogue.ROW_RAGGED.issue(found=6, expected=4),),
            normalized_phonenumber="12059051031",
            external_did_sid=SID,
            http_status=200,
            attempts=1,
        ),
        RowResult(
            row=row(12, "+12059051032"),
            status=Status.INVALID,
            issues=(catalogue.CAPABILITIES_MISSING.issue(field="capabilities"),),
        ),
    ]


def sample_summary(input_file: Path, results: Sequence[RowResult], **changes: object) -> RunSummary:
    started = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
    summary = RunSummary(
        tool_version="0.1.0",
        phonenumbers_version="9.0.19",
        mode="run",
        input=InputFacts(
            file=str(input_file),
            sha256="ab" * 32,
            format="csv",
            encoding="utf-8",
            delimiter=";",
            header_row=1,
            data_rows=len(results),
            blank_rows=1,
            mapping=MAPPING,
        ),
        base_url="https://user:s3cret@api.example.com/core/v2?token=abc",
        counts=count_statuses(results),
        started_at=started,
        finished_at=started.replace(second=2),
        duration_seconds=2.0,
        rows_per_second=5.0,
        exit_code=exit_code_for(results),
    )
    return summary.model_copy(update=changes)


def write_workbook(
    path: Path,
    header: Sequence[str],
    results: Sequence[RowResult],
    summary: RunSummary,
    *,
    mapping: Mapping[str, str] | None = None,
    options: Sequence[Item] = (),
) -> Path:
    """Write a workbook-only report (no CSV twins) and return its path."""
    data = ReportData(
        header=header, results=results, summary=summary, mapping=mapping, options=options
    )
    return write_report(ReportFiles(workbook=path), data).main


@contextmanager
def opened(path: Path, *, read_only: bool = False) -> Iterator[Workbook]:
    workbook = openpyxl.load_workbook(path, read_only=read_only)
    try:
        yield workbook
    finally:
        workbook.close()


def values(sheet: Worksheet) -> list[list[object]]:
    return [list(line) for line in sheet.iter_rows(values_only=True)]


def text(value: object) -> object:
    """A blank cell reads back as None; the report means an empty string."""
    return "" if value is None else value


def formula_cells(book: Workbook) -> list[str]:
    """Every cell of every sheet that is a formula or carries a hyperlink."""
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book.worksheets
        for line in sheet.iter_rows()
        for cell in line
        if cell.data_type == "f" or cell.hyperlink is not None
    ]
