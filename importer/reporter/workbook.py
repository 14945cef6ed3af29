"""Rendering the results workbook with xlsxwriter, formula-free and in constant memory.

Every cell is written with an explicit type (`write_string`, `write_number`) and the
workbook's string conversions are off, so no cell is ever a formula, a hyperlink or a
number guessed from text (xlsxwriter's URL conversion would also silently drop every
link after Excel's 65,530th). `constant_memory` flushes each row as the next begins:
rows go out in order, and a sheet's column widths are guessed from its first rows.

A `Sheet` is a header and `Line`s: the cells of a row and, per column, the name of a
style in `STYLES` (a status colour, a cell to fix). The chart on the Summary sheet
points at its count cells, written above it; its cached values are given with the
series, since constant_memory keeps no cell to read them back from.

Printed (or exported to PDF) every sheet is landscape with its header row on every
page; it is fitted to one page wide only when that keeps its text at least
`PRINT_MIN_SCALE` (`print_fits`), else printed at that scale, page after page across.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from importer.models import Status
from importer.reporter.fastrows import FastRowsUnavailable, RowStream
from importer.reporter.flatten import Cell, Item

WORKBOOK_OPTIONS: dict[str, bool] = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 100  # the longest issue message with its values fits
WIDTH_SAMPLE_ROWS = 200
ROW_HEIGHT = 15  # points: Excel's default row, one line of 11 pt text
WRAP_FILL = 0.85  # characters a wrapped line holds per unit of column width (bold text)
FAST_ROWS = True  # rows as XML text (`fastrows`); False writes cell by cell through xlsxwriter
CHART_CELL = "D2"
CHART_SIZE = {"x_scale": 1.2, "y_scale": 1.1}
PRINT_PAGE_WIDTH = 125
"""Width units a landscape page holds at 100 % (Letter, the default margins; A4 more)."""
PRINT_MIN_SCALE = 70
"""Percent: fitted any smaller, 11 pt text prints below 8 pt (17 columns gave 3 pt)."""

_GREEN = {"bg_color": "#C6EFCE", "font_color": "#006100"}
_BLUE = {"bg_color": "#DDEBF7", "font_color": "#1F4E78"}
_ORANGE = {"bg_color": "#FCE4D6", "font_color": "#974706"}
_RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
_GREENS = (Status.REGISTERED, Status.ALREADY_REGISTERED, Status.UNCHANGED, Status.UPDATED)
_BLUES = (Status.WOULD_REGISTER, Status.WOULD_UPDATE, Status.WOULD_REPLACE, Status.WOULD_DELETE)
_ORANGES = (Status.INVALID, Status.DUPLICATE, Status.REJECTED, Status.BLOCKED)
STATUS_NAMES = frozenset(status.value for status in Status)
STATUS_COLOURS: Mapping[Status, Mapping[str, str]] = {
    **dict.fromkeys((*_GREENS, Status.REPLACED, Status.DELETED, Status.NOT_FOUND), _GREEN),
    **dict.fromkeys(_BLUES, _BLUE),
    **dict.fromkeys(_ORANGES, _ORANGE),
    **dict.fromkeys((Status.FAILED, Status.NOT_ATTEMPTED), _RED),
}
"""Green: ended well; blue: a dry run's or a plan's action; orange: the row needs a fix
(or, blocked, a flag); red: the run did not finish it."""
_COLOUR_BY_NAME = {status.value: colour for status, colour in STATUS_COLOURS.items()}
STYLES: Mapping[str, Mapping[str, object]] = {
    "header": {"bold": True, "bg_color": "#D9D9D9", "bottom": 1},
    "header_ours": {"bold": True, "bg_color": "#BDD7EE", "bottom": 1},
    "text": {"num_format": "@"},
    "fix": {"num_format": "@", **_ORANGE},
    "note": {"bold": True, "font_color": "#9C0006", "text_wrap": True, "align": "left"},
    "wrap": {"num_format": "@", "text_wrap": True},
    "headline": {"bold": True, "align": "left"},
    "heading": {"bold": True},
    "indent": {"indent": 1},
    "left": {"align": "left"},
    **{f"status:{status.value}": colour for status, colour in STATUS_COLOURS.items()},
}

WRAPPED_STYLES = frozenset(name for name, style in STYLES.items() if style.get("text_wrap"))

Styles = Mapping[int, str]


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a sheet: its cells and, per column index, a style name."""

    cells: Sequence[Cell]
    styles: Styles = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sheet:
    """One worksheet: name, column titles (with their style) and lines, consumed once."""

    name: str
    columns: Sequence[str]
    lines: Iterable[Line]
    header_styles: Styles = field(default_factory=dict)
    column_styles: Styles = field(default_factory=dict)
    active: bool = False
    narrow: Mapping[int, int] = field(default_factory=dict)  # column → its width cap (wraps)
    print_fit: bool = False  # printed one page wide however wide (else: `print_fits`)


@dataclass(frozen=True, slots=True)
class CountChart:
    """A bar chart of the count items of a sheet whose lines are summary items: those
    named by a bare status (`registered`, …).

    `charted`: the statuses shown (None: every one), which must be listed together.
    """

    sheet: str
    items: Sequence[Item]
    charted: Collection[str] | None = None

    def wanted(self, name: str) -> bool:
        """True for a status count the chart shows."""
        if name not in STATUS_NAMES:
            return False
        return self.charted is None or name in self.charted


def render_workbook(target: Path, sheets: Sequence[Sheet], chart: CountChart | None) -> None:
    """Write `sheets` in order to a new workbook at `target`, with the count chart."""
    workbook = xlsxwriter.Workbook(str(target), WORKBOOK_OPTIONS)
    try:
        formats = {name: workbook.add_format(dict(style)) for name, style in STYLES.items()}
        for sheet in sheets:
            worksheet = workbook.add_worksheet(sheet.name)
            write_sheet(worksheet, sheet, formats)
            if chart is not None and chart.sheet == sheet.name:
                _insert_chart(workbook, worksheet, chart)
    except BaseException:
        with suppress(OSError, XlsxWriterException):
            workbook.close()  # releases constant_memory's temporary files
        raise
    workbook.close()


def write_sheet(worksheet: Worksheet, sheet: Sheet, formats: Mapping[str, Format]) -> None:
    """Write a sheet row by row (constant_memory needs rows in order), then lay it out."""
    lines = iter(sheet.lines)
    sample = list(islice(lines, WIDTH_SAMPLE_ROWS))
    widths = column_widths(sheet.columns, [line.cells for line in sample])
    widths = [min(width, sheet.narrow.get(col, width)) for col, width in enumerate(widths)]
    for col, width in enumerate(widths):
        style = sheet.column_styles.get(col)
        worksheet.set_column(col, col, width, formats[style] if style else None)
    for col, title in enumerate(sheet.columns):
        worksheet.write_string(0, col, title, formats[sheet.header_styles.get(col, "header")])
    last = _write_lines(worksheet, chain(sample, lines), formats, sheet.column_styles, widths)
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, last, max(len(sheet.columns) - 1, 0))
    _print_setup(worksheet, sheet.print_fit or print_fits(widths))
    if sheet.active:
        worksheet.activate()


def print_fits(widths: Sequence[int]) -> bool:
    """True when columns of these widths fit one page wide at `PRINT_MIN_SCALE` or more."""
    return sum(widths) * PRINT_MIN_SCALE <= PRINT_PAGE_WIDTH * 100


def _print_setup(worksheet: Worksheet, fits: bool) -> None:
    """Printed (or exported to PDF): landscape, the header on every page; one page wide
    when it `fits`, else at `PRINT_MIN_SCALE`, the pages of a band of rows one after
    the other (a row's columns read on across consecutive pages)."""
    worksheet.set_landscape()
    worksheet.repeat_rows(0)
    if fits:
        worksheet.fit_to_pages(1, 0)
    else:
        worksheet.set_print_scale(PRINT_MIN_SCALE)
        worksheet.print_across()


def _write_lines(
    worksheet: Worksheet,
    lines: Iterable[Line],
    formats: Mapping[str, Format],
    columns: Styles,
    widths: Sequence[int],
) -> int:
    """Write the lines below the header; return the last row index (0: none)."""
    if FAST_ROWS:
        with suppress(FastRowsUnavailable):
            stream = RowStream(worksheet, formats, columns, first_row=1)
            for line in lines:
                stream.write(line.cells, line.styles, line_height(line, widths))
            return stream.close()
    last = 0
    for last, line in enumerate(lines, start=1):
        height = line_height(line, widths)
        if height is not None:
            worksheet.set_row(last, height)
        _write_line(worksheet, last, line, formats)
    return last


def line_height(line: Line, widths: Sequence[int]) -> float | None:
    """Points of height a line needs for the text of its wrapped cells; None: one line's."""
    needed = 1
    for col, style in line.styles.items():
        value = line.cells[col] if col < len(line.cells) else None
        if style in WRAPPED_STYLES and isinstance(value, str) and col < len(widths):
            per_line = max(int(widths[col] * WRAP_FILL), 1)
            needed = max(needed, sum(-(-len(part) // per_line) or 1 for part in value.split("\n")))
    return ROW_HEIGHT * needed if needed > 1 else None


def _write_line(
    worksheet: Worksheet, index: int, line: Line, formats: Mapping[str, Format]
) -> None:
    for col, value in enumerate(line.cells):
        style = line.styles.get(col)
        cell_format = formats[style] if style else None
        if value is None or value == "":
            if cell_format is not None:
                worksheet.write_blank(index, col, None, cell_format)  # styled, still empty
        elif isinstance(value, str):
            worksheet.write_string(index, col, value, cell_format)
        else:
            worksheet.write_number(index, col, value, cell_format)


def column_widths(columns: Sequence[str], sample: Sequence[Sequence[Cell]]) -> list[int]:
    """Widths from the titles and the sampled cells, kept between the min and the cap."""
    widths = [len(title) for title in columns]
    for row in sample:
        for col, value in enumerate(row[: len(widths)]):
            if value is not None:
                widths[col] = max(widths[col], len(str(value)))
    return [min(max(width + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH) for width in widths]


def _insert_chart(workbook: Workbook, worksheet: Worksheet, chart: CountChart) -> None:
    rows = [
        (index, name, value)
        for index, (name, value) in enumerate(chart.items, start=1)
        if chart.wanted(name)
    ]
    if not rows:
        return
    first, last = rows[0][0], rows[-1][0]
    bar = workbook.add_chart({"type": "bar"})
    assert bar is not None  # "bar" is a known chart type
    bar.add_series(_series(chart.sheet, first, last, rows))
    bar.set_title({"name": "Rows per status"})
    bar.set_legend({"none": True})
    bar.set_y_axis({"reverse": True})
    bar.set_x_axis({"min": 0, "major_gridlines": {"visible": True}})
    worksheet.insert_chart(CHART_CELL, bar, CHART_SIZE)


def _series(sheet: str, first: int, last: int, rows: Sequence[tuple[int, str, Cell]]) -> Any:
    quoted = "'" + sheet.replace("'", "''") + "'"
    return {
        "name": "rows",
        "categories": f"={quoted}!$A${first + 1}:$A${last + 1}",
        "values": f"={quoted}!$B${first + 1}:$B${last + 1}",
        # Cached values (undocumented xlsxwriter options): constant_memory keeps none.
        "categories_data": [name for _, name, _ in rows],
        "values_data": [value for _, _, value in rows],
        "data_labels": {"value": True},
        "points": [_point(name) for _, name, _ in rows],
    }


def _point(item: str) -> dict[str, Any]:
    colour = _COLOUR_BY_NAME.get(item)
    return {"fill": {"color": colour["font_color"]}} if colour else {}
