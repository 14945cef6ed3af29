"""Spreadsheet error values: what a cell shows when its formula failed.

A workbook's error cell (`#N/A`) reaches validation as its text (see
`importer.loader.sheetxml`), and so does the same text exported to CSV by Excel. In
the phone-number column it is `cell.error`, naming the error and what it usually
means; in any other column it is kept as the partner's sheet showed it.
"""

from __future__ import annotations

ERROR_MEANINGS = {
    "#N/A": "a lookup found no value",
    "#REF!": "a formula refers to a cell that was deleted",
    "#VALUE!": "a formula was given the wrong kind of value",
    "#DIV/0!": "a formula divided by zero",
    "#NAME?": "a formula uses a name the spreadsheet does not know",
    "#NUM!": "a formula's number is out of range",
    "#NULL!": "a formula's ranges do not meet",
    "#SPILL!": "a formula's result had no room to spill into",
    "#CALC!": "a formula could not be calculated",
    "#GETTING_DATA": "the data was still loading when the file was saved",
}
"""Excel's error values (LibreOffice shows the same), and what each usually means."""


def error_meaning(text: str) -> str | None:
    """What the error value `text` (a whole cell, stripped; any case) means, or None."""
    return ERROR_MEANINGS.get(text.upper()) if text.startswith("#") else None
