"""Where the table is in a sheet: the header row, then the data rows below it.

Both CSV and workbook rows arrive here as `(sheet row number, text cells)`. The header
is the first of the first `HEADER_SEARCH_ROWS` non-blank rows that has a phone-number
column (rows above it are titles and notes). Below it, blank rows are skipped and
counted, and each data row is cut to its content. Everything is an iterator: a row is
read, handed on and forgotten, so a sheet of any length costs the same memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from importer.errors import MappingError, UnreadableFileError
from importer.mapping import (
    PHONE_FIELD,
    build_mapping,
    find_phone_column,
    missing_phone_error,
)
from importer.models import RawRow

HEADER_SEARCH_ROWS = 20

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

    The data rows are the rest of `rows`, or `rest(phone column index)` when given (a
    workbook turns its phone-number cells into text its own way).

    Raises `HeaderNotFound` (no header in the first rows), `MappingError` (the header
    cannot be mapped) or `UnreadableFileError` (a header but no data row below it).
    """
    header_row, header = find_header(rows, path, overrides)
    mapping = build_mapping(header, overrides, source=str(path))  # refuse duplicates now
    if rest is not None:
        rows = rest(mapping.fields[PHONE_FIELD])
    counts = RowCounts()
    data = data_rows(rows, len(header), counts)
    first = next(data, None)
    if first is None:
        raise UnreadableFileError(f"{path}: no data rows below the header (row {header_row})")
    return Table(header, header_row, chain((first,), data), counts)


def find_header(
    rows: Rows, path: Path, overrides: Mapping[str, str]
) -> tuple[int, tuple[str, ...]]:
    """The first row, of the first `HEADER_SEARCH_ROWS` non-blank ones, naming a phone column.

    Without one, the error quotes the row with the most named cells (the first of
    them): the header itself rather than a one-cell title above it.
    """
    likeliest: tuple[str, ...] | None = None
    seen = 0
    for number, cells in rows:
        if is_blank(cells):
            continue
        header = header_cells(cells)
        if find_phone_column(header, overrides) is not None:
            return number, header
        if likeliest is None or _named_cell_count(header) > _named_cell_count(likeliest):
            likeliest = header
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    if likeliest is None:
        reason = "every row is blank"
        raise HeaderNotFound(UnreadableFileError(f"{path}: no data ({reason})"), reason)
    missing = missing_phone_error(likeliest, overrides, source=str(path))
    raise HeaderNotFound(missing, missing_phone_error(likeliest, overrides).message)


def _named_cell_count(header: Sequence[str]) -> int:
    """How many cells of a candidate header row hold text."""
    return sum(1 for text in header if text)


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
