"""A plain NANP number read without `phonenumbers.parse`, with exactly its answer.

87 % of a large US partner file is `+1` and ten digits (or ten digits with region US):
`parse` spends most of a number's 25 µs finding out what these already say. Checked
against the full path on thousands of random numbers in tests/test_speed_paths.py.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType

NANP_E164_LENGTH = 12  # "+1" and ten digits
NANP_NATIONAL_LENGTH = 10


def nanp_reading(digits: str, region: str | None) -> tuple[str | None, int] | None:
    """(E.164 digits or None when invalid, number type) without `parse`; None: not a plain NANP.

    `+1` and ten digits whose first is 2-9 (or, in a region of calling code 1 that
    strips only a `1` prefix, the ten digits alone or after a `1`) is exactly what
    `parse` makes into `PhoneNumber(1, digits)`: no prefix to strip, no leading zero, no
    extension (eleven digits are too long for NANP, so `parse` takes the `1` as the
    calling code); its type is `nanp_type`'s, exactly `number_type`'s at a fraction of
    the cost. Ten national digits are always a possible NANP length, so an invalid one
    is `invalid`, as the full path would say.
    """
    if digits[:2] == "+1" and len(digits) == NANP_E164_LENGTH:
        national = digits[2:]
    elif len(digits) == NANP_NATIONAL_LENGTH and _nanp_region(region):
        national = digits
    elif digits[:1] == "1" and len(digits) == NANP_NATIONAL_LENGTH + 1 and _nanp_region(region):
        national = digits[1:]
    else:
        return None
    if national[0] in "01" or not (national.isascii() and national.isdigit()):
        return None
    kind = nanp_type(national)
    if kind == PhoneNumberType.UNKNOWN:
        return None, kind
    return "1" + national, kind


def nanp_home_digits(e164_digits: str) -> str | None:
    """The digits of a valid NANP number's national form: its ten; None for another country.

    `format_number(…, NATIONAL)` writes every valid NANP number `(NXX) NXX-XXXX`, with
    no trunk prefix (tested on every NANP region's examples and random numbers).
    """
    if e164_digits[:1] == "1" and len(e164_digits) == NANP_NATIONAL_LENGTH + 1:
        return e164_digits[1:]
    return None


@lru_cache(maxsize=256)
def _nanp_region(region: str | None) -> bool:
    """True for a region of calling code 1 whose only national prefix is `1` (US, CA, ...)."""
    if region is None or phonenumbers.country_code_for_region(region) != 1:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.national_prefix_for_parsing in (None, "1")


# `phonenumbers._number_type_helper`'s questions, in its order (fixed line and mobile last).
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
_Matcher = tuple[re.Pattern[str], tuple[int, ...]] | None


def nanp_type(national: str) -> int:
    """`number_type(PhoneNumber(1, national))` for ten digits, with the patterns compiled once.

    `number_type` first finds the number's region (the first NANP region whose leading
    digits match, or, for one without, whose patterns give a type), then asks that
    region's patterns again: twice ten regular expressions looked up in `re`'s cache.
    Here the region's answer is kept, from expressions compiled once per region.
    """
    for leading, region in _nanp_regions():
        if leading is None:
            kind = _region_type(national, region)
            if kind != PhoneNumberType.UNKNOWN:
                return kind
        elif leading.match(national):
            return _region_type(national, region)
    return PhoneNumberType.UNKNOWN


@lru_cache(maxsize=1)
def _nanp_regions() -> tuple[tuple[re.Pattern[str] | None, str], ...]:
    found = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:
            leading = metadata.leading_digits
            found.append((None if leading is None else re.compile(leading), region.upper()))
    return tuple(found)


def _region_type(national: str, region: str) -> int:
    """`phonenumbers._number_type_helper(national, metadata of region)`, step for step."""
    general, typed, fixed, mobile, same = _region_matchers(region)
    if not _matches(national, general):
        return PhoneNumberType.UNKNOWN
    for matcher, kind in typed:
        if _matches(national, matcher):
            return kind
    if _matches(national, fixed):
        if same or _matches(national, mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and _matches(national, mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


@lru_cache(maxsize=64)
def _region_matchers(
    region: str,
) -> tuple[_Matcher, tuple[tuple[_Matcher, int], ...], _Matcher, _Matcher, bool]:
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None, f"{region} comes from _nanp_regions, which has its metadata"
    typed = tuple((_matcher(getattr(metadata, name)), kind) for name, kind in _TYPE_ORDER)
    return (
        _matcher(metadata.general_desc),
        typed,
        _matcher(metadata.fixed_line),
        _matcher(metadata.mobile),
        bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _matcher(desc: PhoneNumberDesc | None) -> _Matcher:
    """A description's pattern and lengths; None where `_is_number_matching_desc` says no."""
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern), tuple(desc.possible_length or ())


def _matches(national: str, matcher: _Matcher) -> bool:
    """`_is_number_matching_desc` (no prefix match) with the pattern already compiled."""
    if matcher is None:
        return False
    pattern, lengths = matcher
    if lengths and len(national) not in lengths:
        return False
    return pattern.fullmatch(national) is not None
