"""The sandbox's number checks and derived fields, including the NANP fast path."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from importer.sandbox.countries import ALPHA3
from importer.sandbox.numbers import derived_fields, number_problem


def full_phonenumbers_fields(digits: str) -> tuple[str | None, str, str, bool]:
    """What phonenumbers itself says: region, both formats, validity."""
    parsed = phonenumbers.parse("+" + digits)
    return (
        phonenumbers.region_code_for_number(parsed),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.is_valid_number(parsed),
    )


def test_nanp_fast_path_matches_phonenumbers() -> None:
    """For 2,000 random NANP numbers the fast path gives phonenumbers' own answers."""
    rng = random.Random(5)
    for _ in range(2000):
        digits = f"1{rng.randint(2_000_000_000, 9_999_999_999)}"
        region, national, international, valid = full_phonenumbers_fields(digits)
        fields = derived_fields(digits)
        assert fields["country_code"] == ALPHA3.get(region or "")
        assert (fields["in_country_format"], fields["international_format"]) == (
            national,
            international,
        )
        assert (number_problem(digits, "valid") is None) == valid


@pytest.mark.parametrize(
    ("digits", "country"),
    [
        ("442079460000", "GBR"),
        ("4915112345678", "DEU"),
        ("390612345678", "ITA"),
        ("16135550123", "CAN"),
        ("17875550123", "PRI"),
        ("80012345678", None),
    ],
)
def test_other_numbers_use_phonenumbers(digits: str, country: str | None) -> None:
    """Non-NANP (and non-US NANP) numbers get phonenumbers' region and formats."""
    _, national, international, _ = full_phonenumbers_fields(digits)
    fields = derived_fields(digits)
    assert fields["country_code"] == country
    assert (fields["in_country_format"], fields["international_format"]) == (
        national,
        international,
    )


def test_every_supported_region_has_an_alpha3_code() -> None:
    """The alpha-2 → alpha-3 table covers every region phonenumbers supports."""
    assert set(phonenumbers.SUPPORTED_REGIONS) <= set(ALPHA3)
    assert all(len(code) == 3 and code.isupper() for code in ALPHA3.values())


@pytest.mark.parametrize(
    ("digits", "problem"),
    [
        ("+12059051025", "E.164 digits"),
        ("0205905102", "E.164 digits"),
        ("1205905", "8 to 15 digits"),
        ("99912345678", "not a possible"),
        ("15555550100", "not a valid"),
    ],
)
def test_number_problems(digits: str, problem: str) -> None:
    """Each kind of bad number gets its own message."""
    message = number_problem(digits, "valid")
    assert message is not None
    assert problem in message


def test_possible_check_accepts_unassigned_ranges() -> None:
    """number_check=possible accepts a possible but invalid number."""
    assert number_problem("15555550100", "possible") is None
    assert derived_fields("15555550100")["international_format"] == "+1 555-555-0100"
