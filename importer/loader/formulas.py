"""Formulas without a saved value in an XLSX sheet: refused, never read as empty cells.

Excel and LibreOffice save each formula's last result next to it, and that cached value
is what the loader reads. Files written by libraries (openpyxl, some exporters) can hold
formulas with no result saved: calamine reads those cells as empty, which would turn a
formula-computed phone number or mask into a silently empty cell. So the chosen sheet
of an XLSX/XLSM is checked: one inflating pass looks for any `<f>` element (most sheets
have none, and the check ends there); only a sheet with formulas is parsed, cell by
cell with bounded memory, for formula cells whose `<v>` is missing or empty (an empty
`<v>` with `t="str"` is a formula whose result is the empty string, and is fine).
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

CHUNK = 1024 * 1024
SMALL_PART = 8 * 1024 * 1024
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORMULA = re.compile(rb"<f[\s/>]")
_SHEET = re.compile(r"<sheet\b([^>]*)/?>")
_RELATION = re.compile(r"<Relationship\b([^>]*)/?>")
_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')


class DoctypeFound(ValueError):
    """The sheet XML declares a DTD: never in a real workbook, and the door to XML bombs."""


def uncached_formulas(path: Path, sheet: str) -> tuple[int, str] | None:
    """(count, first cell) of formula cells without a saved value, or None when there are none.

    Raises `DoctypeFound` for a sheet declaring a DTD (it is then never parsed).
    """
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, sheet)
        if part is None or not _has_formulas(archive, part):
            return None
        with archive.open(part) as stream:
            return _scan(stream)


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive path of the worksheet called `sheet`, from workbook.xml and its rels."""
    workbook = _small_text(archive, "xl/workbook.xml")
    rels = _small_text(archive, "xl/_rels/workbook.xml.rels")
    ids = [_attributes(match) for match in _SHEET.finditer(workbook)]
    wanted = next((a for a in ids if html.unescape(a.get("name", "")) == sheet), None)
    if wanted is None:
        return None
    rel_id = next((value for key, value in wanted.items() if key.endswith(":id")), None)
    for match in _RELATION.finditer(rels):
        relation = _attributes(match)
        if relation.get("Id") == rel_id:
            target = html.unescape(relation.get("Target", ""))
            return (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target))
            )
    return None


def _attributes(match: re.Match[str]) -> dict[str, str]:
    return dict(_ATTRIBUTE.findall(match.group(1)))


def _small_text(archive: zipfile.ZipFile, name: str) -> str:
    if name not in archive.NameToInfo:
        return ""
    with archive.open(name) as member:
        return member.read(SMALL_PART).decode("utf-8", "replace")


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """One pass over the inflated part, looking for any `<f>` element."""
    if part not in archive.NameToInfo:
        return False
    carry = b""
    with archive.open(part) as stream:
        while chunk := stream.read(CHUNK):
            if not carry and b"<!DOCTYPE" in chunk[:CHUNK]:
                raise DoctypeFound(part)
            if _FORMULA.search(carry + chunk):
                return True
            carry = chunk[-3:]
    return False


def _scan(stream: IO[bytes]) -> tuple[int, str] | None:
    """Parse the sheet cell by cell, clearing as it goes; count uncached formulas."""
    count, first = 0, ""
    # No DTD (checked above), so no entity expansion: the parse is safe.
    events = ElementTree.iterparse(stream, events=("start", "end"))  # noqa: S314
    _, root = next(events)
    for event, element in events:
        if event != "end":
            continue
        if element.tag == f"{_MAIN}c" and _uncached(element):
            count += 1
            first = first or element.get("r", "?")
        if element.tag == f"{_MAIN}row":
            root.clear()
    return (count, first) if count else None


def _uncached(cell: ElementTree.Element) -> bool:
    if cell.find(f"{_MAIN}f") is None:
        return False
    value = cell.find(f"{_MAIN}v")
    if value is not None and value.text:
        return False
    return not (value is not None and cell.get("t") == "str")
