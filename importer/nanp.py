"""A plain NANP number read without `phonenumbers.parse`, with exactly its answer.

87 % of a large US partner file is `+1` and ten digits (or ten digits with region US):
`parse` spends most of a number's 25 µs finding out what these already say. Checked
against the full path on thousands of random numbers in tests/test_speed_paths.py.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

NANP_E164_LENGTH = 12  # "+1" and ten digits
NANP_NATIONAL_LENGTH = 10


def nanp_reading(digits: str, region: str | None) -> tuple[str | None, int] | None:
    """(E.164 digits or None when invalid, number type) without `parse`; None: not a plain NANP.

    `+1` and ten digits whose first is 2-9 (or, in a region of calling code 1 that
    strips only a `1` prefix, the ten digits alone) is exactly what `parse` makes into
    `PhoneNumber(1, digits)`: no prefix to strip, no leading zero, no extension. Asking
    `number_type` of that number directly gives the same answer at 40 % of the cost.
    Ten national digits are always a possible NANP length, so an invalid one is
    `invalid`, as the full path would say.
    """
    if digits[:2] == "+1" and len(digits) == NANP_E164_LENGTH:
        national = digits[2:]
    elif len(digits) == NANP_NATIONAL_LENGTH and _nanp_region(region):
        national = digits
    else:
        return None
    if national[0] in "01" or not (national.isascii() and national.isdigit()):
        return None
    kind = phonenumbers.number_type(PhoneNumber(country_code=1, national_number=int(national)))
    if kind == PhoneNumberType.UNKNOWN:
        return None, kind
    return "1" + national, kind


@lru_cache(maxsize=256)
def _nanp_region(region: str | None) -> bool:
    """True for a region of calling code 1 whose only national prefix is `1` (US, CA, ...)."""
    if region is None or phonenumbers.country_code_for_region(region) != 1:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.national_prefix_for_parsing in (None, "1")
