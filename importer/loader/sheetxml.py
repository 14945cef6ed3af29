"""What calamine does not say about an XLSX sheet: formulas with no saved value, error cells.

Excel and LibreOffice save each formula's last result next to it, and that cached value
is what the loader reads. Files written by libraries (openpyxl, some exporters) can hold
formulas with no result saved: calamine reads those cells as empty, which would turn a
formula-computed phone number or mask into a silently empty cell. So a candidate sheet
of an XLSX/XLSM is checked, and the chosen one refused if it has any.

calamine also reads error cells (`t="e"`: `#N/A`, `#REF!`, ...) as empty, losing what
the partner's sheet shows. Their positions and texts are collected here, compactly
(`ErrorCells`: nine bytes a cell), and put back into the rows as they are read.

One inflating pass looks for any `<f>` element or `t="e"` attribute (most sheets have
neither, and the check ends there); only a sheet with some is parsed, cell by cell with
bounded memory.
"""

from __future__ import annotations

import re
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from importer.loader.package import Package

CHUNK = 1024 * 1024
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL, _ROW, _FORMULA, _VALUE = (f"{_MAIN}{tag}" for tag in ("c", "row", "f", "v"))
# Two searches, each with a literal start: one alternation of the two is 50 times slower.
_FORMULA_ELEMENT = re.compile(rb"<f[\s/>]")
_ERROR_TYPE = re.compile(rb"t=[\"']e[\"']")
_REFERENCE = re.compile(r"([A-Z]{1,3})(\d+)")
_REFERENCE_ATTRIBUTE = re.compile(rb"\sr=[\"']([A-Z]{1,3})(\d{1,7})[\"']")
_VALUE_ELEMENT = re.compile(rb"<v>([^<]*)</v>")
_SPACES = (b" ", b"\t", b"\r", b"\n")
MAX_CARRY = 1024 * 1024  # an error cell's XML cut at a chunk's end is far shorter
COLUMN_BITS = 14  # 16,384 columns
MAX_ROW = 1 << 40  # far past Excel's 1,048,576 rows, and within `positions`' 64 bits
MAX_ERROR_KINDS = 255  # distinct error texts kept; past this, "#ERROR!"


class DoctypeFound(ValueError):
    """The sheet XML declares a DTD: never in a real workbook, and the door to XML bombs."""


@dataclass(slots=True)
class ErrorCells:
    """The error cells of a sheet in row order: position (row << 14 | column) and text."""

    positions: array[int] = field(default_factory=lambda: array("Q"))
    kinds: bytearray = field(default_factory=bytearray)
    texts: list[str] = field(default_factory=list)

    def add(self, row: int, column: int, text: str) -> None:
        """One more error cell (1-based sheet row, 0-based column), after the others."""
        if column >= 1 << COLUMN_BITS or row >= MAX_ROW:
            return  # past any sheet's edge: calamine has no such cell either
        if text not in self.texts:
            if len(self.texts) >= MAX_ERROR_KINDS:
                text = "#ERROR!"
            if text not in self.texts:
                self.texts.append(text)
        self.positions.append(row << COLUMN_BITS | column)
        self.kinds.append(self.texts.index(text))


@dataclass(slots=True)
class SheetFacts:
    """What the sheet XML says: uncached formulas (count, first cell) and error cells."""

    uncached: int = 0
    first_uncached: str = ""
    errors: ErrorCells = field(default_factory=ErrorCells)


def sheet_facts(path: Path, sheet: str) -> SheetFacts:
    """The facts of the worksheet called `sheet` (none when it cannot be found).

    Raises `DoctypeFound` for a sheet declaring a DTD (it is then never parsed).
    """
    with zipfile.ZipFile(path) as archive:
        package = Package(archive)
        part = package.sheet_part(sheet)
        member = None if part is None else package.member(part)
        if member is None:
            return SheetFacts()
        with archive.open(member) as stream:
            facts = _quick_scan(stream, member)
        if facts is not None:
            return facts
        with archive.open(member) as stream:
            return _scan(stream)


def _quick_scan(stream: IO[bytes], member: str) -> SheetFacts | None:
    """One pass over the inflated part: its error cells, found by their `t="e"` alone.

    None when the sheet must be parsed: it has a formula, or an error cell without an
    `r` reference. Most sheets have neither formulas nor errors, and cost one search.
    """
    facts = SheetFacts()
    carry = b""
    first = True
    while chunk := stream.read(CHUNK):
        if first and b"<!DOCTYPE" in chunk:
            raise DoctypeFound(member)
        window, first = carry + chunk, False
        if _FORMULA_ELEMENT.search(window):
            return None
        rest = _note_errors(facts.errors, window)
        if rest is None or rest < len(window) - MAX_CARRY:  # (an error cell of 1 MiB?)
            return None
        carry = window[rest:]
    return facts if _note_errors(facts.errors, carry) is not None else None


def _note_errors(errors: ErrorCells, window: bytes) -> int | None:
    """Note the complete error cells of `window`; where the next window should start.

    That is the start of an error cell cut at the window's end, else of the last tag
    (which may hide a `t="e"` cut in two). None for an error cell without `r`.
    """
    for hit in _ERROR_TYPE.finditer(window):
        start = window.rfind(b"<c", 0, hit.start())
        if start < 0 or window[start + 2 : start + 3] not in _SPACES:
            continue  # not in a cell's start tag: text that looks like one
        if (
            b">" in window[start : hit.start()]
            or window[hit.start() - 1 : hit.start()] not in _SPACES
        ):
            continue  # past the start tag, or another attribute ending in "t"
        tag_end = window.find(b">", hit.end())
        cell_end = window.find(b"</c>", tag_end)
        if tag_end < 0 or (cell_end < 0 and window[tag_end - 1 : tag_end] != b"/"):
            return start  # cut at the window's end: read again with the next chunk
        reference = _REFERENCE_ATTRIBUTE.search(window, start, tag_end)
        if reference is None:
            return None
        value = _VALUE_ELEMENT.search(window, tag_end, cell_end if cell_end >= 0 else tag_end)
        if value is not None and window[tag_end - 1 : tag_end] != b"/":
            row, column = _position(reference)
            errors.add(row, column, value.group(1).decode("utf-8", "replace").strip())
    last_tag = window.rfind(b"<")
    return last_tag if last_tag >= 0 else len(window)


def _position(reference: re.Match[bytes]) -> tuple[int, int]:
    """(1-based row, 0-based column) of an `r="C7"` match."""
    column = 0
    for letter in reference.group(1):
        column = column * 26 + letter - 64
    return int(reference.group(2)), column - 1


def _scan(stream: IO[bytes]) -> SheetFacts:
    """Parse the sheet cell by cell, clearing as it goes."""
    facts = SheetFacts()
    row, column = 0, -1
    # No DTD (checked above), so no entity expansion: the parse is safe.
    events = ElementTree.iterparse(stream, events=("start", "end"))  # noqa: S314
    _, root = next(events)
    for event, element in events:
        if event == "start":
            if element.tag == _ROW:
                row, column = _row_number(element, row), -1
            continue
        if element.tag == _CELL:
            column = _column_number(element, column)
            _note_cell(facts, element, row, column)
        elif element.tag == _ROW:
            root.clear()
    return facts


def _note_cell(facts: SheetFacts, cell: ElementTree.Element, row: int, column: int) -> None:
    value = cell.find(_VALUE)
    text = value.text if value is not None else None
    if cell.get("t") == "e" and text:
        facts.errors.add(row, column, text.strip())
    elif text or cell.find(_FORMULA) is None:
        return
    elif value is None or cell.get("t") != "str":  # (an empty `t="str"` value: a formula giving "")
        facts.uncached += 1
        facts.first_uncached = facts.first_uncached or cell.get("r", "?")


def _row_number(row: ElementTree.Element, previous: int) -> int:
    """A row's 1-based number: its `r`, else the one after the previous row."""
    number = row.get("r", "")
    return int(number) if number.isdigit() else previous + 1


def _column_number(cell: ElementTree.Element, previous: int) -> int:
    """A cell's 0-based column: from its `r` ("C7" is 2), else the one after the previous."""
    found = _REFERENCE.fullmatch(cell.get("r", ""))
    if found is None:
        return previous + 1
    number = 0
    for letter in found.group(1):
        number = number * 26 + ord(letter) - 64
    return number - 1
