"""Workbooks (XLSX, XLSM, XLSB, XLS, ODS) through python-calamine.

calamine reads a sheet's cells into compact Rust memory; rows become Python text one
at a time as they are consumed. Cells become the text the partner sees (`cell_text`):
an integral float below 2**53 is exact and becomes its digits; any other float keeps
Python's exact `repr` (`0.5`, `1.2059051025e+16`).

The phone-number column is stricter (`phone_cell_text`): a numeric cell there that is
not a whole number from 0 to 2**53 (a fraction, a negative, a float too large to be
exact) is written in scientific notation (`1.20590510255E+10`), which validation flags
as `phonenumber.excel_precision_lost`. Read as plain text, `491511234567.8` would pass
for the valid German number +49 1511 2345678: a number is never guessed from a float.

Merged cells read as Excel stores them (and as Excel's own "Save as CSV" writes them):
the value in the top-left cell, the other cells empty. Formulas read as their cached
values; an XLSX formula with no saved result is refused (see `sheetxml`), never read
as an empty cell, and an XLSX error cell (`#N/A`) reads as its text. (calamine reads
error cells as empty: in XLS, XLSB and ODS files they stay empty.) Formatted-but-empty
cells (a style applied down to row 1,048,576) are not cells to calamine and cost nothing.

The sheet: the one named (or numbered, from 1) in the settings, even a hidden one;
otherwise the first visible worksheet that has a phone-number header. When none has,
the message gives each visible sheet's reason on one line.
"""

from __future__ import annotations

import datetime
import math
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import python_calamine as calamine

from importer.config import InputSettings
from importer.errors import InputError, MappingError, UnreadableFileError
from importer.loader.detect import ZIP_FAILURES
from importer.loader.layout import HeaderNotFound, Rows, Table, read_table
from importer.loader.probe import is_panic, probe_in_child
from importer.loader.sheetxml import COLUMN_BITS, DoctypeFound, ErrorCells, SheetFacts, sheet_facts

EXACT_INTEGER_LIMIT = 2**53

Cell = str | int | float | bool | datetime.date | datetime.time | datetime.timedelta | None
# What calamine raises on damaged or hostile files (its own errors, and a few builtins).
FORMULA_CHECKED = frozenset({"xlsx", "xlsm"})
PROBED = frozenset({"xls"})  # read in a child first: see `probe`
MESSAGE_SHEETS = 10  # sheets named in the message when none has a phone-number column
CALAMINE_FAILURES = (calamine.CalamineError, ValueError, OverflowError, OSError, EOFError)


def cell_text(value: Cell) -> str:
    """The text of a workbook cell as the partner sees it (12059051025, not 12059051025.0)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < EXACT_INTEGER_LIMIT:
            return str(int(value))
        return repr(value)
    return _other_text(value)


def _other_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def row_text(values: list[Cell]) -> list[str]:
    """`cell_text` of each value (text cells, the most common, pass straight through)."""
    return [value if type(value) is str else cell_text(value) for value in values]


def phone_cell_text(value: Cell) -> str:
    """A phone-number cell's text: whole numbers exact, any other number in E notation."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        if 0 <= value < EXACT_INTEGER_LIMIT and value == int(value):
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "E")
    return cell_text(value)


def read_workbook(path: Path, file_format: str, options: InputSettings) -> tuple[str, Table]:
    """The chosen sheet's name and its table (rows still to be read)."""
    if file_format in PROBED:
        probe_in_child(path, file_format.upper())
    try:
        with calamine.CalamineWorkbook.from_path(path) as workbook:
            sheet, table = _pick_sheet(workbook, path, file_format, options)
    except CALAMINE_FAILURES as error:
        raise unreadable(path, file_format, error) from None
    except BaseException as error:
        if not is_panic(error):
            raise
        raise unreadable(path, file_format, error) from None
    return sheet, table


def _sheet_facts(path: Path, file_format: str, sheet: str) -> SheetFacts:
    """The sheet XML's formulas and error cells (XLSX and XLSM only: see `sheetxml`)."""
    if file_format not in FORMULA_CHECKED:
        return SheetFacts()
    try:
        return sheet_facts(path, sheet)
    except DoctypeFound:
        reason = ValueError("the sheet XML declares a DTD: refused, as XML entity bombs do")
        raise unreadable(path, file_format, reason) from None
    except (ElementTree.ParseError, *ZIP_FAILURES):
        raise unreadable(path, file_format, ValueError("damaged sheet XML")) from None


def _refuse_uncached_formulas(path: Path, sheet: str, facts: SheetFacts) -> None:
    if facts.uncached:
        count, first = facts.uncached, facts.first_uncached
        raise UnreadableFileError(
            f'{path}: sheet "{sheet}" has {count} formula cell(s) with no saved result '
            f"(first: {first}); open the file in Excel or LibreOffice and save it again"
        )


def unreadable(path: Path, file_format: str, error: BaseException) -> UnreadableFileError:
    """calamine's failure as a one-line UnreadableFileError naming the file."""
    if isinstance(error, calamine.PasswordError):
        where = PASSWORD_MENUS["ods" if file_format == "ods" else "excel"]
        return UnreadableFileError(
            f"{path}: password-protected workbook; save a copy without the password"
            f" ({where}) and import that"
        )
    lines = str(error).strip().splitlines()
    reason = lines[0][:120] if lines else type(error).__name__
    if file_format == "ods" and ODS_TEXT_BETWEEN_CELLS in reason:
        reason = (
            "text between the cells of a row, as an indenting writer leaves: save the file"
            " again from LibreOffice or Excel"
        )
    return UnreadableFileError(f"{path}: not a readable {file_format.upper()} workbook ({reason})")


def _pick_sheet(
    workbook: calamine.CalamineWorkbook, path: Path, file_format: str, options: InputSettings
) -> tuple[str, Table]:
    """The requested sheet, else the first visible worksheet with a phone-number header."""
    if options.sheet is not None:
        names = [_requested_sheet(workbook, path, options.sheet)]
    else:
        names = _visible_sheets(workbook)
    passed_over: list[tuple[str, HeaderNotFound]] = []
    for name in names:
        try:
            return name, _sheet_table(workbook, name, (path, file_format), options)
        except HeaderNotFound as missing:
            passed_over.append((name, missing))
    blank = all(isinstance(missing.error, UnreadableFileError) for _, missing in passed_over)
    if blank and file_format == "ods" and _ods_unknown_cells(path):
        raise UnreadableFileError(
            f"{path}: every row is blank as read, but the sheet has cells of value type"
            ' "unknown", which the reader skips; save the file again from LibreOffice or Excel'
        )
    raise _no_sheet_error(path, passed_over)


def _ods_unknown_cells(path: Path) -> bool:
    """Whether an ODS file's content has cells of `office:value-type="unknown"` (calamine
    reads them as empty); only asked when every row read blank, so the file is small."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
            return ODS_UNKNOWN_TYPE in content.read(ODS_SCAN_BYTES)
    except (KeyError, *ZIP_FAILURES):
        return False


PASSWORD_MENUS = {
    "excel": "File > Info > Protect Workbook in Excel",
    "ods": "File > Save As in LibreOffice, with Save with password unticked",
}
ODS_UNKNOWN_TYPE = b'office:value-type="unknown"'
ODS_TEXT_BETWEEN_CELLS = "found 'Text("  # calamine's words for whitespace between cells
ODS_SCAN_BYTES = 16 << 20


def _no_sheet_error(path: Path, passed_over: list[tuple[str, HeaderNotFound]]) -> InputError:
    """Why no sheet was taken: the one sheet's reason, or each sheet's on one line."""
    if not passed_over:
        return UnreadableFileError(f"{path}: the workbook has no visible worksheet")
    if len(passed_over) == 1:
        return passed_over[0][1].error
    said = [f'"{name}" ({missing.reason})' for name, missing in passed_over[:MESSAGE_SHEETS]]
    if len(passed_over) > MESSAGE_SHEETS:
        said.append(f"... ({len(passed_over) - MESSAGE_SHEETS} more)")
    message = f"{path}: no sheet has a phone-number column: {', '.join(said)}"
    if any(isinstance(missing.error, MappingError) for _, missing in passed_over):
        return MappingError(message)
    return UnreadableFileError(message)


def _requested_sheet(workbook: calamine.CalamineWorkbook, path: Path, wanted: str) -> str:
    """A sheet by name, else by 1-based position when `wanted` is a number."""
    names: list[str] = list(workbook.sheet_names)
    if wanted in names:
        return wanted
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    found = ", ".join(f'"{name}"' for name in names)
    raise UnreadableFileError(f'{path}: no sheet "{wanted}"; sheets: {found}')


def _visible_sheets(workbook: calamine.CalamineWorkbook) -> list[str]:
    return [
        sheet.name
        for sheet in workbook.sheets_metadata
        if sheet.visible == calamine.SheetVisibleEnum.Visible
        and sheet.typ == calamine.SheetTypeEnum.WorkSheet
    ]


def _sheet_table(
    workbook: calamine.CalamineWorkbook,
    name: str,
    where: tuple[Path, str],
    options: InputSettings,
) -> Table:
    """The sheet's table: header found on plain cell text, phone cells read strictly."""
    path = where[0]
    sheet = workbook.get_sheet_by_name(name)  # calamine reads (and checks) the cells first
    facts = _sheet_facts(path, where[1], name)
    texts = (
        (number, row_text(values))
        for number, values in _guarded(_sheet_values(sheet, facts.errors), *where)
    )

    def rest(phone: int) -> Rows:
        for number, values in _guarded(_sheet_values(sheet, facts.errors), *where):  # again
            cells = row_text(values)
            if phone < len(values):
                cells[phone] = phone_cell_text(values[phone])
            yield number, cells

    table = read_table(texts, path, options.columns, rest=rest)
    _refuse_uncached_formulas(path, name, facts)
    return table


def _guarded(
    rows: Iterator[tuple[int, list[Cell]]], path: Path, file_format: str
) -> Iterator[tuple[int, list[Cell]]]:
    """The rows, with calamine's failures (read lazily, after the header) translated."""
    try:
        yield from rows
    except CALAMINE_FAILURES as error:
        raise unreadable(path, file_format, error) from None
    except BaseException as error:
        if not is_panic(error):
            raise
        raise unreadable(path, file_format, error) from None


def _sheet_values(
    sheet: calamine.CalamineSheet, errors: ErrorCells
) -> Iterator[tuple[int, list[Cell]]]:
    """(sheet row number, values from column A) for each row of the sheet.

    calamine's `iter_rows` starts at sheet row 1 but at the first used column, so the
    columns left of it are put back to keep column letters true. Error cells, which
    calamine reads as empty, get their text back (`#N/A`).
    """
    if sheet.start is None:
        return
    padding: list[Cell] = [None] * sheet.start[1]
    rows = enumerate(sheet.iter_rows(), start=1)
    if errors.positions:
        yield from _with_errors(((number, [*padding, *values]) for number, values in rows), errors)
        return
    for number, values in rows:
        yield number, [*padding, *values]


def _with_errors(
    rows: Iterator[tuple[int, list[Cell]]], errors: ErrorCells
) -> Iterator[tuple[int, list[Cell]]]:
    """The rows, each error cell's text in place of the empty value calamine gave."""
    positions, kinds, texts = errors.positions, errors.kinds, errors.texts
    index, end = 0, len(positions)
    for number, values in rows:
        while index < end and positions[index] >> COLUMN_BITS <= number:
            row, column = divmod(positions[index], 1 << COLUMN_BITS)
            if row == number:
                values.extend([None] * (column + 1 - len(values)))
                values[column] = texts[kinds[index]]
            index += 1
        yield number, values
