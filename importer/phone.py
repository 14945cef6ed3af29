"""Phone-number normalisation: whatever a partner typed → E.164 digits without `+`.

`normalize_phonenumber` is the only entry point. It cleans the cell text, refuses text a
spreadsheet has visibly damaged, then lets `phonenumbers` decide. The rules, in order:

1. **Cleaning.** Unicode compatibility forms are folded (full-width digits and plus,
   no-break and thin spaces), invisible format characters (zero-width space, word
   joiner, BOM, direction marks) are dropped, digits of other scripts become ASCII, and
   one leading Excel text marker `'` and a leading `tel:` are removed.
2. **Spreadsheet damage.** Scientific notation (`1.20591E+10`, `1.2059051025E10`) and a
   float tail (`12059051025.0`) mean a spreadsheet stored the number as a float: digits,
   a leading `+` or leading zeros may be gone. These are `phonenumber.excel_precision_lost`
   and are never repaired, even when the digits look complete.
3. **Shape.** After cleaning, only digits, one leading `+` and the separators space
   `-` `.` `(` `)` `/` (and Unicode dashes) are allowed; letters, extensions and URI
   parameters are `phonenumber.not_a_number`.
4. **Readings.** Text starting with `+` is read as international. Text without `+` has
   up to two readings:

   - *international*, when it has 11 or more digits or starts with the `00` call
     prefix: `+` is put in front of the digits (after dropping the `00`);
   - *national*, when a default region is given: the digits in that region's plan.

   Fewer than 11 digits, no `00` and no default region is `phonenumber.no_region`. When
   exactly one distinct valid number comes out, that is the answer. When both readings
   are valid but differ, the international one wins if the digits start with the
   region's own calling code (`4915112345678` in DE) or if the region would never write
   its reading that way (in DE `43664123456` would need a trunk `0`, so it is Austrian).
   Otherwise the cell is `phonenumber.ambiguous` (a Chinese mobile `15012345678` is also
   `+1 501-234-5678`): the partner must add the `+country` code; the tool never picks.
5. **Checks.** When no reading is valid, the problem of the reading that got furthest
   is reported (`invalid` beats `not_possible` beats `not_a_number`, ties go to the
   international reading): unparseable → `not_a_number`, wrong length for the country
   → `not_possible`, possible but unassigned → `invalid`; a `+` followed by no known
   country code is `invalid`; digits with no country code and no region → `no_region`.

Results are cached per `(text, region)`: large files repeat numbers and `phonenumbers`
is the costly step of a row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from importer import catalogue
from importer.catalogue import IssueType
from importer.models import Issue

FIELD = "phonenumber"
INTERNATIONAL_MIN_DIGITS = 11
CACHE_SIZE = 1 << 16

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SHAPE = re.compile(rf"\+?[0-9 ().\-/{_DASHES}]*")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_FLOAT_TAIL = re.compile(r"\+?\d+[.,]0+")
_NOT_DIGIT = re.compile(r"\D")
_TEL_PREFIX = "tel:"

# How far a reading got; the furthest one names the row's problem.
_PROGRESS: dict[IssueType, int] = {
    catalogue.PHONENUMBER_NO_REGION: 0,
    catalogue.PHONENUMBER_NOT_A_NUMBER: 1,
    catalogue.PHONENUMBER_NOT_POSSIBLE: 2,
    catalogue.PHONENUMBER_INVALID: 3,
}
_TOO_SHORT_OR_LONG = frozenset(
    {
        NumberParseException.TOO_SHORT_AFTER_IDD,
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_LONG,
    }
)


class _Reading(NamedTuple):
    """One interpretation of the text: E.164 digits, or why it failed."""

    digits: str | None
    problem: IssueType | None = None
    params: tuple[tuple[str, str], ...] = ()


def normalize_phonenumber(
    text: str, default_region: str | None, *, column: str | None = None
) -> tuple[str | None, Issue | None]:
    """Normalise a cell to E.164 digits without `+`, or say what is wrong with it.

    `default_region` (ISO 3166 alpha-2, any case) reads numbers written without a
    country code; an unknown region raises `ValueError` (a configuration mistake, not
    a row problem). `column` is the header text recorded on the issue.
    """
    reading = _normalize(text, _region(default_region))
    if reading.problem is None:
        return reading.digits, None
    issue = reading.problem.issue(field=FIELD, value=text, **dict(reading.params))
    return None, replace(issue, column=column) if column is not None else issue


def check_region(default_region: str | None) -> str | None:
    """Return the region in upper case; raise `ValueError` if `phonenumbers` lacks it."""
    return _region(default_region)


@lru_cache(maxsize=256)
def _region(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {default_region!r}")
    return region


@lru_cache(maxsize=CACHE_SIZE)
def _normalize(text: str, region: str | None) -> _Reading:
    cleaned = clean_text(text)
    if not cleaned:
        return _Reading(None, catalogue.PHONENUMBER_MISSING)
    if _SCIENTIFIC.fullmatch(cleaned) or _FLOAT_TAIL.fullmatch(cleaned):
        return _Reading(None, catalogue.PHONENUMBER_EXCEL_PRECISION_LOST)
    if not _SHAPE.fullmatch(cleaned) or not any(ch.isdigit() for ch in cleaned):
        return _Reading(None, catalogue.PHONENUMBER_NOT_A_NUMBER)
    digits = _NOT_DIGIT.sub("", cleaned)
    if cleaned.startswith("+"):
        return _read("+" + digits, None, plus_typed=True)
    return _read_unsigned(digits, region)


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


def _read_unsigned(digits: str, region: str | None) -> _Reading:
    """Digits written without `+`: weigh the international and national readings."""
    international = _international_reading(digits)
    national = _read(digits, region, plus_typed=False) if region is not None else None
    if national is None:
        return international or _Reading(None, catalogue.PHONENUMBER_NO_REGION)
    if international is None:
        return national
    return _choose(digits, region, international, national)


def _international_reading(digits: str) -> _Reading | None:
    """`+` in front of the digits; None when they do not start with a country code."""
    if digits.startswith("00"):
        digits = digits[2:]
    elif len(digits) < INTERNATIONAL_MIN_DIGITS:
        return None
    reading = _read("+" + digits, None, plus_typed=False)
    return None if reading.problem is catalogue.PHONENUMBER_NO_REGION else reading


def _choose(
    digits: str, region: str | None, international: _Reading, national: _Reading
) -> _Reading:
    if international.digits is None or national.digits is None:
        valid = [reading for reading in (international, national) if reading.digits]
        return valid[0] if valid else max(international, national, key=_progress)
    own_code = str(phonenumbers.country_code_for_region(region or ""))
    if international.digits == national.digits or digits.startswith(own_code):
        return international
    if not _written_nationally(digits, national.digits):
        return international
    params = (
        ("international", international.digits),
        ("national", national.digits),
        ("region", region or ""),
    )
    return _Reading(None, catalogue.PHONENUMBER_AMBIGUOUS, params)


def _written_nationally(digits: str, e164_digits: str) -> bool:
    """True when `digits` are exactly how the region writes that number at home."""
    number = phonenumbers.parse("+" + e164_digits, None)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return _NOT_DIGIT.sub("", national) == digits


def _progress(reading: _Reading) -> int:
    return _PROGRESS.get(reading.problem, 0) if reading.problem else len(_PROGRESS)


def _read(text: str, region: str | None, *, plus_typed: bool) -> _Reading:
    """Parse and check one candidate with `phonenumbers`; `plus_typed`: the cell had `+`."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        return _Reading(None, _parse_problem(error, plus_typed=plus_typed))
    if not phonenumbers.is_possible_number(number):
        return _Reading(None, catalogue.PHONENUMBER_NOT_POSSIBLE)
    if not phonenumbers.is_valid_number(number):
        return _Reading(None, catalogue.PHONENUMBER_INVALID)
    return _Reading(phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:])


def _parse_problem(error: NumberParseException, *, plus_typed: bool) -> IssueType:
    if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return catalogue.PHONENUMBER_INVALID if plus_typed else catalogue.PHONENUMBER_NO_REGION
    if error.error_type in _TOO_SHORT_OR_LONG:
        return catalogue.PHONENUMBER_NOT_POSSIBLE
    return catalogue.PHONENUMBER_NOT_A_NUMBER
