"""Tests for importer.reporter: the results workbook and the JSON summary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook
from xlsxwriter.exceptions import FileCreateError, XlsxWriterException

from importer import catalogue, reporter
from importer.errors import ConfigError
from importer.models import Issue, RawRow, RowResult, Severity, Status
from importer.summary import InputFacts, RunSummary, count_statuses, exit_code_for

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
APPENDED = list(reporter.RESULT_COLUMNS)


def _row(number: int, *cells: str) -> RawRow:
    return RawRow(number, tuple(cells))


def _rejected_issue() -> Issue:
    return catalogue.API_REJECTED.issue(
        field="callback_url", detail="callback_url is not reachable"
    )


def _results() -> list[RowResult]:
    """One row per status, plus multi-issue, warning-only and ragged rows."""
    cb = "https://example.com/cb"
    return [
        RowResult(
            row=_row(2, "+12059051025", "3", cb, HOSTILE[0]),
            status=Status.REGISTERED,
            normalized_phonenumber="+12059051025",
            external_did_sid=SID,
            http_status=200,
            attempts=1,
        ),
        RowResult(
            row=_row(3, "12059051026", "27", "", HOSTILE[1]),
            status=Status.ALREADY_REGISTERED,
            normalized_phonenumber="+12059051026",
            external_did_sid=SID,
            http_status=200,
            attempts=2,
        ),
        RowResult(
            row=_row(4, "0012059051027", "3", "", HOSTILE[2]),
            status=Status.WOULD_REGISTER,
            normalized_phonenumber="+12059051027",
        ),
        RowResult(
            row=_row(5, "2059051", "7", "", HOSTILE[3]),
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
            row=_row(6, "+12059051025", "3", "", ""),
            status=Status.DUPLICATE,
            issues=(
                catalogue.ROW_DUPLICATE.issue(
                    field="phonenumber", column="Phone Number", value="+12059051025", first_row=2
                ),
            ),
        ),
        RowResult(
            row=_row(7, "+12059051028", "3", "http://nowhere.invalid/cb", ""),
            status=Status.REJECTED,
            issues=(_rejected_issue(),),
            normalized_phonenumber="+12059051028",
            http_status=422,
            attempts=1,
        ),
        RowResult(
            row=_row(8, "+12059051029", "3", "", ""),
            status=Status.FAILED,
            issues=(catalogue.API_FAILED.issue(attempts=5, detail="timed out"),),
            normalized_phonenumber="+12059051029",
            attempts=5,
        ),
        RowResult(
            row=_row(10, "+12059051030", "3", "", ""),
            status=Status.NOT_ATTEMPTED,
            normalized_phonenumber="+12059051030",
        ),
        RowResult(
            row=_row(11, "+12059051031", "3", "", "", "extra one", "extra two"),
            status=Status.REGISTERED,
            issues=(catalogue.ROW_RAGGED.issue(found=6, expected=4),),
            normalized_phonenumber="+12059051031",
            external_did_sid=SID,
            http_status=200,
            attempts=1,
        ),
        RowResult(
            row=_row(12, "+12059051032"),
            status=Status.INVALID,
            issues=(catalogue.CAPABILITIES_MISSING.issue(field="capabilities"),),
        ),
    ]


def _summary(input_file: Path, results: list[RowResult], **changes: object) -> RunSummary:
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


@contextmanager
def _opened(path: Path, *, read_only: bool = False) -> Iterator[Workbook]:
    workbook = openpyxl.load_workbook(path, read_only=read_only)
    try:
        yield workbook
    finally:
        workbook.close()


def _values(sheet: Worksheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _text(value: object) -> object:
    """A blank cell reads back as None; the report means an empty string."""
    return "" if value is None else value


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "partner.csv"
    path.write_text("Phone Number;Capabilities\n+12059051025;3\n", encoding="utf-8")
    return path


@pytest.fixture
def results() -> list[RowResult]:
    return _results()


@pytest.fixture
def summary(input_file: Path, results: list[RowResult]) -> RunSummary:
    return _summary(input_file, results)


@pytest.fixture
def report(tmp_path: Path, results: list[RowResult], summary: RunSummary) -> Path:
    return reporter.write_report(
        tmp_path / "out" / "partner.results.xlsx", HEADER, results, summary
    )


@pytest.fixture
def book(report: Path) -> Iterator[Workbook]:
    with _opened(report) as workbook:
        yield workbook


# -- Results sheet ---------------------------------------------------------------------
def test_sheets_are_results_summary_errors(book: Workbook) -> None:
    """The workbook has exactly the Results, Summary and Errors sheets, in that order."""
    assert book.sheetnames == ["Results", "Summary", "Errors"]


def test_results_header_keeps_partner_header_then_appends(book: Workbook) -> None:
    """The original header comes first, unchanged; blank names cover extra cells; ours follow."""
    header = [_text(value) for value in _values(book["Results"])[0]]
    assert header == [*HEADER, "", "", *APPENDED]


def test_results_rows_keep_order_status_and_original_cells(
    book: Workbook, results: list[RowResult]
) -> None:
    """One line per result in the given order, original cells as given, status per row."""
    rows = _values(book["Results"])[1:]
    width = len(HEADER) + 2
    status_at = width + APPENDED.index("status")
    assert len(rows) == len(results)
    for line, result in zip(rows, results, strict=True):
        cells = list(result.row.cells) + [""] * (width - len(result.row.cells))
        assert [_text(value) for value in line[:width]] == cells
        assert line[status_at] == result.status.value


def test_ragged_rows_are_padded_and_extra_cells_kept(book: Workbook) -> None:
    """A long row keeps its extra cells under blank headers; a short row is padded."""
    rows = _values(book["Results"])
    long_row = next(line for line in rows if line[0] == "+12059051031")
    short_row = next(line for line in rows if line[0] == "+12059051032")
    assert long_row[4:6] == ["extra one", "extra two"]
    assert short_row[1:6] == [None] * 5
    assert short_row[6] == "invalid"


def test_multi_issue_row_joins_errors_and_hides_warnings(book: Workbook) -> None:
    """Several errors are joined with '; '; a warning is left out when the row has errors."""
    line = dict(zip(APPENDED, _values(book["Results"])[4][6:], strict=True))
    assert line["error_code"] == "phonenumber.invalid; capabilities.voice_not_allowed"
    assert line["error_field"] == "phonenumber; capabilities"
    assert line["error_message"] == (
        "'2059051' is not a valid number for its country; "
        "capability mask 7 includes voice (4), which External DIDs never support"
    )


def test_warning_only_row_shows_prefixed_warning(book: Workbook) -> None:
    """A row with only warnings shows them, each message prefixed 'warning: '."""
    line = dict(zip(APPENDED, _values(book["Results"])[9][6:], strict=True))
    assert line["status"] == "registered"
    assert line["error_code"] == "row.ragged"
    assert line["error_message"] == "warning: row has 6 cells but the header has 4"


def test_outcome_columns_have_the_right_types(book: Workbook) -> None:
    """http_status and attempts are numbers; sid and normalized number are text."""
    line = dict(zip(APPENDED, _values(book["Results"])[1][6:], strict=True))
    assert line == {
        "status": "registered",
        "external_did_sid": SID,
        "normalized_phonenumber": "+12059051025",
        "error_code": None,
        "error_field": None,
        "error_message": None,
        "http_status": 200,
        "attempts": 1,
    }


def test_phone_numbers_stay_text(book: Workbook) -> None:
    """Phone-number cells, even all-digit ones with leading zeros, are string cells."""
    sheet = book["Results"]
    normalized = len(HEADER) + 2 + APPENDED.index("normalized_phonenumber") + 1
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "s"
        assert isinstance(row[0].value, str)
        if row[normalized - 1].value is not None:
            assert row[normalized - 1].data_type == "s"
    assert sheet["A4"].value == "0012059051027"


def test_no_cell_is_a_formula_or_a_link(book: Workbook) -> None:
    """Hostile and URL-like cells come back as the same plain strings, in every sheet."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"
                assert cell.hyperlink is None, f"{sheet.title}!{cell.coordinate}"
    notes = [row[3] for row in _values(book["Results"])[1:5]]
    assert notes == list(HOSTILE[:4])
    assert book["Results"]["C2"].value == "https://example.com/cb"
    assert book["Results"]["C2"].data_type == "s"


def test_results_sheet_is_laid_out(book: Workbook) -> None:
    """The header row is frozen and filtered; columns have capped, readable widths."""
    sheet = book["Results"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:N11"
    widths = [dimension.width for dimension in sheet.column_dimensions.values()]
    assert widths
    assert all(
        reporter.MIN_COLUMN_WIDTH <= width <= reporter.MAX_COLUMN_WIDTH + 1 for width in widths
    )


def test_column_width_is_capped(tmp_path: Path, input_file: Path) -> None:
    """A very long value does not make its column wider than the cap."""
    results = [RowResult(row=_row(2, "x" * 500), status=Status.WOULD_REGISTER)]
    path = reporter.write_report(
        tmp_path / "wide.xlsx", ("Notes",), results, _summary(input_file, results)
    )
    with _opened(path) as workbook:
        width = workbook["Results"].column_dimensions["A"].width
    assert reporter.MAX_COLUMN_WIDTH - 1 <= width <= reporter.MAX_COLUMN_WIDTH + 1


# -- Summary sheet ---------------------------------------------------------------------
def _summary_items(book: Workbook) -> dict[object, object]:
    rows = _values(book["Summary"])
    assert rows[0] == ["item", "value"]
    return dict(rows[1:])


def test_summary_holds_every_status_count(book: Workbook) -> None:
    """Summary lists a count for every status, zero included, and the total."""
    items = _summary_items(book)
    expected = {f"status: {status.value}": 1 for status in Status}
    expected["status: registered"] = 2
    expected["status: invalid"] = 2
    assert {key: items[key] for key in expected} == expected
    assert items["rows"] == 10


def test_summary_holds_input_facts_mapping_and_run(book: Workbook, input_file: Path) -> None:
    """Summary shows the input facts, the mapping, versions, timings and exit code."""
    items = _summary_items(book)
    assert items["input: file"] == str(input_file)
    assert items["input: sha256"] == "ab" * 32
    assert items["input: delimiter"] == "semicolon (';')"
    assert items["input: header row"] == 1
    assert items["input: sheet"] is None
    assert items["input: encoding"] == "utf-8"
    assert items["mapping: phonenumber"] == "Phone Number"
    assert items["mode"] == "run"
    assert items["tool version"] == "0.1.0"
    assert items["phonenumbers version"] == "9.0.19"
    assert items["started at"] == "2026-11-22T14:00:00+00:00"
    assert items["duration (s)"] == 2
    assert items["exit code"] == 1


def test_summary_never_shows_credentials(book: Workbook) -> None:
    """The base URL is shown without user, password or query string."""
    items = _summary_items(book)
    assert items["base url"] == "https://api.example.com/core/v2"
    for row in _values(book["Summary"]):
        assert "s3cret" not in str(row)
        assert "token=abc" not in str(row)


def test_mapping_argument_overrides_summary_mapping(
    tmp_path: Path, results: list[RowResult], summary: RunSummary
) -> None:
    """An explicit mapping is the one shown in Summary."""
    path = reporter.write_report(
        tmp_path / "r.xlsx", HEADER, results, summary, mapping={"phonenumber": "Notes"}
    )
    with _opened(path) as workbook:
        items = _summary_items(workbook)
    assert items["mapping: phonenumber"] == "Notes"
    assert "mapping: capabilities" not in items


# -- Errors sheet ----------------------------------------------------------------------
def test_errors_lists_one_line_per_issue_of_rows_needing_attention(book: Workbook) -> None:
    """Every error issue has a line; rows that ended well and warnings have none."""
    rows = _values(book["Errors"])
    assert rows[0] == list(reporter.ERROR_COLUMNS)
    lines = [(row[0], row[3], _text(row[4])) for row in rows[1:]]
    assert lines == [
        (5, "invalid", "phonenumber.invalid"),
        (5, "invalid", "capabilities.voice_not_allowed"),
        (6, "duplicate", "row.duplicate"),
        (7, "rejected", "api.rejected"),
        (8, "failed", "api.failed"),
        (10, "not_attempted", ""),
        (12, "invalid", "capabilities.missing"),
    ]


def test_errors_place_the_issue_in_the_partner_sheet(book: Workbook) -> None:
    """An error line names the column letter, the header text, the value and the hint."""
    line = dict(zip(reporter.ERROR_COLUMNS, _values(book["Errors"])[2], strict=True))
    assert line == {
        "row": 5,
        "column": "B",
        "column_name": "Capabilities",
        "status": "invalid",
        "code": "capabilities.voice_not_allowed",
        "field": "capabilities",
        "value": "7",
        "message": "capability mask 7 includes voice (4), which External DIDs never support",
        "hint": catalogue.CAPABILITIES_VOICE_NOT_ALLOWED.hint,
    }


def test_errors_find_the_column_of_a_field_through_the_mapping(book: Workbook) -> None:
    """An issue naming only a field is placed by the mapping, its value taken from the row."""
    rejected = dict(zip(reporter.ERROR_COLUMNS, _values(book["Errors"])[4], strict=True))
    assert (rejected["column"], rejected["column_name"]) == ("C", "Callback")
    assert rejected["value"] == "http://nowhere.invalid/cb"
    failed = dict(zip(reporter.ERROR_COLUMNS, _values(book["Errors"])[5], strict=True))
    assert (failed["column"], failed["column_name"], failed["value"]) == (None, None, None)


# -- pure flattening -------------------------------------------------------------------
def test_report_row_flattens_for_other_writers() -> None:
    """report_row gives padded original cells then the eight outcome cells."""
    result = RowResult(
        row=_row(2, "+12059051025"),
        status=Status.FAILED,
        issues=(Issue(code="x.y", message="m", severity=Severity.WARNING, field="f"),),
        attempts=3,
    )
    assert reporter.report_row(result, 3) == [
        "+12059051025",
        "",
        "",
        "failed",
        None,
        None,
        "x.y",
        "f",
        "warning: m",
        None,
        3,
    ]


def test_report_row_refuses_a_width_narrower_than_the_row() -> None:
    """A width that would drop cells is a programming error, not a silent loss."""
    result = RowResult(row=_row(2, "a", "b"), status=Status.INVALID)
    with pytest.raises(ValueError, match="row 2 has 2 cells"):
        reporter.report_row(result, 1)


@pytest.mark.parametrize(
    ("delimiter", "shown"), [(None, None), ("\t", "tab ('\\t')"), ("#", "#"), (",", "comma (',')")]
)
def test_delimiter_is_named(delimiter: str | None, shown: str | None) -> None:
    """Invisible or ambiguous delimiters are written with their name."""
    assert reporter._describe_delimiter(delimiter) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (None, None),
        ("http://127.0.0.1:8080/core/v2", "http://127.0.0.1:8080/core/v2"),
        ("https://u:p@api.carrierx.com/core/v2?token=t#x", "https://api.carrierx.com/core/v2"),
    ],
)
def test_redact_url(url: str | None, shown: str | None) -> None:
    """Only scheme, host, port and path of the base URL are ever reported."""
    assert reporter.redact_url(url) == shown


def test_default_report_path() -> None:
    """The default report sits in the report folder, named after the input's stem."""
    path = reporter.default_report_path(Path("in/partner.2026.csv"), Path("reports"))
    assert path == Path("reports/partner.2026.results.xlsx")


# -- files -----------------------------------------------------------------------------
def test_refuses_to_overwrite_the_input(
    input_file: Path, results: list[RowResult], summary: RunSummary
) -> None:
    """A report path that is the input file raises ConfigError and leaves the input intact."""
    before = input_file.read_bytes()
    same = input_file.parent / "." / input_file.name
    with pytest.raises(ConfigError, match="would overwrite the input file"):
        reporter.write_report(same, HEADER, results, summary)
    with pytest.raises(ConfigError, match="would overwrite the input file"):
        reporter.write_summary_json(input_file, summary)
    assert input_file.read_bytes() == before


def test_replaces_an_old_report_without_leaving_temporaries(
    tmp_path: Path, results: list[RowResult], summary: RunSummary
) -> None:
    """Writing over an old report replaces it and leaves no temporary file behind."""
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"old")
    reporter.write_report(path, HEADER, results, summary)
    assert path.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_write_keeps_the_old_report(
    tmp_path: Path, results: list[RowResult], summary: RunSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When rendering fails half way, the old report is untouched and no temporary remains."""
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"old")

    def broken(*args: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(reporter, "error_rows", broken)
    with pytest.raises(RuntimeError, match="boom"):
        reporter.write_report(path, HEADER, results, summary)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partner.csv", "r.xlsx"]


def test_an_unwritable_target_is_a_config_error(
    tmp_path: Path, results: list[RowResult], summary: RunSummary
) -> None:
    """A report path that is a directory gives a one-line ConfigError naming it."""
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(ConfigError, match="taken: cannot write the report") as raised:
        reporter.write_report(target, HEADER, results, summary)
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
    ("error", "reason"),
    [
        (IsADirectoryError(21, "Is a directory"), "Is a directory"),
        (_file_create_error(), "Permission denied"),
        (XlsxWriterException(), "XlsxWriterException"),
    ],
)
def test_write_failures_read_as_one_short_reason(error: Exception, reason: str) -> None:
    """OS and xlsxwriter failures are reduced to the OS reason for the one-line message."""
    assert reporter._reason(error) == reason


def test_too_many_rows_for_a_sheet_is_refused(
    tmp_path: Path, results: list[RowResult], summary: RunSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows beyond the sheet's limit raise instead of being dropped silently."""
    monkeypatch.setattr(reporter, "MAX_SHEET_ROWS", 5)
    with pytest.raises(ConfigError, match="do not fit in one sheet"):
        reporter.write_report(tmp_path / "r.xlsx", HEADER, results, summary)


def test_summary_json_round_trips(tmp_path: Path, summary: RunSummary) -> None:
    """The JSON summary is valid RunSummary JSON, in a new folder, with the URL redacted."""
    path = reporter.write_summary_json(tmp_path / "deep" / "er" / "summary.json", summary)
    again = RunSummary.model_validate_json(path.read_text(encoding="utf-8"))
    assert again == summary.model_copy(update={"base_url": "https://api.example.com/core/v2"})
    assert json.loads(path.read_text(encoding="utf-8"))["counts"]["registered"] == 2


def test_empty_run_writes_headers_only(tmp_path: Path, input_file: Path) -> None:
    """A file with no data rows still gets all three sheets with their headers."""
    path = reporter.write_report(tmp_path / "e.xlsx", HEADER, [], _summary(input_file, []))
    with _opened(path) as workbook:
        assert _values(workbook["Results"]) == [[*HEADER, *APPENDED]]
        assert _values(workbook["Errors"]) == [list(reporter.ERROR_COLUMNS)]


def test_many_url_cells_are_all_kept(tmp_path: Path, input_file: Path) -> None:
    """70,000 URL-like cells all survive (no hyperlink conversion, no 65,530-link cut).

    Read back with calamine, which reads this many rows ten times faster than openpyxl.
    """
    count = 70_000
    results = [
        RowResult(row=_row(n + 2, f"https://example.com/cb/{n}"), status=Status.WOULD_REGISTER)
        for n in range(count)
    ]
    started = time.perf_counter()
    path = reporter.write_report(
        tmp_path / "urls.xlsx", ("callback_url",), results, _summary(input_file, results)
    )
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Results").to_python()
    assert [row[0] for row in rows[1:]] == [result.row.cells[0] for result in results]
    assert time.perf_counter() - started < 30
