"""A sheet's data rows as XML text, written straight into xlsxwriter's row stream.

xlsxwriter spends about 6 µs on each cell (a cell record, its A1 reference, an attribute
list, three regular-expression escapes): the Results sheet of a 100k-row run is 1.2M
cells, about 7 s. `RowStream` writes the XML xlsxwriter itself writes for a cell in
constant_memory mode — `<c r="B7" s="3" t="inlineStr"><is><t>text</t></is></c>`, a
number as `<v>`, a styled empty cell as `<c r="B7" s="3"/>` — a whole row as one string,
at about a fifth of the cost. Cells needing care (XML escapes, control characters,
leading or trailing spaces, more than Excel's 32,767 characters) go through xlsxwriter's
own escaping, so the text is the same byte for byte.

It relies on four xlsxwriter internals of constant_memory mode, all checked when a
stream is opened (`FastRowsUnavailable` otherwise, and the caller writes cell by cell):
`Worksheet.row_data_fh` (the sheet's row stream, copied into the sheet at close),
`Worksheet._write_single_row` (flushes the rows written through the public API),
`Worksheet.row_sizes` (row heights, from which charts are placed) and
`Format._get_xf_index` (a style's index in styles.xml). `tests/test_speed_paths.py`
reads back a sheet written both ways and compares every value and style.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from importer.reporter.flatten import Cell

Styles = Mapping[int, str]

STRING_LIMIT = 32_767 // 2  # shorter than this, a string can never need truncating
_CAREFUL = re.compile(r'[&<>"\n\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$')


class FastRowsUnavailable(Exception):
    """This xlsxwriter does not have the internals `RowStream` writes through."""


class RowStream:
    """Writes `Line`-like rows below a sheet's header, in order, as xlsxwriter would."""

    def __init__(
        self,
        worksheet: Worksheet,
        formats: Mapping[str, Format],
        column_styles: Styles,
        *,
        first_row: int,
    ) -> None:
        stream = getattr(worksheet, "row_data_fh", None)
        flush = getattr(worksheet, "_write_single_row", None)
        sizes = getattr(worksheet, "row_sizes", None)
        if stream is None or flush is None or sizes is None or not worksheet.constant_memory:
            raise FastRowsUnavailable("xlsxwriter constant_memory internals not found")
        flush(first_row)  # the header (and any row before) goes out through xlsxwriter
        self._sheet = worksheet
        self._sizes: dict[int, list[Any]] = sizes
        self._write = stream.write
        self._formats = formats
        self._attrs: dict[str, str] = {}  # filled on first use, in xlsxwriter's order
        self._columns = column_styles
        self._letters: list[str] = []
        self._plain: list[str | None] = []  # None: the column style's index not yet known
        self._row = first_row
        self._widest = -1

    def write(self, cells: Sequence[Cell], styles: Styles, height: float | None = None) -> None:
        """Append the next row (an empty, unstyled row is skipped as xlsxwriter does).

        `height` is in points, as `Worksheet.set_row` takes it (None: the default).
        """
        number = self._row + 1
        self._row = number
        if len(cells) > len(self._letters):
            self._grow(len(cells))
        letters, plain, parts = self._letters, self._plain, []
        for col, value in enumerate(cells):
            style = styles.get(col) if styles else None
            if value is None or value == "":
                if style:
                    parts.append(f'<c r="{letters[col]}{number}"{self._attr(style)}/>')
                continue
            attr = self._attr(style) if style else plain[col]
            if attr is None:  # a column style's first use: its index is assigned now
                attr = plain[col] = self._attr(self._columns.get(col))
            if type(value) is str:
                text, preserve = value, ""
                if len(text) > STRING_LIMIT or _CAREFUL.search(text):
                    text, preserve = _careful(self._sheet, text)
                parts.append(
                    f'<c r="{letters[col]}{number}"{attr} t="inlineStr"><is><t{preserve}>'
                    f"{text}</t></is></c>"
                )
            else:
                parts.append(f'<c r="{letters[col]}{number}"{attr}><v>{value:.16G}</v></c>')
        if parts:
            self._widest = max(self._widest, len(cells) - 1)
            self._write(f"{self._row_start(number, height)}{''.join(parts)}</row>")

    def close(self) -> int:
        """Record the rows written in the sheet's dimensions; return the last row index."""
        last = self._row - 1
        if self._widest >= 0:
            self._sheet._check_dimensions(last, self._widest)
        self._sheet.previous_row = self._row
        return last

    def _row_start(self, number: int, height: float | None) -> str:
        """`<row r="7">`, with its height as `set_row` writes it (whole pixels, in points).

        The height is also recorded where `set_row` records it: xlsxwriter places a
        chart or image over the rows from their sizes.
        """
        if height is None:
            return f'<row r="{number}">'
        pixels = int(height * 4.0 / 3.0 + 0.5)
        self._sizes[number - 1] = [pixels, False]
        return f'<row r="{number}" ht="{pixels * 0.75:.16g}" customHeight="1">'

    def _grow(self, width: int) -> None:
        """Column letters, up to `width` columns; each column's own style attribute is
        found on its first cell (xlsxwriter numbers styles in the order cells use them)."""
        self._letters = [xl_col_to_name(col) for col in range(width)]
        self._plain += [None] * (width - len(self._plain))

    def _attr(self, style: str | None) -> str:
        """` s="N"` for a style (its index assigned on first use, as xlsxwriter does)."""
        if style is None:
            return ""
        attr = self._attrs.get(style)
        if attr is None:
            attr = self._attrs[style] = f' s="{_xf_index(self._formats[style])}"'
        return attr


def _careful(sheet: Any, value: str) -> tuple[str, str]:
    """xlsxwriter's own truncation and escapes, for the rare cell that needs them."""
    from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate

    if _utf16_len(value) > sheet.xls_strmax:
        value = _utf16_truncate(value, sheet.xls_strmax)
    value = sheet._escape_control_characters(value)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(value) else ""
    return sheet._escape_data(value), preserve


def _xf_index(cell_format: Format) -> int:
    index = getattr(cell_format, "_get_xf_index", None)
    if index is None:
        raise FastRowsUnavailable("xlsxwriter Format has no _get_xf_index")
    return int(index())
