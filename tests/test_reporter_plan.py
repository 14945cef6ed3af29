"""Tests for the reports of plan, apply and delete: the changes column, the old sid, the
Deletes sheet and its CSV twin, the new statuses' colours and counts, blocked rows and
`remote.differs` in Errors and Retry, and the operation of each run in `history`."""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from openpyxl.workbook.workbook import Workbook
from reporter_samples import APPENDED, formula_cells, opened, row, sample_summary, text, values

from importer.journal import Journal, RunStatus, format_history, iter_history
from importer.models import FieldChange, Issue, Planned, RawRow, RowResult, Severity, Status
from importer.plan.changes import describe
from importer.reporter import ReportData, ReportFiles, flatten, layout, write_report
from importer.reporter.summary import (
    PLANNING,
    RunSummary,
    count_statuses,
    exit_code_for,
)

HEADER = ("Phone Number", "Capabilities", "Callback", "Name")
MAPPING = {
    "phonenumber": "Phone Number",
    "capabilities": "Capabilities",
    "callback_url": "Callback",
    "name": "Name",
}
OLD_SID = "0b8c0c41-7d1e-4e39-9d55-5c1f0d0a0001"
NEW_SID = "0b8c0c41-7d1e-4e39-9d55-5c1f0d0a0002"
CB_A, CB_B = "https://a.example.com/sms", "https://b.example.com/sms"
PLAN_COLUMNS = ["status", "changes", *APPENDED[1:]]


def record(number: str, sid: str = OLD_SID, **fields: object) -> dict[str, object]:
    return {"phonenumber": number, "external_did_sid": sid, "capabilities": 3, **fields}


def sheet_row(
    number: int, phone: str, status: Status, *changes: FieldChange, **more: object
) -> RowResult:
    held = None if status is Status.WOULD_REGISTER else record(phone, callback_url=CB_A)
    return RowResult(
        row=row(number, "+" + phone, "3", CB_B, "Beta"),
        status=status,
        normalized_phonenumber=phone,
        external_did_sid=OLD_SID if held else None,
        planned=Planned(record=held, changes=changes),
        **more,  # type: ignore[arg-type]
    )


def prune_row(number: int, phone: str, status: Status, **more: object) -> RowResult:
    """A number the account holds and the sheet does not: a negative row, empty cells."""
    held = record(
        phone, callback_url="=cmd|' /C calc'!A0", name="Old", attributes={"b": 1, "a": "x"}
    )
    return RowResult(
        row=RawRow(number, ()),
        status=status,
        normalized_phonenumber=phone,
        planned=Planned(record=held),
        **more,  # type: ignore[arg-type]
    )


CALLBACK = FieldChange("callback_url", CB_A, CB_B)
NAME = FieldChange("name", "Alpha", "Beta")
CAPS = FieldChange("capabilities", 3, 27)
BLOCKED = Issue(
    code="plan.blocked",
    message="capabilities differ and cannot be changed: replacing the record needs --allow-replace",
    field="capabilities",
    value="3 → 27",
)


def plan_results() -> list[RowResult]:
    return [
        sheet_row(2, "12059051025", Status.WOULD_REGISTER),
        sheet_row(3, "12059051026", Status.UNCHANGED),
        sheet_row(4, "12059051027", Status.WOULD_UPDATE, CALLBACK, NAME),
        sheet_row(5, "12059051028", Status.WOULD_REPLACE, CAPS),
        sheet_row(6, "12059051029", Status.BLOCKED, CAPS, issues=(BLOCKED,)),
        RowResult(row=row(7, "2059051", "3", "", ""), status=Status.INVALID),
        prune_row(-1, "12059051090", Status.WOULD_DELETE),
        prune_row(-2, "12059051091", Status.WOULD_DELETE),
    ]


def apply_results() -> list[RowResult]:
    failed = Issue(code="api.failed", message="gave up after 5 attempts: timed out")
    return [
        sheet_row(2, "12059051025", Status.REGISTERED),
        sheet_row(4, "12059051027", Status.UPDATED, CALLBACK, NAME, http_status=200, attempts=1),
        sheet_row(
            5,
            "12059051028",
            Status.REPLACED,
            CAPS,
            extra={"old_external_did_sid": OLD_SID},
            http_status=200,
            attempts=2,
        ),
        sheet_row(6, "12059051029", Status.FAILED, CALLBACK, attempts=5),
        prune_row(-1, "12059051090", Status.DELETED, http_status=204, attempts=1),
        prune_row(-2, "12059051091", Status.NOT_FOUND, http_status=404, attempts=1),
        prune_row(-3, "12059051092", Status.FAILED, issues=(failed,), attempts=5),
    ]


def summary_of(input_file: Path, results: Sequence[RowResult], mode: str) -> RunSummary:
    return sample_summary(
        input_file,
        results,
        mode=mode,
        counts=count_statuses(results, mode),
        exit_code=exit_code_for(results),
    )


def write(
    path: Path, results: Sequence[RowResult], summary: RunSummary, **files: Path
) -> ReportFiles:
    data = ReportData(header=HEADER, results=results, summary=summary, mapping=MAPPING)
    return write_report(ReportFiles(workbook=path, **files), data)  # type: ignore[arg-type]


@pytest.fixture
def plan_book(tmp_path: Path, input_file: Path) -> Iterator[Workbook]:
    results = plan_results()
    write(tmp_path / "plan.xlsx", results, summary_of(input_file, results, "plan"))
    with opened(tmp_path / "plan.xlsx") as book:
        yield book


def lines_of(book: Workbook, sheet: str) -> list[dict[str, object]]:
    rows = values(book[sheet])
    return [dict(zip([text(name) for name in rows[0]], line, strict=True)) for line in rows[1:]]


# -- plan: Results ---------------------------------------------------------------------
def test_plan_report_has_a_deletes_sheet_after_results(plan_book: Workbook) -> None:
    """Results, Deletes, Summary, Errors, Retry; Results opens first; no formula anywhere."""
    assert plan_book.sheetnames == ["Results", "Deletes", "Summary", "Errors", "Retry"]
    assert plan_book.active is not None
    assert plan_book.active.title == "Results"
    assert formula_cells(plan_book) == []


def test_plan_results_add_changes_after_status(plan_book: Workbook) -> None:
    """The partner's columns, then status, changes and the design's columns in order."""
    header = [text(name) for name in values(plan_book["Results"])[0]]
    assert header == [*HEADER, *PLAN_COLUMNS]


def test_changes_column_describes_each_field(plan_book: Workbook) -> None:
    """describe() of the planned changes; empty for a new or unchanged number."""
    changes = {line["Phone Number"]: line["changes"] for line in lines_of(plan_book, "Results")}
    assert changes["+12059051027"] == describe((CALLBACK, NAME))
    assert changes["+12059051027"] == (f"callback_url: {CB_A} → {CB_B}; name: Alpha → Beta")
    assert changes["+12059051028"] == "capabilities: 3 → 27"
    assert changes["+12059051025"] is None
    assert changes["+12059051026"] is None


def test_changes_cells_wrap(plan_book: Workbook) -> None:
    """A changes cell wraps (a long one is read on several lines, not cut off)."""
    sheet = plan_book["Results"]
    column = len(HEADER) + PLAN_COLUMNS.index("changes") + 1
    cell = sheet.cell(row=4, column=column)
    assert cell.value
    assert cell.alignment.wrap_text
    assert cell.data_type == "s"


def test_results_hold_only_the_sheets_rows(plan_book: Workbook) -> None:
    """The prune's numbers have no sheet row: they are not in Results."""
    numbers = [line["Phone Number"] for line in lines_of(plan_book, "Results")]
    assert numbers == [
        "+12059051025",
        "+12059051026",
        "+12059051027",
        "+12059051028",
        "+12059051029",
        "2059051",
    ]


@pytest.mark.parametrize(
    ("status", "fill"),
    [
        (Status.WOULD_REGISTER, "DDEBF7"),
        (Status.UNCHANGED, "C6EFCE"),
        (Status.WOULD_UPDATE, "DDEBF7"),
        (Status.WOULD_REPLACE, "DDEBF7"),
        (Status.BLOCKED, "FCE4D6"),
    ],
)
def test_plan_statuses_are_coloured(plan_book: Workbook, status: Status, fill: str) -> None:
    """Blue for a planned action, green for nothing to do, orange for blocked."""
    at = len(HEADER) + PLAN_COLUMNS.index("status")
    cells = [ln[at] for ln in plan_book["Results"].iter_rows(min_row=2) if ln[at].value == status]
    assert cells
    assert all(str(cell.fill.fgColor.rgb).endswith(fill) for cell in cells)


# -- plan: Deletes ---------------------------------------------------------------------
def test_deletes_list_the_records_the_sheet_does_not_hold(plan_book: Workbook) -> None:
    """One line per prune row with its record's fields; numbers stay text, mask a number."""
    lines = lines_of(plan_book, "Deletes")
    assert list(lines[0]) == list(layout.actions.DELETE_COLUMNS)
    assert [line["phonenumber"] for line in lines] == ["12059051090", "12059051091"]
    first = lines[0]
    assert first["status"] == "would_delete"
    assert first["external_did_sid"] == OLD_SID
    assert first["capabilities"] == 3
    assert first["callback_url"] == "=cmd|' /C calc'!A0"
    assert first["name"] == "Old"
    assert first["attributes"] == '{"a": "x", "b": 1}'
    assert first["underlying_carrier_sid"] is None
    sheet = plan_book["Deletes"]
    assert sheet["B2"].data_type == "s"
    assert str(sheet["A2"].fill.fgColor.rgb).endswith("DDEBF7")
    assert sheet.freeze_panes == "A2"


# -- plan: Summary ---------------------------------------------------------------------
def test_plan_summary_counts_the_plans_statuses_first(plan_book: Workbook) -> None:
    """Every status is listed; a plan's own come first, in the plan's order."""
    items = values(plan_book["Summary"])[1:]
    statuses = {status.value for status in Status}
    counted = [(name, n) for name, n in items if name in statuses]
    assert len(counted) == len(Status)
    names = [name for name, _ in counted]
    assert names[: len(PLANNING)] == [status.value for status in PLANNING]
    assert items[items.index(list(counted[0])) - 1] == ["Rows by status", None]  # heading
    counts = dict(counted)
    assert counts["would_delete"] == 2
    assert counts["blocked"] == 1
    assert counts["registered"] == 0
    summary = dict(items)
    assert summary["mode"] == "plan"
    assert summary["rows in Deletes"] == 2
    assert summary["rows"] == 8


def test_plan_chart_shows_the_plans_statuses(tmp_path: Path, input_file: Path) -> None:
    """The chart's bars are the plan's statuses (and any other that occurred), not all 17."""
    results = [*plan_results(), sheet_row(9, "12059051031", Status.FAILED)]
    path = tmp_path / "p.xlsx"
    write(path, results, summary_of(input_file, results, "plan"))
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/charts/chart1.xml").decode("utf-8")
    shown = len(PLANNING) + 1  # the failed row's status joins them
    assert f"'Summary'!$A$5:$A${4 + shown}" in xml  # below the headline, rows, the heading
    assert "<c:v>would_delete</c:v>" in xml
    assert "<c:v>failed</c:v>" in xml
    assert "<c:v>replaced</c:v>" not in xml


# -- plan: Errors and Retry ------------------------------------------------------------
def test_a_blocked_row_shows_old_and_new_in_errors(plan_book: Workbook) -> None:
    """The plan.blocked line points at the cell, with `old → new` as its value, wrapped."""
    lines = lines_of(plan_book, "Errors")
    blocked = next(line for line in lines if line["code"] == "plan.blocked")
    assert blocked["row"] == 6
    assert (blocked["column"], blocked["column_name"]) == ("B", "Capabilities")
    assert blocked["value"] == "3 → 27"
    assert blocked["status"] == "blocked"
    index = lines.index(blocked) + 2
    value_at = flatten.ERROR_COLUMNS.index("value") + 1
    assert plan_book["Errors"].cell(row=index, column=value_at).alignment.wrap_text
    assert [line["row"] for line in lines] == [6, 7]


def test_retry_holds_blocked_and_invalid_rows_never_prune_rows(plan_book: Workbook) -> None:
    """Blocked rows can go again (with --allow-replace); the prune's have no sheet row."""
    lines = values(plan_book["Retry"])
    assert [text(name) for name in lines[0]] == list(HEADER)
    assert [line[0] for line in lines[1:]] == ["+12059051029", "2059051"]
    assert str(plan_book["Retry"]["B2"].fill.fgColor.rgb).endswith("FCE4D6")


# -- apply -----------------------------------------------------------------------------
@pytest.fixture
def apply_files(tmp_path: Path, input_file: Path) -> ReportFiles:
    results = apply_results()
    summary = summary_of(input_file, results, "apply")
    return write(
        tmp_path / "partner.results.xlsx",
        results,
        summary,
        results_csv=tmp_path / "partner.results.csv",
        errors_csv=tmp_path / "partner.errors.csv",
    )


def test_apply_results_show_the_old_sid_of_a_replace(apply_files: ReportFiles) -> None:
    """old_external_did_sid follows external_did_sid when some row was replaced."""
    with opened(apply_files.main) as book:
        lines = lines_of(book, "Results")
        header = [text(name) for name in values(book["Results"])[0]]
    ours = ["status", "changes", "external_did_sid", "old_external_did_sid", *APPENDED[2:]]
    assert header == [*HEADER, *ours]
    replaced = next(line for line in lines if line["status"] == "replaced")
    assert replaced["old_external_did_sid"] == OLD_SID
    assert replaced["changes"] == "capabilities: 3 → 27"
    assert all(line["old_external_did_sid"] is None for line in lines if line is not replaced)


def test_apply_statuses_are_coloured(apply_files: ReportFiles) -> None:
    """Updated and replaced are green like registered; deleted and not_found too."""
    with opened(apply_files.main) as book:
        sheets = {"Results": len(HEADER), "Deletes": 0}
        for name, at in sheets.items():
            for line in book[name].iter_rows(min_row=2):
                fill = str(line[at].fill.fgColor.rgb)
                good = Status(line[at].value).ended_well
                assert fill.endswith("C6EFCE" if good else "FFC7CE"), (name, line[at].value)


def test_apply_deletes_twin_and_errors_of_a_failed_delete(apply_files: ReportFiles) -> None:
    """`<stem>.deletes.csv` has the Deletes lines (neutralised); a failed delete's Errors
    line has no sheet row, and names the number."""
    assert apply_files.deletes_csv == apply_files.main.with_name("partner.deletes.csv")
    deletes = _read(apply_files.deletes_csv)
    assert deletes[0] == list(layout.actions.DELETE_COLUMNS)
    assert [line[0] for line in deletes[1:]] == ["deleted", "not_found", "failed"]
    assert deletes[1][4] == "'=cmd|' /C calc'!A0"
    results = _read(apply_files.results_csv)
    assert len(results) == 1 + 4
    assert results[0][len(HEADER) + 1] == "changes"
    errors = _read(apply_files.errors_csv)
    failed = [line for line in errors[1:] if line[4] == "api.failed"]
    assert len(failed) == 1
    assert (failed[0][0], failed[0][7]) == ("", "12059051092")
    with opened(apply_files.main) as book:
        items = dict(values(book["Summary"])[1:])
    assert items["report: deletes csv"] == str(apply_files.deletes_csv)


def _read(path: Path | None) -> list[list[str]]:
    assert path is not None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


# -- delete, run -----------------------------------------------------------------------
def test_delete_report_lists_the_sheets_numbers_in_results(
    tmp_path: Path, input_file: Path
) -> None:
    """`delete FILE`: the listed numbers are sheet rows; no Deletes sheet then."""
    results = [
        RowResult(row=row(2, "+12059051025"), status=Status.DELETED, external_did_sid=OLD_SID),
        RowResult(row=row(3, "+12059051026"), status=Status.NOT_FOUND),
    ]
    summary = summary_of(input_file, results, "delete")
    assert summary.exit_code == 0
    write(tmp_path / "d.xlsx", results, summary)
    with opened(tmp_path / "d.xlsx") as book:
        assert book.sheetnames == ["Results", "Summary", "Errors", "Retry"]
        assert [line["status"] for line in lines_of(book, "Results")] == ["deleted", "not_found"]
        names = [name for name, _ in values(book["Summary"])[4:6]]
    assert names == ["deleted", "not_found"]


def test_a_run_report_keeps_its_layout_even_with_planned_rows(
    tmp_path: Path, input_file: Path
) -> None:
    """A `run` report has no changes column, no Deletes sheet, whatever the rows carry."""
    results = [sheet_row(2, "12059051025", Status.ALREADY_REGISTERED, CALLBACK)]
    write(tmp_path / "r.xlsx", results, summary_of(input_file, results, "run"))
    with opened(tmp_path / "r.xlsx") as book:
        assert book.sheetnames == ["Results", "Summary", "Errors", "Retry"]
        assert [text(name) for name in values(book["Results"])[0]] == [*HEADER, *APPENDED]


def test_remote_differs_is_listed_in_errors_and_exits_1(tmp_path: Path, input_file: Path) -> None:
    """An already_registered row whose record differs ends well, but needs attention."""
    differs = Issue(
        code="remote.differs",
        message="+12059051025 is registered with another callback_url and name",
        severity=Severity.WARNING,
        field="callback_url",
        value=describe((CALLBACK, NAME)),
    )
    results = [sheet_row(2, "12059051025", Status.ALREADY_REGISTERED, issues=(differs,))]
    summary = summary_of(input_file, results, "run")
    assert summary.exit_code == 1
    write(tmp_path / "r.xlsx", results, summary)
    with opened(tmp_path / "r.xlsx") as book:
        lines = lines_of(book, "Errors")
        retry = values(book["Retry"])
    assert len(lines) == 1
    assert lines[0]["code"] == "remote.differs"
    assert lines[0]["value"] == f"callback_url: {CB_A} → {CB_B}; name: Alpha → Beta"
    assert lines[0]["column_name"] == "Callback"
    assert len(retry) == 1  # nothing to send again: the row is registered


def test_json_summary_counts_follow_the_mode(tmp_path: Path, input_file: Path) -> None:
    """The JSON summary of a plan lists every status, the plan's first; the schema allows it."""
    import jsonschema

    from importer import schemas
    from importer.reporter import write_summary_json

    results = plan_results()
    path = write_summary_json(tmp_path / "s.json", summary_of(input_file, results, "plan"))
    document = json.loads(path.read_text(encoding="utf-8"))
    assert list(document["counts"])[: len(PLANNING)] == [status.value for status in PLANNING]
    assert set(document["counts"]) == {status.value for status in Status}
    schema = json.loads((schemas.SCHEMA_DIR / "run_summary.schema.json").read_text())
    jsonschema.validate(document, schema)


# -- history ---------------------------------------------------------------------------
def test_history_shows_each_runs_operation_and_its_counts(tmp_path: Path) -> None:
    """plan, apply and delete runs are listed with their operation and new statuses."""
    path = tmp_path / "j.sqlite"
    runs = {
        "plan": {"would_update": 3, "would_delete": 2, "unchanged": 5},
        "apply": {"updated": 3, "replaced": 1, "deleted": 2, "blocked": 1},
        "delete": {"deleted": 4, "not_found": 1},
    }
    with Journal(path) as journal:
        for operation, counts in runs.items():
            run = journal.start_run(
                Path("n.csv"), "ab" * 32, "http://api", [], fresh=True, operation=operation
            )
            run.finish(status=RunStatus.FINISHED, counts=counts, exit_code=0, report=None)
    lines = format_history(iter_history(path, 10))
    assert [line.split()[3] for line in lines] == ["delete", "apply", "plan"]
    assert "4 deleted, 1 not_found" in lines[0]
    assert "3 updated, 1 replaced, 2 deleted, 1 blocked" in lines[1]
    assert "3 would_update, 2 would_delete, 5 unchanged" in lines[2]
