"""The parts of an XLSX-family package, found as the Open Packaging Conventions say.

An XLSX, XLSM or XLSB file is a zip archive of parts tied together by relationships:
`_rels/.rels` names the workbook part (the `officeDocument` relationship), and the
workbook's own relationships part (`xl/_rels/workbook.xml.rels` for `xl/workbook.xml`)
names each sheet's part. Excel writes the workbook at `xl/workbook.xml`, but the
conventions allow any part name, and some writers store names with backslashes
(`xl\\workbook.xml`) or in another case: part names are compared with either slash and
without regard to ASCII case, as readers (calamine, Excel) do.

Relationships are read with a regular expression, never an XML parser: no entity is
ever expanded, and only the first `SMALL_PART` bytes of a part are read.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile

SMALL_PART = 8 * 1024 * 1024  # relationship and workbook parts are a few kB in real files
_RELATION = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)/?>")
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTRIBUTE = re.compile(r"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Excel's own layout, for a package without `_rels/.rels` (read as before).
USUAL_WORKBOOKS = ("xl/workbook.xml", "xl/workbook.bin")


class Package:
    """A zip archive read as an OPC package: part names in, archive members out."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self._members = {_key(name): name for name in archive.namelist()}

    def member(self, part: str) -> str | None:
        """The archive member holding `part` (any slash, any case), or None."""
        return self._members.get(_key(part))

    def small_text(self, part: str) -> str:
        """A small part's text ("" when absent), never more than `SMALL_PART` bytes of it."""
        name = self.member(part)
        if name is None:
            return ""
        with self.archive.open(name) as stream:
            return stream.read(SMALL_PART).decode("utf-8", "replace")

    def targets(self, source: str, kind: str) -> list[str]:
        """The part names `source` relates to with relationships of type `.../kind`.

        `source` is a part name, or "" for the package itself (`_rels/.rels`).
        """
        folder, name = posixpath.split(source)
        found = []
        for relation in _elements(_RELATION, self.small_text(f"{folder}/_rels/{name}.rels")):
            if relation.get("Type", "").rsplit("/", 1)[-1].lower() != kind.lower():
                continue
            if relation.get("TargetMode", "Internal") == "External":
                continue
            found.append(_resolve(folder, relation.get("Target", "")))
        return found

    def workbook_part(self) -> str | None:
        """The workbook part: the package's `officeDocument`, else Excel's usual name."""
        for target in self.targets("", "officeDocument"):
            if self.member(target) is not None:
                return target
        return next((part for part in USUAL_WORKBOOKS if self.member(part) is not None), None)

    def sheet_part(self, sheet: str) -> str | None:
        """The part holding the worksheet called `sheet`, from the workbook and its rels."""
        workbook = self.workbook_part()
        if workbook is None:
            return None
        sheets = _elements(_SHEET, self.small_text(workbook))
        wanted = next((found for found in sheets if found.get("name") == sheet), None)
        if wanted is None:
            return None
        rel_id = next((value for key, value in wanted.items() if key.endswith(":id")), None)
        folder, name = posixpath.split(workbook)
        for relation in _elements(_RELATION, self.small_text(f"{folder}/_rels/{name}.rels")):
            if relation.get("Id") == rel_id:
                return _resolve(folder, relation.get("Target", ""))
        return None


def _key(part: str) -> str:
    """A part name as compared: forward slashes, no leading slash, ASCII lower case."""
    return part.replace("\\", "/").lstrip("/").lower()


def _resolve(folder: str, target: str) -> str:
    """A relationship target as a part name: absolute when it starts with "/"."""
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join("/", folder, target)).lstrip("/")


def _elements(pattern: re.Pattern[str], text: str) -> list[dict[str, str]]:
    """The attributes of each element `pattern` matches, unescaped."""
    return [
        {key: html.unescape(double or single) for key, double, single in _ATTRIBUTE.findall(found)}
        for found in pattern.findall(text)
    ]
