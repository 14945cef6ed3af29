"""Tests for importer.reporter: the workbook's Results, Summary, Errors and Retry sheets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from reporter_samples import (
    APPENDED,
    HEADER,
    HOSTILE,
    MAPPING,
    SID,
    formula_cells,
    opened,
    row,
    sample_results,
    sample_summary,
    text,
    values,
    write_workbook,
)

from importer.config import build_settings
from importer.models import Issue, RawRow, RowResult, Severity, Status
from importer.reporter import flatten, report_options, workbook
from importer.reporter.items import describe_delimiter, redact_url, summary_items
from importer.reporter.summary import RunSummary
from importer.validate import catalogue

WIDTH = len(HEADER) + 2  # the ragged sample row has two extra cells


@pytest.fixture
def report(tmp_path: Path, results: list[RowResult], summary: RunSummary) -> Path:
    options = report_options(build_settings({"api": {"token": "tok-s3cret"}}), sends=True)
    path = tmp_path / "out" / "partner.results.xlsx"
    return write_workbook(path, HEADER, results, summary, options=options)


@pytest.fixture
def book(report: Path) -> Iterator[Workbook]:
    with opened(report) as loaded:
        yield loaded


# -- every sheet -----------------------------------------------------------------------
def test_sheets_are_results_summary_errors_retry(book: Workbook) -> None:
    """The workbook has the Results, Summary, Errors and Retry sheets, Results first."""
    assert book.sheetnames == ["Results", "Summary", "Errors", "Retry"]
    assert book.active is not None
    assert book.active.title == "Results"


def test_no_cell_is_a_formula_or_a_link(book: Workbook) -> None:
    """Hostile and URL-like cells come back as the same plain strings, in every sheet."""
    assert formula_cells(book) == []
    notes = [line[3] for line in values(book["Results"])[1:5]]
    assert notes == list(HOSTILE[:4])
    assert book["Results"]["C2"].value == "https://example.com/cb"
    assert book["Results"]["C2"].data_type == "s"


@pytest.mark.parametrize("sheet", ["Results", "Summary", "Errors", "Retry"])
def test_every_sheet_is_laid_out(book: Workbook, sheet: str) -> None:
    """Each sheet has a frozen, filtered header row and capped, readable column widths."""
    worksheet = book[sheet]
    assert worksheet.freeze_panes == "A2"
    assert worksheet.auto_filter.ref is not None
    assert worksheet.auto_filter.ref.startswith("A1:")
    widths = [dimension.width for dimension in worksheet.column_dimensions.values()]
    assert widths
    assert all(
        workbook.MIN_COLUMN_WIDTH <= width <= workbook.MAX_COLUMN_WIDTH + 1 for width in widths
    )


# -- Results sheet ---------------------------------------------------------------------
def test_results_header_keeps_partner_header_then_appends(book: Workbook) -> None:
    """The original header comes first, unchanged; blank names cover extra cells; ours follow."""
    header = [text(value) for value in values(book["Results"])[0]]
    assert header == [*HEADER, "", "", *APPENDED]
    assert book["Results"].auto_filter.ref == "A1:N11"


def test_results_rows_keep_order_status_and_original_cells(
    book: Workbook, results: list[RowResult]
) -> None:
    """One line per result in the given order, original cells as given, status per row."""
    lines = values(book["Results"])[1:]
    status_at = WIDTH + APPENDED.index("status")
    assert len(lines) == len(results)
    for line, result in zip(lines, results, strict=True):
        cells = list(result.row.cells) + [""] * (WIDTH - len(result.row.cells))
        assert [text(value) for value in line[:WIDTH]] == cells
        assert line[status_at] == result.status.value


@pytest.mark.parametrize(
    ("status", "fill"),
    [
        (Status.REGISTERED, "C6EFCE"),
        (Status.ALREADY_REGISTERED, "C6EFCE"),
        (Status.WOULD_REGISTER, "DDEBF7"),
        (Status.INVALID, "FCE4D6"),
        (Status.DUPLICATE, "FCE4D6"),
        (Status.REJECTED, "FCE4D6"),
        (Status.FAILED, "FFC7CE"),
        (Status.NOT_ATTEMPTED, "FFC7CE"),
    ],
)
def test_status_cells_are_coloured(book: Workbook, status: Status, fill: str) -> None:
    """Green for registered, blue for would_register, orange for row problems, red for failures."""
    status_col = WIDTH + APPENDED.index("status") + 1
    cells = [
        line[status_col - 1]
        for line in book["Results"].iter_rows(min_row=2)
        if line[status_col - 1].value == status.value
    ]
    assert cells
    for cell in cells:
        assert str(cell.fill.fgColor.rgb).endswith(fill), (status, cell.fill.fgColor.rgb)


def test_our_header_cells_are_told_apart(book: Workbook) -> None:
    """The appended header cells have their own colour; the partner's are grey."""
    header = next(book["Results"].iter_rows(max_row=1))
    assert str(header[0].fill.fgColor.rgb).endswith("D9D9D9")
    assert str(header[WIDTH].fill.fgColor.rgb).endswith("BDD7EE")
    assert header[0].font.b


def test_ragged_rows_are_padded_and_extra_cells_kept(book: Workbook) -> None:
    """A long row keeps its extra cells under blank headers; a short row is padded."""
    lines = values(book["Results"])
    long_row = next(line for line in lines if line[0] == "+12059051031")
    short_row = next(line for line in lines if line[0] == "+12059051032")
    assert long_row[4:6] == ["extra one", "extra two"]
    assert short_row[1:6] == [None] * 5
    assert short_row[6] == "invalid"


def test_multi_issue_row_joins_errors_and_hides_warnings(book: Workbook) -> None:
    """Several errors are joined with '; '; a warning is left out when the row has errors."""
    line = dict(zip(APPENDED, values(book["Results"])[4][WIDTH:], strict=True))
    assert line["error_code"] == "phonenumber.invalid; capabilities.voice_not_allowed"
    assert line["error_field"] == "phonenumber; capabilities"
    assert line["error_message"] == (
        "'2059051' is not a valid number for its country; "
        "capability mask 7 includes voice (4), which External DIDs never support"
    )


def test_warning_only_row_shows_prefixed_warning(book: Workbook) -> None:
    """A row with only warnings shows them, each message prefixed 'warning: '."""
    line = dict(zip(APPENDED, values(book["Results"])[9][WIDTH:], strict=True))
    assert line["status"] == "registered"
    assert line["error_code"] == "row.ragged"
    assert line["error_message"] == "warning: row has 6 cells but the header has 4"


def test_outcome_columns_have_the_right_types(book: Workbook) -> None:
    """http_status and attempts are numbers; sid and normalized number are text."""
    line = dict(zip(APPENDED, values(book["Results"])[1][WIDTH:], strict=True))
    assert line == {
        "status": "registered",
        "external_did_sid": SID,
        "normalized_phonenumber": "12059051025",
        "error_code": None,
        "error_field": None,
        "error_message": None,
        "http_status": 200,
        "attempts": 1,
    }


def test_phone_numbers_stay_text(book: Workbook) -> None:
    """Phone-number cells, even all-digit ones with leading zeros, are string cells."""
    sheet = book["Results"]
    normalized = WIDTH + APPENDED.index("normalized_phonenumber")
    for line in sheet.iter_rows(min_row=2):
        assert line[0].data_type == "s"
        assert isinstance(line[0].value, str)
        if line[normalized].value is not None:
            assert line[normalized].data_type == "s"
    assert sheet["A4"].value == "0012059051027"


def test_column_width_is_capped(tmp_path: Path, input_file: Path) -> None:
    """A very long value does not make its column wider than the cap."""
    results = [RowResult(row=row(2, "x" * 500), status=Status.WOULD_REGISTER)]
    path = write_workbook(
        tmp_path / "wide.xlsx", ("Notes",), results, sample_summary(input_file, results)
    )
    with opened(path) as loaded:
        width = loaded["Results"].column_dimensions["A"].width
    assert workbook.MAX_COLUMN_WIDTH - 1 <= width <= workbook.MAX_COLUMN_WIDTH + 1


@pytest.mark.parametrize("sheet", ["Results", "Summary", "Errors", "Retry"])
def test_sheets_print_landscape_with_the_header_on_every_page(book: Workbook, sheet: str) -> None:
    """Printed or exported to PDF, every sheet is landscape, its header row repeated."""
    worksheet = book[sheet]
    assert worksheet.page_setup.orientation == "landscape"
    assert worksheet.print_title_rows == "$1:$1"


def _page_widths(worksheet: Worksheet) -> list[float]:
    return [float(d.width) for d in worksheet.column_dimensions.values() if d.width]


@pytest.mark.parametrize("sheet", ["Results", "Errors", "Retry"])
def test_a_sheet_is_fitted_to_the_page_only_when_it_stays_readable(
    book: Workbook, sheet: str
) -> None:
    """One page wide when that prints at 70 % or more; wider, at 70 %, across the pages."""
    worksheet = book[sheet]
    fitted = bool(worksheet.sheet_properties.pageSetUpPr.fitToPage)
    widths = _page_widths(worksheet)
    assert fitted == workbook.print_fits([round(width) for width in widths])
    if fitted:
        assert worksheet.page_setup.fitToHeight == 0
    else:
        assert worksheet.page_setup.scale == workbook.PRINT_MIN_SCALE
        assert worksheet.page_setup.pageOrder == "overThenDown"


def test_results_of_seventeen_columns_print_at_seventy_percent(book: Workbook) -> None:
    """The sample Results (17 columns) is not squeezed one page wide (it gave 3 pt text)."""
    worksheet = book["Results"]
    assert worksheet.max_column == WIDTH + len(flatten.RESULT_COLUMNS)
    assert not worksheet.sheet_properties.pageSetUpPr.fitToPage
    assert worksheet.page_setup.scale == 70


def test_summary_prints_one_page_wide_with_its_chart(book: Workbook) -> None:
    """Summary (two columns and the chart) is always fitted one page wide."""
    worksheet = book["Summary"]
    assert worksheet.sheet_properties.pageSetUpPr.fitToPage
    assert worksheet.page_setup.fitToHeight == 0


@pytest.mark.parametrize(
    ("widths", "fits"),
    [([20] * 8, True), ([60, 60, 58], True), ([60, 60, 60], False), ([10] * 17, True)],
)
def test_print_fits_when_seventy_percent_holds_the_columns(widths: list[int], fits: bool) -> None:
    """Columns fit when their widths at 70 % add up to a landscape page (125 units)."""
    assert workbook.print_fits(widths) is fits


# -- Summary sheet ---------------------------------------------------------------------
def _summary_items(book: Workbook) -> dict[object, object]:
    lines = values(book["Summary"])
    assert lines[0] == ["item", "value"]
    return {line[0]: line[1] for line in lines[1:]}


def test_summary_holds_every_status_count(book: Workbook) -> None:
    """Summary lists a count for every status, zero included, and the total."""
    items = _summary_items(book)
    registering = list(Status)[: list(Status).index(Status.NOT_ATTEMPTED) + 1]
    expected = {status.value: int(status in registering) for status in Status}
    expected["registered"] = 2
    expected["invalid"] = 2
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
    assert items["mapping: phonenumber"] == "Phone Number (column A)"
    assert items["mapping: callback_url"] == "Callback (column C)"
    assert items["mode"] == "run"
    assert items["tool version"] == "0.1.0"
    assert items["phonenumbers version"] == "9.0.19"
    assert items["started at"] == "2026-11-22 14:00:00 UTC"
    assert items["duration (s)"] == 2
    assert items["rows per second"] == 5
    assert items["exit code"] == 1
    assert items["lines in Errors"] == 7
    assert items["rows in Retry"] == 4


def test_summary_holds_the_options(book: Workbook) -> None:
    """The run's options are listed, API ones included for a run."""
    items = _summary_items(book)
    assert items["option: concurrency"] == 16
    assert items["option: max attempts"] == 5
    assert items["option: workbook row limit"] == 200_000
    assert "option: default region" not in items  # not set: not listed


def test_summary_lists_only_the_options_that_were_set(book: Workbook) -> None:
    """No `option: …` line is empty: an option left unset is not listed."""
    options = [line for line in values(book["Summary"]) if str(line[0]).startswith("option: ")]
    assert options
    assert all(value not in (None, "") for _, value in options)


def test_summary_times_read_as_utc_wall_clock(book: Workbook) -> None:
    """Start and end are `2026-11-22 14:00:00 UTC`, not ISO 8601 with microseconds."""
    items = _summary_items(book)
    assert (items["started at"], items["finished at"]) == (
        "2026-11-22 14:00:00 UTC",
        "2026-11-22 14:00:02 UTC",
    )


def test_summary_values_are_all_left_aligned(book: Workbook) -> None:
    """Numbers and text of the value column line up on the left."""
    sheet = book["Summary"]
    cells = [sheet.cell(row=n, column=2) for n in range(2, sheet.max_row + 1)]
    numbers = [cell for cell in cells if isinstance(cell.value, int | float)]
    assert numbers
    assert {cell.alignment.horizontal for cell in cells if cell.value is not None} == {"left"}


def test_status_counts_are_indented_under_their_heading(book: Workbook) -> None:
    """`Rows by status` is a bold heading; each count below it is named by its status."""
    sheet = book["Summary"]
    names = [sheet.cell(row=n, column=1) for n in range(1, sheet.max_row + 1)]
    heading = next(cell for cell in names if cell.value == "Rows by status")
    assert heading.font.b
    first = sheet.cell(row=heading.row + 1, column=1)
    assert first.value == "would_register"
    assert first.alignment.indent == 1


def test_summary_never_shows_credentials(book: Workbook) -> None:
    """The base URL is shown without user, password or query string; never the token."""
    items = _summary_items(book)
    assert items["base url"] == "https://api.example.com/core/v2"
    for line in values(book["Summary"]):
        assert "s3cret" not in str(line)
        assert "token=abc" not in str(line)


def test_summary_has_a_chart_of_the_counts(report: Path) -> None:
    """A bar chart on Summary points at the status counts and caches their values."""
    import zipfile

    with zipfile.ZipFile(report) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        xml = archive.read(charts[0]).decode("utf-8")
    assert len(charts) == 1
    assert "<c:barChart>" in xml
    assert "'Summary'!$A$5:$A$12" in xml  # a run charts its own eight statuses
    assert "'Summary'!$B$5:$B$12" in xml
    assert "<c:v>registered</c:v>" in xml
    assert "<c:v>2</c:v>" in xml


def test_mapping_argument_overrides_summary_mapping(
    tmp_path: Path, results: list[RowResult], summary: RunSummary
) -> None:
    """An explicit mapping is the one shown in Summary."""
    path = write_workbook(
        tmp_path / "r.xlsx", HEADER, results, summary, mapping={"phonenumber": "Notes"}
    )
    with opened(path) as loaded:
        items = _summary_items(loaded)
    assert items["mapping: phonenumber"] == "Notes (column D)"
    assert "mapping: capabilities" not in items


def test_summary_names_the_columns_of_a_composed_field(summary: RunSummary) -> None:
    """A field composed from flag columns ("SMS + MMS columns") is shown with its letters."""
    header = ("Phone", "SMS", "MMS", "Notes")
    mapping = {"phonenumber": "Phone", "capabilities": "SMS + MMS columns"}
    items = dict(summary_items(summary, mapping, header=header))
    assert items["mapping: capabilities"] == "SMS + MMS columns (B, C)"
    missing = {"phonenumber": "Phone", "capabilities": "SMS + Fax columns"}
    items = dict(summary_items(summary, missing, header=header))
    assert items["mapping: capabilities"] == "SMS + Fax columns (column not found)"


def test_errors_show_the_normalised_value(tmp_path: Path, summary: RunSummary) -> None:
    """An Errors line carries the issue's normalised value beside the cell text."""
    issue = Issue(code="row.duplicate", message="m", field="phonenumber", value="(205) 905-1025",
                  normalized="12059051025")  # fmt: skip
    result = RowResult(row=RawRow(3, ("(205) 905-1025",)), status=Status.DUPLICATE, issues=(issue,))
    line = dict(zip(flatten.ERROR_COLUMNS, flatten.error_rows(("Phone",), result)[0], strict=True))
    assert (line["value"], line["normalized_value"]) == ("(205) 905-1025", "12059051025")


# -- Errors sheet ----------------------------------------------------------------------
def test_errors_lists_one_line_per_issue_of_rows_needing_attention(book: Workbook) -> None:
    """Every error issue has a line; rows that ended well and warnings have none."""
    lines = values(book["Errors"])
    assert lines[0] == list(flatten.ERROR_COLUMNS)
    found = [(line[0], line[3], text(line[4])) for line in lines[1:]]
    assert found == [
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
    line = dict(zip(flatten.ERROR_COLUMNS, values(book["Errors"])[2], strict=True))
    assert line == {
        "row": 5,
        "column": "B",
        "column_name": "Capabilities",
        "status": "invalid",
        "code": "capabilities.voice_not_allowed",
        "field": "capabilities",
        "value": "7",
        "normalized_value": None,
        "message": "capability mask 7 includes voice (4), which External DIDs never support",
        "hint": catalogue.CAPABILITIES_VOICE_NOT_ALLOWED.hint,
    }


def test_errors_find_the_column_of_a_field_through_the_mapping(book: Workbook) -> None:
    """An issue naming only a field is placed by the mapping, its value taken from the row."""
    rejected = dict(zip(flatten.ERROR_COLUMNS, values(book["Errors"])[4], strict=True))
    assert (rejected["column"], rejected["column_name"]) == ("C", "Callback")
    assert rejected["value"] == "http://nowhere.invalid/cb"
    failed = dict(zip(flatten.ERROR_COLUMNS, values(book["Errors"])[5], strict=True))
    assert (failed["column"], failed["column_name"], failed["value"]) == (None, None, None)


# -- Retry sheet -----------------------------------------------------------------------
def test_retry_holds_rows_to_send_again_in_the_original_layout(book: Workbook) -> None:
    """Invalid, failed and not_attempted rows, original header and cells only, input order."""
    lines = values(book["Retry"])
    assert [text(value) for value in lines[0]] == [*HEADER, "", ""]
    assert [line[0] for line in lines[1:]] == [
        "2059051",
        "+12059051029",
        "+12059051030",
        "+12059051032",
    ]
    assert lines[1][:4] == ["2059051", "7", None, HOSTILE[3]]
    assert all(len(line) == WIDTH for line in lines)


def test_retry_marks_the_cells_to_fix_and_keeps_typed_text(book: Workbook) -> None:
    """The cells an error points at are orange; original columns are text-formatted."""
    sheet = book["Retry"]
    assert str(sheet["A2"].fill.fgColor.rgb).endswith("FCE4D6")
    assert str(sheet["B2"].fill.fgColor.rgb).endswith("FCE4D6")
    assert not str(sheet["D2"].fill.fgColor.rgb).endswith("FCE4D6")
    assert sheet["A3"].number_format == "@"
    assert sheet.column_dimensions["A"].number_format == "@"


# -- pure flattening -------------------------------------------------------------------
def test_report_row_flattens_for_other_writers() -> None:
    """report_row gives padded original cells then the eight outcome cells."""
    result = RowResult(
        row=row(2, "+12059051025"),
        status=Status.FAILED,
        issues=(Issue(code="x.y", message="m", severity=Severity.WARNING, field="f"),),
        attempts=3,
    )
    assert flatten.report_row(result, 3) == [
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
    result = RowResult(row=row(2, "a", "b"), status=Status.INVALID)
    with pytest.raises(ValueError, match="row 2 has 2 cells"):
        flatten.report_row(result, 1)


@pytest.mark.parametrize("status", list(Status))
def test_needs_retry(status: Status) -> None:
    """Only invalid, failed, not_attempted and blocked rows are worth sending again."""
    result = RowResult(row=row(2, "x"), status=status)
    wanted = {Status.INVALID, Status.FAILED, Status.NOT_ATTEMPTED, Status.BLOCKED}
    assert flatten.needs_retry(result) is (status in wanted)


def test_options_of_a_dry_run_leave_the_api_out() -> None:
    """A validate run lists input and report options but no API ones, and never a token."""
    settings = build_settings(
        {
            "api": {"token": "tok-s3cret"},
            "defaults": {"callback_url": "https://u:pw@hooks.example.com/x?k=s3cret"},
            "input": {"columns": {"phonenumber": "DID"}},
        }
    )
    items = dict(report_options(settings, sends=False))
    assert "concurrency" not in items
    assert items["columns"] == "phonenumber=DID"
    assert items["callback url"] == "https://hooks.example.com/x"
    assert "s3cret" not in str(items)


@pytest.mark.parametrize(
    ("delimiter", "shown"), [(None, None), ("\t", "tab ('\\t')"), ("#", "#"), (",", "comma (',')")]
)
def test_delimiter_is_named(delimiter: str | None, shown: str | None) -> None:
    """Invisible or ambiguous delimiters are written with their name."""
    assert describe_delimiter(delimiter) == shown


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
    assert redact_url(url) == shown


def test_empty_run_writes_headers_only(tmp_path: Path, input_file: Path) -> None:
    """A file with no data rows still gets every sheet with its header."""
    path = write_workbook(tmp_path / "e.xlsx", HEADER, [], sample_summary(input_file, []))
    with opened(path) as loaded:
        assert values(loaded["Results"]) == [[*HEADER, *APPENDED]]
        assert values(loaded["Errors"]) == [list(flatten.ERROR_COLUMNS)]
        assert values(loaded["Retry"]) == [list(HEADER)]


def test_error_line_count_is_the_number_of_error_rows() -> None:
    """Counting a row's Errors lines (for the Summary) agrees with making them."""
    results = sample_results()
    counted = [flatten.error_line_count(result) for result in results]
    assert counted == [len(flatten.error_rows(HEADER, result, MAPPING)) for result in results]
    assert {0, 1} <= set(counted)
    assert max(counted) >= 2


@pytest.mark.parametrize("status", [Status.WOULD_REGISTER, Status.REGISTERED])
def test_plain_outcome_is_report_rows_outcome(status: Status) -> None:
    """The hot path's outcome cells equal `report_row`'s for a row with nothing to say."""
    result = RowResult(
        row=RawRow(2, ("+12059051025", "3")), status=status, normalized_phonenumber="12059051025"
    )
    cells = flatten.report_row(result, width=2)[2:]
    assert [("" if cell is None else cell) for cell in cells] == flatten.plain_outcome(
        status, "12059051025"
    )
    assert len(cells) == len(flatten.RESULT_COLUMNS)
