"""The partner template: an .xlsx a partner fills in and sends back, hard to get wrong.

`write_template` writes three sheets:

- **Numbers** (first, so the loader reads it): the canonical headers, frozen; every
  column formatted as text (`@`), so Excel keeps `+12059051025` and leading zeros as
  typed instead of turning them into a float (`phonenumber.excel_precision_lost`);
  a dropdown on `capabilities` listing every allowed mask with its meaning
  (`27 (SMS in+out, MMS in+out)`, which the validator reads as 27). The dropdown only
  warns on other text, because names such as `sms+mms` are accepted too.
- **Notes**: one line per column: required or not, what it holds, an example; each
  row as tall as its wrapped text (`wrapped_height`: xlsxwriter does not fit heights,
  and LibreOffice would draw the text over the rows below).
- **Capabilities**: the allowed masks, their bits and the dropdown text.

Every sheet prints landscape, one page wide, its header row on every page: the empty
Numbers sheet is one page, not four pages of two headers each.

Written with xlsxwriter with every automatic conversion off, like the reports.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.worksheet import Worksheet

from importer.errors import ConfigError
from importer.mapping import CANONICAL_FIELDS
from importer.validate.capabilities import ALLOWED_MASKS, describe_mask

DATA_SHEET = "Numbers"
NOTES_SHEET = "Notes"
MASKS_SHEET = "Capabilities"
DEFAULT_ROWS = 1000
ROW_HEIGHT = 15  # points: one line of 11 pt text
WRAP_FILL = 0.9  # characters a wrapped line holds per unit of column width
NOTES_WIDTHS = (24, 28, 70, 36)

# field → (required, what it holds, example)
NOTES: dict[str, tuple[str, str, str]] = {
    "phonenumber": (
        "yes",
        "The number in E.164 form, with + and the country code. The column is text: "
        "type it as shown, Excel will not change it.",
        "+12059051025",
    ),
    "capabilities": (
        "yes, unless a default is given (--capabilities)",
        "Messaging capabilities: pick from the list, or type a mask or names "
        "(sms, mms, sms_in, sms_out, mms_in, mms_out). 1 SMS in, 2 SMS out, 8 MMS in, "
        "16 MMS out; voice (4) is never allowed.",
        "3 (SMS in+out)",
    ),
    "callback_url": (
        "no",
        "Absolute https:// URL that receives SMS events for this number; at most "
        "2,048 characters, no spaces. Empty: the partner's default.",
        "https://example.com/sms-callback",
    ),
    "name": ("no", "A name for the number, at most 255 characters.", "Front desk"),
    "underlying_carrier_sid": (
        "only if your account has no default carrier",
        "The SID (a UUID) of the carrier that serves the number, from the CarrierX portal.",
        "61ced070-8dad-43b4-b5e6-f7d61f7aeb65",
    ),
    "attributes": ("no", "A JSON object of your own key/value pairs.", '{"team": "sales"}'),
    "string_key_1": ("no", "A free text key of your own, at most 255 characters.", "store-42"),
    "string_key_2": ("no", "A second free text key, at most 255 characters.", "region-west"),
}
WIDTHS: dict[str, int] = {
    "phonenumber": 18,
    "capabilities": 30,
    "callback_url": 40,
    "underlying_carrier_sid": 38,
    "attributes": 28,
}
_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


def dropdown_values() -> list[str]:
    """The capability dropdown's entries: `3 (SMS in+out)`, … for every allowed mask."""
    return [f"{mask} ({describe_mask(mask)})" for mask in ALLOWED_MASKS]


def write_template(path: Path, *, rows: int = DEFAULT_ROWS) -> Path:
    """Write the template to `path` (data validation on the first `rows` data rows)."""
    if path.suffix.lower() != ".xlsx":
        raise ConfigError(f"{path}: the template is an .xlsx workbook; name it *.xlsx")
    workbook = xlsxwriter.Workbook(str(path), _OPTIONS)
    try:
        _numbers_sheet(workbook, rows)
        _notes_sheet(workbook)
        _masks_sheet(workbook)
        workbook.close()
    except (OSError, XlsxWriterException) as error:
        raise ConfigError(f"{path}: cannot write the template ({error})") from None
    return path


def _numbers_sheet(workbook: xlsxwriter.Workbook, rows: int) -> None:
    sheet = workbook.add_worksheet(DATA_SHEET)
    text = workbook.add_format({"num_format": "@"})
    bold = workbook.add_format({"bold": True, "num_format": "@", "bg_color": "#DDEBF7"})
    for index, field in enumerate(CANONICAL_FIELDS):
        sheet.set_column(index, index, WIDTHS.get(field, 18), text)
        sheet.write_string(0, index, field, bold)
    sheet.freeze_panes(1, 0)
    _print_setup(sheet)
    column = CANONICAL_FIELDS.index("capabilities")
    last = len(ALLOWED_MASKS) + 1
    sheet.data_validation(
        1,
        column,
        rows,
        column,
        {
            "validate": "list",
            "source": f"={MASKS_SHEET}!$C$2:$C${last}",
            "error_type": "warning",
            "error_title": "Capabilities",
            "error_message": "Pick a mask from the list, or type names such as sms+mms.",
            "input_title": "Capabilities",
            "input_message": "1 SMS in, 2 SMS out, 8 MMS in, 16 MMS out; never voice (4).",
        },
    )


def _notes_sheet(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet(NOTES_SHEET)
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    for index, title in enumerate(("column", "required", "what it holds", "example")):
        sheet.write_string(0, index, title, bold)
    for row, field in enumerate(CANONICAL_FIELDS, start=1):
        required, meaning, example = NOTES[field]
        texts = (field, required, meaning, example)
        for index, text in enumerate(texts):
            sheet.write_string(row, index, text, wrap)
        sheet.set_row(row, wrapped_height(texts, NOTES_WIDTHS))
    for index, width in enumerate(NOTES_WIDTHS):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)
    _print_setup(sheet)


def wrapped_height(texts: tuple[str, ...], widths: tuple[int, ...]) -> float:
    """Points of height a row needs for its texts wrapped in columns of `widths`."""
    lines = 1
    for text, width in zip(texts, widths, strict=True):
        per_line = max(int(width * WRAP_FILL), 1)
        lines = max(lines, _wrapped_lines(text, per_line))
    return ROW_HEIGHT * lines


def _wrapped_lines(text: str, per_line: int) -> int:
    """Lines a text takes wrapped at word boundaries, `per_line` characters each."""
    return max(len(textwrap.wrap(text, per_line)), 1)


def _print_setup(sheet: Worksheet) -> None:
    """Landscape, one page wide, the header row repeated on every page."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)


def _masks_sheet(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet(MASKS_SHEET)
    bold = workbook.add_format({"bold": True})
    for index, title in enumerate(("mask", "meaning", "dropdown text")):
        sheet.write_string(0, index, title, bold)
    for row, (mask, entry) in enumerate(zip(ALLOWED_MASKS, dropdown_values(), strict=True), 1):
        sheet.write_number(row, 0, mask)
        sheet.write_string(row, 1, describe_mask(mask))
        sheet.write_string(row, 2, entry)
    sheet.set_column(1, 2, 30)
    _print_setup(sheet)
