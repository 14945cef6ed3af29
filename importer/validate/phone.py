"""Phone-number normalisation: whatever a partner typed → E.164 digits without `+`.

`normalize_phonenumber` reads one cell (`read_number` gives the whole `Reading`,
`importer.validate.phonebatch` reads batches). It cleans the cell text, refuses text a
spreadsheet has visibly damaged, then lets `phonenumbers` decide. The rules, in order:

1. **Cleaning.** Unicode compatibility forms are folded (full-width digits and plus,
   no-break and thin spaces), invisible format characters (zero-width space, word
   joiner, BOM, direction marks) are dropped, digits of other scripts become ASCII, and
   one leading Excel text marker `'` and a leading `tel:` are removed.
2. **Spreadsheet damage.** Scientific notation (`1.20591E+10`, `1.2059051025E10`) and a
   float tail (`12059051025.0`) mean a spreadsheet stored the number as a float: digits,
   a leading `+` or leading zeros may be gone. These are `phonenumber.excel_precision_lost`
   and are never repaired, even when the digits look complete. So is a plain run of
   more than 15 significant digits (no `+`) whose digits past the 15th are all zeros
   (`12059051025123400`): Excel keeps 15 significant digits of a number typed into a
   cell and zeroes the rest. Longer digits with anything else past the 15th are a
   typing mistake and get the usual length check (`not_possible`).
3. **Shape.** A leading minus (`-12059051025`, a negative number) is
   `phonenumber.not_a_number`: no phone number starts with one. After cleaning, only
   digits, one leading `+` and the separators space `-` `.` `(` `)` `/` (and Unicode
   dashes) are allowed; letters, extensions and URI parameters are
   `phonenumber.not_a_number`.
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
6. **Kind.** A valid number also carries its libphonenumber type (`mobile`,
   `fixed_line`, `premium_rate`, …), read in the same step as validity
   (`number_type(n) != UNKNOWN` is exactly `is_valid_number(n)`), so it costs nothing;
   `is_possible_number` is asked only of invalid numbers (a valid one is possible).

`NumberPolicy` then applies the partner's own rules to a valid number: allowed
countries and prefixes (errors) and the types that usually cannot take SMS (a warning).

Speed: `phonenumbers` is the costly step of a row. `normalize_phonenumber` caches per
`(text, region)`; `importer.validate.phonebatch` reads a file's distinct cells in batches, in
worker processes when there are many. A plain NANP number (`+1` and ten digits, or ten
digits in the US) skips `phonenumbers.parse` (`importer.validate.nanp`, exactly the same answer).
Results are the same whichever way they were computed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from importer.mapping import PHONE_FIELD
from importer.models import Issue, IssueType
from importer.validate import catalogue
from importer.validate.nanp import nanp_reading
from importer.validate.numberpolicy import NumberPolicy, check_country, country_of

__all__ = [
    "NumberPolicy",
    "Reading",
    "check_country",
    "check_region",
    "clean_text",
    "country_of",
    "normalize_phonenumber",
    "read_number",
]

FIELD = PHONE_FIELD
INTERNATIONAL_MIN_DIGITS = 11
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number and zeroes the rest
CACHE_SIZE = 1 << 16
FAST_NANP = True  # `importer.validate.nanp`; False sends every number through phonenumbers.parse
KIND_NAMES: dict[int, str] = {
    value: name.lower()
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SHAPE = re.compile(rf"\+?[0-9 ().\-/{_DASHES}]*")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_FLOAT_TAIL = re.compile(r"\+?\d+[.,]0+")
_NOT_DIGIT = re.compile(r"\D")
_MINUS_SIGNS = frozenset("-" + _DASHES)
_LONG_DIGITS = re.compile(r"0*([1-9][0-9]{15,})")  # no `+`: Excel drops it from a number
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


class Reading(NamedTuple):
    """One interpretation of the text: E.164 digits and their kind, or why it failed."""

    digits: str | None
    problem: IssueType | None = None
    params: tuple[tuple[str, str], ...] = ()
    kind: str | None = None

    def issue(self, text: str, column: str | None = None) -> Issue | None:
        """The issue for the cell `text` this reading came from, or None when it is valid."""
        if self.problem is None:
            return None
        issue = self.problem.issue(field=FIELD, value=text, **dict(self.params))
        return replace(issue, column=column) if column is not None else issue


def normalize_phonenumber(
    text: str, default_region: str | None, *, column: str | None = None
) -> tuple[str | None, Issue | None]:
    """Normalise a cell to E.164 digits without `+`, or say what is wrong with it.

    `default_region` (ISO 3166 alpha-2, any case) reads numbers written without a
    country code; an unknown region raises `ValueError` (a configuration mistake, not
    a row problem). `column` is the header text recorded on the issue.
    """
    reading = read_number(text, default_region)
    return reading.digits, reading.issue(text, column)


def read_number(text: str, default_region: str | None) -> Reading:
    """The cached `Reading` of one cell (see `normalize_phonenumber`)."""
    return _normalize(text, _region(default_region))


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


def _read_text(text: str, region: str | None) -> Reading:
    """One cell, uncached (`_normalize` is this behind an LRU cache)."""
    cleaned = clean_text(text)
    if not cleaned:
        return Reading(None, catalogue.PHONENUMBER_MISSING)
    refused = _refused_shape(cleaned)
    if refused is not None:
        return Reading(None, refused)
    digits = _NOT_DIGIT.sub("", cleaned)
    if cleaned.startswith("+"):
        return _read("+" + digits, None, plus_typed=True)
    return _read_unsigned(digits, region)


_normalize = lru_cache(maxsize=CACHE_SIZE)(_read_text)


def _refused_shape(cleaned: str) -> IssueType | None:
    """Spreadsheet damage, a leading minus, or text that is not a number's shape."""
    if _SCIENTIFIC.fullmatch(cleaned) or _FLOAT_TAIL.fullmatch(cleaned):
        return catalogue.PHONENUMBER_EXCEL_PRECISION_LOST
    if cleaned[0] in _MINUS_SIGNS:
        return catalogue.PHONENUMBER_NOT_A_NUMBER
    if _digits_zeroed(cleaned):
        return catalogue.PHONENUMBER_EXCEL_PRECISION_LOST
    if not _SHAPE.fullmatch(cleaned) or not any(ch.isdigit() for ch in cleaned):
        return catalogue.PHONENUMBER_NOT_A_NUMBER
    return None


def _digits_zeroed(cleaned: str) -> bool:
    """Plain digits past Excel's 15 significant ones, all zero: what Excel leaves of them."""
    long_number = _LONG_DIGITS.fullmatch(cleaned)
    return long_number is not None and not long_number.group(1)[EXCEL_DIGITS:].strip("0")


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


def _read_unsigned(digits: str, region: str | None) -> Reading:
    """Digits written without `+`: weigh the international and national readings."""
    international = _international_reading(digits)
    if international and international.digits and _own_code(digits, region):
        return international  # what `_choose` would pick whatever the national reading
    national = _read(digits, region, plus_typed=False) if region is not None else None
    if national is None:
        return international or Reading(None, catalogue.PHONENUMBER_NO_REGION)
    if international is None:
        return national
    return _choose(digits, region, international, national)


def _own_code(digits: str, region: str | None) -> bool:
    """True when `digits` start with `region`'s own calling code (1 for US)."""
    return region is not None and digits.startswith(str(_calling_code(region)))


@lru_cache(maxsize=256)
def _calling_code(region: str) -> int:
    return int(phonenumbers.country_code_for_region(region))


def _international_reading(digits: str) -> Reading | None:
    """`+` in front of the digits; None when they do not start with a country code."""
    if digits.startswith("00"):
        digits = digits[2:]
    elif len(digits) < INTERNATIONAL_MIN_DIGITS:
        return None
    reading = _read("+" + digits, None, plus_typed=False)
    return None if reading.problem is catalogue.PHONENUMBER_NO_REGION else reading


def _choose(digits: str, region: str | None, international: Reading, national: Reading) -> Reading:
    if international.digits is None or national.digits is None:
        valid = [reading for reading in (international, national) if reading.digits]
        return valid[0] if valid else max(international, national, key=_progress)
    if international.digits == national.digits or _own_code(digits, region):
        return international
    if not _written_nationally(digits, national.digits):
        return international
    params = (
        ("international", international.digits),
        ("national", national.digits),
        ("region", region or ""),
    )
    return Reading(None, catalogue.PHONENUMBER_AMBIGUOUS, params)


def _written_nationally(digits: str, e164_digits: str) -> bool:
    """True when `digits` are exactly how the region writes that number at home."""
    number = phonenumbers.parse("+" + e164_digits, None)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return _NOT_DIGIT.sub("", national) == digits


def _progress(reading: Reading) -> int:
    return _PROGRESS.get(reading.problem, 0) if reading.problem else len(_PROGRESS)


def _read(text: str, region: str | None, *, plus_typed: bool) -> Reading:
    """Parse and check one candidate with `phonenumbers`; `plus_typed`: the cell had `+`."""
    fast = nanp_reading(text, region) if FAST_NANP else None
    if fast is not None:
        digits, kind = fast
        if digits is None:
            return Reading(None, catalogue.PHONENUMBER_INVALID)
        return Reading(digits, kind=KIND_NAMES.get(kind))
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        return Reading(None, _parse_problem(error, plus_typed=plus_typed))
    kind = phonenumbers.number_type(number)  # UNKNOWN exactly when not is_valid_number
    if kind == PhoneNumberType.UNKNOWN:  # a valid number is always possible: ask only now
        if phonenumbers.is_possible_number(number):
            return Reading(None, catalogue.PHONENUMBER_INVALID)
        return Reading(None, catalogue.PHONENUMBER_NOT_POSSIBLE)
    digits = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    return Reading(digits, kind=KIND_NAMES.get(kind))


def _parse_problem(error: NumberParseException, *, plus_typed: bool) -> IssueType:
    if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return catalogue.PHONENUMBER_INVALID if plus_typed else catalogue.PHONENUMBER_NO_REGION
    if error.error_type in _TOO_SHORT_OR_LONG:
        return catalogue.PHONENUMBER_NOT_POSSIBLE
    return catalogue.PHONENUMBER_NOT_A_NUMBER
