"""Phone-number checks and the read-only fields CarrierX derives from the number.

`country_code` (alpha-3), `in_country_format` and `international_format` come from
`phonenumbers`. `state`, `locality`, `lata`, `ocn`, `ocn_block` and `lrn_sid` need the
LERG, which the sandbox does not have: they are null, which the contract allows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers

from importer.sandbox.countries import alpha3

_MIN_DIGITS = 8
_MAX_DIGITS = 15


def number_problem(digits: str, check: Literal["valid", "possible"]) -> str | None:
    """Why `digits` is not an acceptable E.164 number without '+', or None if it is."""
    if not digits.isascii() or not digits.isdigit() or digits.startswith("0"):
        return "phonenumber must be E.164 digits without '+'"
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return "phonenumber must have 8 to 15 digits"
    facts = _inspect(digits)
    if facts is None:
        return "phonenumber is not a possible phone number"
    if check == "valid" and not facts.valid:
        return "phonenumber is not a valid phone number"
    return None


def derived_fields(digits: str) -> dict[str, Any]:
    """The read-only, number-derived fields of a new External DID."""
    facts = _inspect(digits)
    return _NULL_FIELDS | (facts.fields if facts is not None else {})


_NULL_FIELDS: dict[str, Any] = dict.fromkeys(
    ("country_code", "in_country_format", "international_format", "lata", "locality")
) | dict.fromkeys(("lrn_sid", "ocn", "ocn_block", "state"))


@dataclass(frozen=True)
class _Facts:
    valid: bool
    fields: dict[str, str | None]


@functools.lru_cache(maxsize=4096)
def _inspect(digits: str) -> _Facts | None:
    """Parse once: validity and derived fields (None if not even a possible number)."""
    nanp = _is_nanp(digits)
    try:
        parsed = _nanp_number(digits) if nanp else phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    region = phonenumbers.region_code_for_number(parsed)
    national, international = _nanp_formats(digits) if nanp else _formats(parsed)
    fields = {
        "country_code": alpha3(region),
        "in_country_format": national,
        "international_format": international,
    }
    valid = region is not None and phonenumbers.is_valid_number_for_region(parsed, region)
    return _Facts(valid=bool(valid), fields=fields)


def _formats(parsed: phonenumbers.PhoneNumber) -> tuple[str, str]:
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return str(national), str(international)


# Fast paths for 1 + NPA(2-9..) + 7 digits, the bulk of the traffic: `parse` and
# `format_number` give exactly these results (checked in test_sandbox_numbers), at a
# tenth of the cost. Everything else goes through phonenumbers in full.


def _is_nanp(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] not in "01"


def _nanp_number(digits: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.PhoneNumber(country_code=1, national_number=int(digits[1:]))


def _nanp_formats(digits: str) -> tuple[str, str]:
    area, exchange, line = digits[1:4], digits[4:7], digits[7:]
    return f"({area}) {exchange}-{line}", f"+1 {area}-{exchange}-{line}"
