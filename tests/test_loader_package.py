"""Tests for importer.loader.package and the format check: parts found by relationships."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from importer.config import InputSettings
from importer.errors import UnreadableFileError
from importer.loader import detect_format, load_file
from importer.loader.detect import biff_version
from importer.loader.package import Package

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def _rezip(source: Path, target: Path, rename: dict[str, str], replace: dict[str, bytes]) -> None:
    """Copy a package, renaming members and replacing some members' bytes."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(rename.get(name, name), replace.get(name) or old.read(name))


@pytest.mark.parametrize(
    ("name", "workbook"),
    [
        ("numeric_openpyxl.xlsx", "xl/workbook.xml"),
        ("backslash_names.xlsx", "xl/workbook.xml"),
        ("workbook_elsewhere.xlsx", "book/workbook.xml"),
        ("fake.xlsb", "xl/workbook.bin"),  # no _rels/.rels: Excel's usual name
    ],
)
def test_workbook_part_is_found_through_the_relationships(name: str, workbook: str) -> None:
    """The workbook part is the package's officeDocument, whatever its name and slashes."""
    with zipfile.ZipFile(FIXTURES / name) as archive:
        assert Package(archive).workbook_part() == workbook


@pytest.mark.parametrize("kind", [REL, STRICT_REL])
def test_office_document_of_either_schema_names_the_workbook(kind: str, tmp_path: Path) -> None:
    """Transitional and Strict OOXML name the workbook with the same relationship type."""
    rels = f'<Relationships><Relationship Id="a" Type="{kind}/officeDocument" Target="Book.XML"/>'
    path = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_rels/.rels", rels + "</Relationships>")
        archive.writestr("book.xml", "<workbook/>")
    with zipfile.ZipFile(path) as archive:
        package = Package(archive)
        assert package.workbook_part() == "Book.XML"
        assert package.member("/BOOK.xml") == "book.xml"  # part names ignore ASCII case
    assert detect_format(path) == "xlsx"


def test_relationship_to_a_missing_part_is_no_workbook(tmp_path: Path) -> None:
    """A package whose officeDocument points nowhere is refused as before."""
    path = tmp_path / "dangling.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        rel = f'<Relationship Id="a" Type="{REL}/officeDocument" Target="gone/workbook.xml"/>'
        archive.writestr("_rels/.rels", f"<Relationships>{rel}</Relationships>")
    with pytest.raises(UnreadableFileError, match="a zip archive without a workbook in it"):
        detect_format(path)


def test_sheet_part_resolves_relative_and_absolute_targets(tmp_path: Path) -> None:
    """A sheet's target is read relative to the workbook's folder, or from the root."""
    path = tmp_path / "targets.xlsx"
    workbook = (
        f'<workbook xmlns:r="{REL}"><sheets><sheet name="A &amp; B" r:id="one"/>'
        '<sheet name="Two" r:id="two"/></sheets></workbook>'
    )
    rels = (
        f'<Relationships><Relationship Id="one" Type="{REL}/worksheet" Target="../s/one.xml"/>'
        f'<Relationship Id="two" Type="{REL}/worksheet" Target="/x/two.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl\\_rels\\workbook.xml.rels", rels)
    with zipfile.ZipFile(path) as archive:
        package = Package(archive)
        assert package.sheet_part("A & B") == "s/one.xml"
        assert package.sheet_part("Two") == "x/two.xml"
        assert package.sheet_part("Three") is None


def test_uncached_formula_is_found_in_a_backslash_package(tmp_path: Path) -> None:
    """The formula check finds its sheet in a package with backslash part names."""
    source = FIXTURES / "formulas_no_cache.xlsx"
    with zipfile.ZipFile(source) as archive:
        rename = {name: name.replace("/", "\\") for name in archive.namelist()}
    path = tmp_path / "backslash_formulas.xlsx"
    _rezip(source, path, rename, {})
    with pytest.raises(UnreadableFileError, match=r"2 formula cell\(s\) with no saved result"):
        load_file(path, InputSettings())


def _bof(opcode: int, kind: int = 0x0010, length: int = 6) -> bytes:
    return struct.pack("<4H", opcode, length, 0, kind) + bytes(8)


@pytest.mark.parametrize(
    ("head", "said"),
    [
        (_bof(0x0009, length=4), "Excel 2.x (BIFF2)"),
        (_bof(0x0209), "Excel 3.0 (BIFF3)"),
        (_bof(0x0409), "Excel 4.0 (BIFF4)"),
        (_bof(0x0409, kind=0x0100), "Excel 4.0 (BIFF4)"),  # an Excel 4.0 workbook
        (_bof(0x0809, length=16), None),  # BIFF5/8 live in an OLE2 container
        (_bof(0x0409, kind=0x0777), None),  # no such document type
        (_bof(0x0409, length=200), None),
        (b"\t\x04\x06\x00", None),  # too short to tell
        (b"Phone,Caps\r\n+1205", None),
    ],
)
def test_biff_version_from_the_first_record(head: bytes, said: str | None) -> None:
    """BIFF2-4 files are told by their BOF record: opcode, length, document type."""
    assert biff_version(head) == said


def test_old_excel_is_refused_whatever_its_name(tmp_path: Path) -> None:
    """An Excel 4.0 file named .csv is refused naming its format, not read as text."""
    path = tmp_path / "numbers.csv"
    path.write_bytes((FIXTURES / "biff4.xls").read_bytes())
    with pytest.raises(UnreadableFileError, match=r"an Excel 4\.0 \(BIFF4\) file.*save it as"):
        detect_format(path)
