"""Where the table is in a sheet: the header row, then the data rows below it.

Both CSV and workbook rows arrive here as `(sheet row number, text cells)`. The header
is the first of the first `HEADER_SEARCH_ROWS` non-blank rows that has a phone-number
column (rows above it are titles and notes) whose cells in the next `AHEAD_ROWS`
non-blank rows are mostly phone-like: a data row with a cell saying `Number` below a
header with no phone-like name is not a header. Below it, blank rows are skipped and
counted, and each data row is cut to its content. Everything is an iterator: a row is
read, handed on and forgotten, so a sheet of any length costs the same memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, dropwhile
from pathlib import Path

from importer.errors import MappingError, UnreadableFileError
from importer.mapping import (
    PHONE_FIELD,
    build_mapping,
    find_phone_column,
    missing_phone_error,
    quote,
)
from importer.mapping.composed import cell
from importer.models import RawRow
from importer.validate.cellerrors import error_meaning

HEADER_SEARCH_ROWS = 20
AHEAD_ROWS = 10  # non-blank rows below a candidate header whose phone cells are judged
QUOTED_HEADER_NAMES = 2  # a row naming this many columns is the header a refusal quotes
AHEAD_RAW_ROWS = 200  # rows read at most to find them (blank rows included)

Rows = Iterator[tuple[int, list[str]]]


class HeaderNotFound(Exception):
    """No header in a sheet: the next sheet may have one, else `error` is raised.

    `reason` is the error's message without the file's name, for a message about
    several sheets.
    """

    def __init__(self, error: MappingError | UnreadableFileError, reason: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.reason = reason


@dataclass(slots=True)
class RowCounts:
    """What is known only once the rows have been read to the end."""

    blank_rows: int = 0


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet's header and its data rows (read lazily, counted into `counts`)."""

    header: tuple[str, ...]
    header_row: int
    rows: Iterator[RawRow]
    counts: RowCounts


def read_table(
    rows: Rows,
    path: Path,
    overrides: Mapping[str, str],
    *,
    rest: Callable[[int], Rows] | None = None,
) -> Table:
    """Find the header, check the mapping, and make sure at least one data row follows.

    The data rows are the rest of `rows`, or `rest(phone column index)` from the top of
    the sheet (the rows down to the header are skipped) when given: a workbook turns its
    phone-number cells into text its own way.

    Raises `HeaderNotFound` (no header in the first rows), `MappingError` (the header
    cannot be mapped) or `UnreadableFileError` (a header but no data row below it).
    """
    ahead = ReadAhead(rows)
    header_row, header = find_header(ahead, path, overrides)
    mapping = build_mapping(header, overrides, source=str(path))  # refuse duplicates now
    if rest is None:
        below: Rows = chain(ahead.held, rows)
    else:
        below = dropwhile(lambda row: row[0] <= header_row, rest(mapping.fields[PHONE_FIELD]))
    counts = RowCounts()
    data = data_rows(below, len(header), counts)
    first = next(data, None)
    if first is None:
        raise UnreadableFileError(f"{path}: no data rows below the header (row {header_row})")
    return Table(header, header_row, chain((first,), data), counts)


class ReadAhead:
    """Rows, where those read ahead of the current one are kept (`held`) to be read again."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows
        self.held: deque[tuple[int, list[str]]] = deque()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        return self.held.popleft() if self.held else next(self._rows)

    def ahead(self, count: int) -> list[list[str]]:
        """The cells of up to `count` non-blank rows after the current one (at most
        `AHEAD_RAW_ROWS` rows read, blank ones included), kept to be read again.

        A blank row is kept as no cells (still blank, still counted), so a hostile run
        of long whitespace lines held here costs nothing.
        """
        found: list[list[str]] = []
        for index in range(AHEAD_RAW_ROWS):
            if index == len(self.held):
                row = next(self._rows, None)
                if row is None:
                    break
                self.held.append(row if not is_blank(row[1]) else (row[0], []))
            cells = self.held[index][1]
            if not is_blank(cells):
                found.append(cells)
                if len(found) >= count:
                    break
        return found


def find_header(
    rows: ReadAhead, path: Path, overrides: Mapping[str, str]
) -> tuple[int, tuple[str, ...]]:
    """The first row, of the first `HEADER_SEARCH_ROWS` non-blank ones, naming a phone
    column whose cells below are mostly phone-like (`is_data_below`).

    Without one, the error quotes the first row naming `QUOTED_HEADER_NAMES` columns
    (cells with a letter), else the row naming the most: the header itself rather than
    a one-cell title above it or a longer data row below it, with its number; a row
    refused for the cells below it is named too.
    """
    likeliest: tuple[int, tuple[str, ...]] | None = None
    refused = ""
    seen = 0
    for number, cells in rows:
        if is_blank(cells):
            continue
        header = header_cells(cells)
        phone = find_phone_column(header, overrides)
        if phone is not None:
            below = [cell(cells_below, phone) for cells_below in rows.ahead(AHEAD_ROWS)]
            if is_data_below(below):
                return number, header
            refused = refused or _refused_note(number, header[phone], below)
        if _likelier(header, likeliest):
            likeliest = number, header
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    if likeliest is None:
        reason = "every row is blank"
        raise HeaderNotFound(UnreadableFileError(f"{path}: no data ({reason})"), reason)
    row, header = likeliest
    error = missing_phone_error(header, overrides, source=str(path), row=row)
    reason = missing_phone_error(header, overrides, row=row).message + refused
    raise HeaderNotFound(MappingError(error.message + refused) if refused else error, reason)


def is_data_below(cells: Sequence[str]) -> bool:
    """Whether a candidate phone column's cells below it are data, not words: no more
    of the non-empty ones are without a digit ("Number", "n/a") than with one (however
    wrong a number, validation says so row by row). Spreadsheet error values (`#N/A`)
    are no evidence either way (validation names them: `cell.error`), nor is no
    non-empty cell at all (a header-only file is refused later, saying so)."""
    filled = [text for text in cells if text and error_meaning(text.strip()) is None]
    digits = sum(1 for text in filled if any(char.isdigit() for char in text))
    return digits >= len(filled) - digits


def _refused_note(row: int, name: str, below: Sequence[str]) -> str:
    """Why a row naming a phone column was not taken as the header."""
    words = [text for text in below if text][:3]
    return (
        f"; row {row} has a column {quote(name)}, but the cells below it are not phone"
        f" numbers ({', '.join(quote(text) for text in words)})"
    )


def _likelier(header: tuple[str, ...], likeliest: tuple[int, tuple[str, ...]] | None) -> bool:
    """Whether `header` is the likelier header to quote: the first row naming
    `QUOTED_HEADER_NAMES` columns is kept; before one, the row naming the most."""
    if likeliest is None:
        return True
    named = _named_cell_count(likeliest[1])
    return named < QUOTED_HEADER_NAMES and _named_cell_count(header) > named


def _named_cell_count(header: Sequence[str]) -> int:
    """How many cells of a candidate header row name something (hold a letter): a data
    row of numbers, or with a name or two in it, names fewer than its header."""
    return sum(1 for text in header if any(char.isalpha() for char in text))


def header_cells(cells: Sequence[str]) -> tuple[str, ...]:
    """Header text stripped (and of a stray BOM), trailing empty columns dropped."""
    header = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    return tuple(header)


def data_rows(rows: Rows, width: int, counts: RowCounts) -> Iterator[RawRow]:
    """The non-blank rows after the header; blank ones are skipped and counted."""
    for number, cells in rows:  # the hot loop of the loader: kept to the bare minimum
        if not "".join(cells).strip():
            counts.blank_rows += 1
        elif len(cells) <= width:
            yield RawRow(number, tuple(cells))
        else:
            yield RawRow(number, fit(cells, width))


def fit(cells: list[str], width: int) -> tuple[str, ...]:
    """Drop the empty cells past the header's width (a ragged row keeps its content)."""
    end = len(cells)
    while end > width and not cells[end - 1].strip():
        end -= 1
    return tuple(cells[:end])


def is_blank(cells: Sequence[str]) -> bool:
    """True when every cell is empty or whitespace."""
    return not "".join(cells).strip()


def is_ragged(row: RawRow, header: Sequence[str]) -> bool:
    """True when the row has a different number of cells than the header."""
    return len(row.cells) != len(header)
