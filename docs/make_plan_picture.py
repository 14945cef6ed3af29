"""Render the README's picture of a plan report's Results sheet, headless.

Run from the repository root: `python docs/make_plan_picture.py`. It needs LibreOffice
(`soffice`) and poppler (`pdftoppm`) on PATH, as `make_results_picture.py` does. The
plan's rows are made here, as `did-import plan --prune --allow-replace` makes them (the
account's records, the changes), and written by the reporter; the workbook's first page
(Results) becomes docs/plan-report.png. Look at it before committing.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from make_results_picture import _to_pdf, _to_png, _used_box
from openpyxl.utils import get_column_letter

from importer import __version__
from importer.models import FieldChange, Planned, RawRow, RowResult, Status
from importer.plan.changes import differences
from importer.reporter import ReportData, ReportFiles, write_report
from importer.reporter.summary import InputFacts, RunSummary, count_statuses, exit_code_for
from importer.validate import catalogue

DOCS = Path(__file__).resolve().parent
TARGET = DOCS / "plan-report.png"
RESOLUTION = 200
LAST_SHOWN = "normalized_phonenumber"
OLD_HOOK, HOOK = "https://hooks.acme.example/sms", "https://sms.acme.example/v2/inbound"
HEADER = ("Phone Number", "Capabilities", "Callback URL", "Name", "Store")
MAPPING = {"phonenumber": "Phone Number", "capabilities": "Capabilities",
           "callback_url": "Callback URL", "name": "Name"}  # fmt: skip
SHEET = [
    ("+1 (205) 797-3091", "3", HOOK, "Birmingham", "S-100"),
    ("+12127536455", "3", HOOK, "Midtown", "S-101"),
    ("1-305-884-4729", "27", HOOK, "Miami Beach", "S-102"),
    ("+1 (415) 555-0173", "3", HOOK, "Mission St", "S-103"),
    ("13126169871", "3", HOOK, "Loop", "S-104"),
    ("+1 (702) 841-3301", "7", HOOK, "Strip", "S-105"),
    ("+16177764725", "3", HOOK, "Back Bay", "S-106"),
]
# What the account holds for each number (None: not registered): a callback URL moved,
# a store renamed, a number gaining MMS (27: a replace).
ACCOUNT: list[dict[str, object] | None] = [
    {"capabilities": 3, "callback_url": HOOK, "name": "Birmingham"},
    {"capabilities": 3, "callback_url": OLD_HOOK, "name": "Midtown"},
    {"capabilities": 3, "callback_url": HOOK, "name": "Miami Beach"},
    {"capabilities": 3, "callback_url": OLD_HOOK, "name": "Mission"},
    None,
    None,
    {"capabilities": 3, "callback_url": HOOK, "name": "Back Bay"},
]
NUMBERS = ["12057973091", "12127536455", "13058844729", "14155550173", "13126169871",
           "17028413301", "16177764725"]  # fmt: skip
PRUNED = [("19175550142", "Chelsea"), ("16465550199", "SoHo (closed)")]


def main() -> None:
    """Write the plan report, export it, and write docs/plan-report.png."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        report = _plan_report(work)
        pdf = _to_pdf(_fitted(report), work)
        x, y, width, height = _used_box(pdf, 1, RESOLUTION, work)
        _to_png(pdf, 1, RESOLUTION, (x, y, int(width * _shown_part(report)), height), TARGET)
        print(TARGET)


def _fitted(report: Path) -> Path:
    """A copy of the report whose Results prints one page wide, as the picture needs it
    (the report itself prints it at 70 %, across pages: too wide to fit legibly)."""
    book = openpyxl.load_workbook(report)
    sheet = book["Results"]
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.page_setup.scale = None
    fitted = report.with_name(f"{report.stem}.fitted.xlsx")
    book.save(fitted)
    book.close()
    return fitted


def _shown_part(report: Path) -> float:
    """The part of the Results width up to `normalized_phonenumber` (the error columns,
    empty but for the invalid row, are left out of the picture)."""
    book = openpyxl.load_workbook(report)
    sheet = book["Results"]
    titles = [cell.value for cell in sheet[1]]
    widths = [sheet.column_dimensions[get_column_letter(i + 1)].width for i in range(len(titles))]
    book.close()
    last = titles.index(LAST_SHOWN) + 1
    return sum(widths[:last]) / sum(widths) - 0.002


def _plan_report(work: Path) -> Path:
    results = [_sheet_row(index) for index in range(len(SHEET))]
    results += [_pruned(-1 - index, *pruned) for index, pruned in enumerate(PRUNED)]
    path = work / "acme_numbers.plan.xlsx"
    options = [("prune", True), ("allow replace", True)]
    summary = _summary(work, results)
    data = ReportData(header=HEADER, results=results, summary=summary, mapping=MAPPING,
                      options=options)  # fmt: skip
    write_report(ReportFiles(workbook=path), data)
    return path


def _sheet_row(index: int) -> RowResult:
    cells, number, held = SHEET[index], NUMBERS[index], ACCOUNT[index]
    if cells[1] == "7":
        issue = catalogue.CAPABILITIES_VOICE_NOT_ALLOWED.issue(
            field="capabilities", column="Capabilities", value="7"
        )
        return RowResult(row=RawRow(index + 2, cells), status=Status.INVALID, issues=(issue,))
    wanted = {"capabilities": int(cells[1]), "callback_url": cells[2], "name": cells[3]}
    record = (
        None if held is None else {"phonenumber": number, **held, "external_did_sid": _sid(index)}
    )
    changes: tuple[FieldChange, ...] = () if record is None else differences(wanted, record)
    status = _action(record, changes)
    return RowResult(row=RawRow(index + 2, cells), status=status, normalized_phonenumber=number,
                     external_did_sid=record and _sid(index),  # type: ignore[arg-type]
                     planned=Planned(record=record, changes=changes))  # fmt: skip


def _action(record: object, changes: tuple[FieldChange, ...]) -> Status:
    if record is None:
        return Status.WOULD_REGISTER
    if not changes:
        return Status.UNCHANGED
    if any(change.field == "capabilities" for change in changes):
        return Status.WOULD_REPLACE
    return Status.WOULD_UPDATE


def _pruned(row_number: int, number: str, name: str) -> RowResult:
    record = {"phonenumber": number, "external_did_sid": _sid(20 - row_number),
              "capabilities": 3, "callback_url": OLD_HOOK, "name": name}  # fmt: skip
    return RowResult(row=RawRow(row_number, ()), status=Status.WOULD_DELETE,
                     normalized_phonenumber=number, planned=Planned(record=record))  # fmt: skip


def _sid(index: int) -> str:
    return f"7f3c2a10-5b4e-4d6a-9c1e-2b8d4f6a{index:04d}"


def _summary(work: Path, results: list[RowResult]) -> RunSummary:
    started = datetime.now(UTC)
    facts = InputFacts(file=str(work / "acme_numbers.csv"), sha256="0" * 64, format="csv",
                       encoding="utf-8", delimiter=",", header_row=1, data_rows=len(SHEET),
                       mapping=MAPPING)  # fmt: skip
    return RunSummary(tool_version=__version__, phonenumbers_version="-", mode="plan",
                      input=facts, counts=count_statuses(results, "plan"), started_at=started,
                      finished_at=started, duration_seconds=0.5, rows_per_second=18.0,
                      exit_code=exit_code_for(results))  # fmt: skip


if __name__ == "__main__":
    main()
