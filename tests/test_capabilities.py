"""Tests for importer.capabilities: the capabilities cell → an External DID mask."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.capabilities import MESSAGING, VOICE, check_mask, parse_capabilities
from importer.catalogue import CATALOGUE

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("1", 1),
        ("2", 2),
        ("3", 3),
        ("8", 8),
        ("16", 16),
        ("24", 24),
        ("27", 27),
        ("11", 11),
        ("03", 3),
        ("+3", 3),
        ("3.0", 3),
        ("27.00", 27),
        ("3,0", 3),
        ("\uff12\uff17", 27),
        ("sms", 3),
        ("SMS", 3),
        ("mms", 24),
        ("sms+mms", 27),
        ("SMS/MMS", 27),
        ("sms, mms", 27),
        ("sms and mms", 27),
        ("all", 27),
        ("All", 27),
        ("sms_in+sms_out", 3),
        ("sms-in", 1),
        ("SMS out", 2),
        ("smsin", 1),
        ("mms_in + mms_out", 24),
        ("sms in, mms out", 17),
        ("sms+sms", 3),
    ],
)
def test_good_masks(text: str, mask: int) -> None:
    """Whole numbers, spreadsheet floats and capability names give the mask."""
    assert parse_capabilities(text, None) == (mask, None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x", "capabilities.not_an_integer"),
        ("3.5", "capabilities.not_an_integer"),
        ("1,2", "capabilities.not_an_integer"),
        ("1e1", "capabilities.not_an_integer"),
        ("0x1b", "capabilities.not_an_integer"),
        ("1_1", "capabilities.not_an_integer"),
        ("sms+fax", "capabilities.not_an_integer"),
        ("+", "capabilities.not_an_integer"),
        ("32", "capabilities.out_of_range"),
        ("-1", "capabilities.out_of_range"),
        ("100", "capabilities.out_of_range"),
        ("9" * 5000, "capabilities.out_of_range"),
        ("4", "capabilities.voice_not_allowed"),
        ("5", "capabilities.voice_not_allowed"),
        ("7", "capabilities.voice_not_allowed"),
        ("31", "capabilities.voice_not_allowed"),
        ("4.0", "capabilities.voice_not_allowed"),
        ("voice", "capabilities.voice_not_allowed"),
        ("sms+voice", "capabilities.voice_not_allowed"),
        ("0", "capabilities.no_messaging"),
        ("-0", "capabilities.no_messaging"),
    ],
)
def test_bad_masks_get_their_code(text: str, code: str) -> None:
    """Each kind of bad mask gives no mask and exactly its catalogue code."""
    mask, issue = parse_capabilities(text, 27)
    assert mask is None
    assert issue is not None
    assert issue.code == code
    assert code in CATALOGUE


def test_empty_takes_the_default() -> None:
    """An empty cell takes the run's default mask."""
    assert parse_capabilities("", 24) == (24, None)


def test_empty_without_default_is_missing() -> None:
    """An empty cell with no default is capabilities.missing."""
    mask, issue = parse_capabilities("", None)
    assert mask is None
    assert issue is not None
    assert issue.code == "capabilities.missing"


def test_bad_default_is_checked_too() -> None:
    """A default is held to the same rules as a cell, its value shown as text."""
    _, issue = parse_capabilities("", 4)
    assert issue is not None
    assert (issue.code, issue.value) == ("capabilities.voice_not_allowed", "4")


def test_issue_names_field_column_and_original_text() -> None:
    """The issue records the canonical field, the header text and the cell as typed."""
    _, issue = parse_capabilities("31", None, column="Caps")
    assert issue is not None
    assert (issue.field, issue.column, issue.value) == ("capabilities", "Caps", "31")
    assert "31" in issue.message


@PROPERTY_SETTINGS
@given(st.integers(min_value=-100, max_value=100))
def test_integer_text_accepted_exactly_when_mask_is_allowed(number: int) -> None:
    """Integer text is accepted iff 1..31, no voice bit, and at least one messaging bit."""
    mask, issue = parse_capabilities(str(number), None)
    allowed = 1 <= number <= 31 and not number & VOICE and bool(number & MESSAGING)
    assert (mask == number) is allowed
    assert (issue is None) is allowed
    assert (check_mask(number) is None) is allowed


@PROPERTY_SETTINGS
@given(text=st.text(max_size=20), default=st.one_of(st.none(), st.integers(-5, 40)))
def test_never_accepts_voice(text: str, default: int | None) -> None:
    """Whatever the cell or default, an accepted mask is 1..31 with no voice bit."""
    mask, issue = parse_capabilities(text, default)
    assert (mask is None) != (issue is None)
    if mask is not None:
        assert 1 <= mask <= 31
        assert not mask & VOICE
        assert mask & MESSAGING
