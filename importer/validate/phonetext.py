"""A phone cell's text before it is read as a number: cleaned, or refused for its shape.

`clean_text` folds what spreadsheets and copy-paste add (see `importer.validate.phone`,
rules 1 to 3); `refused_shape` names the problem of text that cannot be a number at
all: spreadsheet damage, a leading minus, an extension, letters or other symbols.
"""

from __future__ import annotations

import re
import unicodedata

from importer.models import IssueType
from importer.validate import catalogue

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number and zeroes the rest

Params = tuple[tuple[str, str], ...]

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SHAPE = re.compile(rf"\+?[0-9 ().\-/{_DASHES}]*")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_FLOAT_TAIL = re.compile(r"\+?\d+[.,]0+")
_MINUS_SIGNS = frozenset("-" + _DASHES)
_LONG_DIGITS = re.compile(r"0*([1-9][0-9]{15,})")  # no `+`: Excel drops it from a number
_TEL_PREFIX = "tel:"
# A number, then `x`, `#`, `ext`, `ext.`, `extn`, `extension` or RFC 3966's `;ext=`, then digits.
_EXTENSION = re.compile(
    r"(?P<number>.*?\d)\s*(?:;\s*ext\s*=|(?:ext(?:ension|n)?|x)\s*[.:]?|#)"
    r"\s*(?P<extension>\d+)#?",
    re.IGNORECASE,
)


def clean_text(text: str) -> str:
    """Fold Unicode look-alikes, drop invisible characters and Excel/URI prefixes."""
    if not text.isascii():
        text = _fold_unicode(text)
    text = text.strip()
    if text.startswith("'"):
        text = text[1:].lstrip()
    if text[:4].lower() == _TEL_PREFIX:
        text = text[4:].lstrip()
    return text


def _fold_unicode(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    return "".join(_fold_char(ch) for ch in folded if unicodedata.category(ch) != "Cf")


def _fold_char(ch: str) -> str:
    if ch.isascii() or not ch.isdecimal():
        return ch
    return str(unicodedata.decimal(ch))


def refused_shape(cleaned: str) -> tuple[IssueType, Params] | None:
    """Spreadsheet damage, a leading minus, an extension, or text not shaped like a number."""
    if _SCIENTIFIC.fullmatch(cleaned) or _FLOAT_TAIL.fullmatch(cleaned):
        return catalogue.PHONENUMBER_EXCEL_PRECISION_LOST, ()
    if cleaned[0] in _MINUS_SIGNS:
        return catalogue.PHONENUMBER_NOT_A_NUMBER, ()
    if _digits_zeroed(cleaned):
        return catalogue.PHONENUMBER_EXCEL_PRECISION_LOST, ()
    if _SHAPE.fullmatch(cleaned) and any(ch.isdigit() for ch in cleaned):
        return None
    extension = _EXTENSION.fullmatch(cleaned)
    if extension is not None and _SHAPE.fullmatch(extension["number"]):
        return catalogue.PHONENUMBER_EXTENSION, (("extension", extension["extension"]),)
    return catalogue.PHONENUMBER_NOT_A_NUMBER, ()


def _digits_zeroed(cleaned: str) -> bool:
    """Plain digits past Excel's 15 significant ones, all zero: what Excel leaves of them."""
    long_number = _LONG_DIGITS.fullmatch(cleaned)
    return long_number is not None and not long_number.group(1)[EXCEL_DIGITS:].strip("0")
