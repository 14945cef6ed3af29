"""Tests for importer.validate.capabilities: the capabilities cell → an External DID mask."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.models import Severity
from importer.validate.capabilities import (
    ALLOWED_MASKS,
    MESSAGING,
    NAMES,
    VOICE,
    check_mask,
    describe_mask,
    mask_warning,
    parse_capabilities,
)
from importer.validate.catalogue import CATALOGUE

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


@pytest.mark.parametrize(
    ("mask", "warned"),
    [(8, True), (16, True), (24, True), (3, False), (27, False), (9, False), (1, False)],
)
def test_mms_without_sms_warns(mask: int, warned: bool) -> None:
    """An accepted mask with MMS bits but no SMS bit gets capabilities.mms_without_sms."""
    issue = mask_warning(mask, str(mask), column="Caps")
    assert (issue is not None) is warned
    if issue is not None:
        assert (issue.code, issue.severity, issue.column) == (
            "capabilities.mms_without_sms",
            Severity.WARNING,
            "Caps",
        )
        assert issue.normalized == str(mask)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [("sms+voice", "7"), ("31", "31"), ("0", "0"), ("x", None), ("9" * 50, None), ("32", None)],
)
def test_issue_records_the_mask_read(text: str, normalized: str | None) -> None:
    """A refused mask's issue carries the mask it was read as, when one was read in range."""
    _, issue = parse_capabilities(text, None)
    assert issue is not None
    assert issue.normalized == normalized


@pytest.mark.parametrize(
    ("text", "mask"),
    [("27 (SMS in+out, MMS in+out)", 27), ("3 (anything)", 3), ("3(sms)", 3)],
)
def test_dropdown_form_with_comment_is_the_mask(text: str, mask: int) -> None:
    """`N (comment)`, as the template's dropdown writes it, reads as N."""
    assert parse_capabilities(text, None) == (mask, None)


def test_comment_does_not_hide_a_bad_mask() -> None:
    """A commented voice mask is still refused, and a comment alone is not a mask."""
    assert parse_capabilities("4 (voice)", None)[1] is not None
    assert parse_capabilities("(sms)", None)[0] is None


def test_allowed_masks_and_their_words() -> None:
    """The allowed masks are exactly the 15 messaging masks, each described in words."""
    assert tuple(m for m in range(1, 32) if not m & VOICE and m & MESSAGING) == ALLOWED_MASKS
    assert len(ALLOWED_MASKS) == 15
    assert describe_mask(27) == "SMS in+out, MMS in+out"
    assert describe_mask(17) == "SMS in, MMS out"
    assert describe_mask(0) == "nothing"


NAME_WORDS = st.sampled_from(sorted(NAMES))
JOINERS = st.sampled_from(["+", "/", ",", " ", " and ", " & ", ";", "|"])


@PROPERTY_SETTINGS
@given(words=st.lists(NAME_WORDS, min_size=1, max_size=5), joiner=JOINERS)
def test_names_combine_by_or_and_never_give_voice(words: list[str], joiner: str) -> None:
    """Joined capability names give the OR of their bits; any `voice` makes the cell refused."""
    mask, issue = parse_capabilities(joiner.join(words), None)
    combined = 0
    for word in words:
        combined |= NAMES[word]
    if combined & VOICE:
        assert mask is None
        assert issue is not None
        assert issue.code == "capabilities.voice_not_allowed"
    else:
        assert (mask, issue) == (combined, None)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=20), default=st.one_of(st.none(), st.integers(-5, 40)))
def test_accepted_mask_is_idempotent(text: str, default: int | None) -> None:
    """An accepted mask, written back as text, reads as itself."""
    mask, _ = parse_capabilities(text, default)
    if mask is not None:
        assert parse_capabilities(str(mask), None) == (mask, None)
