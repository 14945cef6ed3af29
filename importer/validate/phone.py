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
   dashes) are allowed. A number followed by an extension (`x123`, `ext. 45`, `#12`,
   `;ext=9`) is `phonenumber.extension`: it names a line behind a switchboard, not a
   number that can be registered. Other letters and URI parameters are
   `phonenumber.not_a_number`. (`importer.validate.phonetext` does 1 to 3.)
4. **Readings.** Text starting with `+` is read as international. Text without `+` has
   up to two readings:

   - *international*: `+` put in front of the digits (after dropping a `00` call
     prefix);
   - *national*, when a default region is given: the digits in that region's plan.

   Without a default region, the international reading is the only one, and it is
   tried only for 11 or more digits or a `00` (fewer is `phonenumber.no_region`).
   With one, the national reading is always made, and the international one too when
   the digits have 11 or more, a `00`, or when the national reading is valid but
   could as well be a number that lost its `+`: the digits start with the region's
   own calling code (`5540041234` in BR), or the region would not write its reading
   that way (`4916412345` in DE lacks the trunk `0` of `0491 6412345`). When exactly
   one distinct valid number comes out, that is the answer. When both readings are
   valid but differ, whatever the length, the cell is `phonenumber.ambiguous` (a
   Chinese mobile `15012345678` is also `+1 501-234-5678`; `4916412345` in DE is also
   `+49 16412345`): the partner must add the `+country` code; the tool never picks.
   So short digits written exactly as the region writes them at home, not starting
   with its calling code, are read nationally: ten NANP digits in the US are a US
   number even though about one in ten (`3647430517`) is also a valid number abroad
   once a `+` is put in front (README, "Digits without `+`").
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
digits in the US, alone or after a `1`) skips `phonenumbers.parse`, and so does the
question whether ten NANP digits are written as at home (`importer.validate.nanp`,
exactly the same answers).
Results are the same whichever way they were computed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from importer.mapping import PHONE_FIELD
from importer.models import Issue, IssueType
from importer.validate import catalogue
from importer.validate.nanp import nanp_home_digits, nanp_reading
from importer.validate.numberpolicy import NumberPolicy, check_country, country_of
from importer.validate.phonetext import clean_text, refused_shape

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
CACHE_SIZE = 1 << 16
FAST_NANP = True  # `importer.validate.nanp`; False sends every number through phonenumbers.parse
KIND_NAMES: dict[int, str] = {
    value: name.lower()
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}

_NOT_DIGIT = re.compile(r"\D")

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
    refused = refused_shape(cleaned)
    if refused is not None:
        return Reading(None, *refused)
    digits = _NOT_DIGIT.sub("", cleaned)
    if cleaned.startswith("+"):
        return _read("+" + digits, None, plus_typed=True)
    if region is None:
        international = _international_reading(digits) if _long(digits) else None
        return international or Reading(None, catalogue.PHONENUMBER_NO_REGION)
    return _read_unsigned(digits, region)


_normalize = lru_cache(maxsize=CACHE_SIZE)(_read_text)


def _read_unsigned(digits: str, region: str) -> Reading:
    """Digits written without `+`, with a default region: weigh both readings (rule 4)."""
    national = _read(digits, region, plus_typed=False)
    if national.digits == digits:  # the country code typed without `+`: both readings agree
        return national
    if not (_long(digits) or _questionable(digits, region, national)):
        return national
    international = _international_reading(digits)
    if international is None:
        return national
    return _choose(region, international, national)


def _long(digits: str) -> bool:
    """True for digits long enough to be read as international on their own (or after `00`)."""
    return len(digits) >= INTERNATIONAL_MIN_DIGITS or digits.startswith("00")


def _questionable(digits: str, region: str, national: Reading) -> bool:
    """True for a valid short national reading that could as well be a number with a lost `+`.

    That is when the digits start with the region's own calling code (`5540041234` in
    BR, area code 55, is also +55 4004-1234), or when the region would not write the
    national reading that way: `4916412345` in DE is written `0491 6412345`, so reading
    it nationally repairs a lost trunk prefix as much as reading it internationally
    repairs a lost `+`. Digits starting with 0 start no country code: no doubt.
    """
    if national.digits is None or digits[0] == "0":
        return False
    if digits.startswith(_calling_code(region)):
        return True
    return not _written_nationally(digits, national.digits)


@lru_cache(maxsize=256)
def _calling_code(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region))


def _international_reading(digits: str) -> Reading | None:
    """`+` in front of the digits (after a `00`); None when they start with no country code."""
    if digits.startswith("00"):
        digits = digits[2:]
    reading = _read("+" + digits, None, plus_typed=False)
    return None if reading.problem is catalogue.PHONENUMBER_NO_REGION else reading


def _choose(region: str, international: Reading, national: Reading) -> Reading:
    """The one valid number; two different ones are `ambiguous`; else the furthest problem."""
    if international.digits is None or national.digits is None:
        valid = [reading for reading in (international, national) if reading.digits]
        return valid[0] if valid else max(international, national, key=_progress)
    if international.digits == national.digits:
        return international
    params = (
        ("international", international.digits),
        ("national", national.digits),
        ("region", region),
    )
    return Reading(None, catalogue.PHONENUMBER_AMBIGUOUS, params)


def _written_nationally(digits: str, e164_digits: str) -> bool:
    """True when `digits` are exactly how the number's region writes it at home."""
    home = nanp_home_digits(e164_digits) if FAST_NANP else None
    if home is None:
        number = phonenumbers.parse("+" + e164_digits, None)
        home = _NOT_DIGIT.sub("", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return home == digits


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
