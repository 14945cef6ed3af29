"""importer.validate.phone: cell text → E.164 digits without '+', or the right issue code."""

from __future__ import annotations

from collections import Counter
from typing import get_args

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bench import example_numbers
from importer.config import NumberKind
from importer.validate import phone, phonebatch
from importer.validate.catalogue import CATALOGUE
from importer.validate.numberpolicy import KIND_PHRASES
from importer.validate.phone import clean_text, normalize_phonenumber

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)
NATIONAL = PhoneNumberFormat.NATIONAL


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        # international, as typed with '+'
        ("+1 (205) 905-1025", None, "12059051025"),
        ("+12059051025", None, "12059051025"),
        ("+1.205.905.1025", None, "12059051025"),
        ("+44 20 7946 0958", None, "442079460958"),
        ("+49 30 123456", None, "4930123456"),
        ("+49 1512 3456789", None, "4915123456789"),
        ("+61 2 9374 4000", None, "61293744000"),
        ("+33 6 12 34 56 78", None, "33612345678"),
        ("+86 150 1234 5678", None, "8615012345678"),
        ("+1 205 905 1025", "GB", "12059051025"),
        # digits without '+': 11 or more digits are read as international first
        ("1-205-905-1025", None, "12059051025"),
        ("12059051025", None, "12059051025"),
        ("1 (205) 905-1025", None, "12059051025"),
        ("442079460958", None, "442079460958"),
        ("442079460958", "US", "442079460958"),
        ("12059051025", "GB", "12059051025"),
        ("12059051025", "US", "12059051025"),
        # the 00 international call prefix
        ("0044 20 7946 0958", None, "442079460958"),
        ("00 1 205 905 1025", "DE", "12059051025"),
        # national forms need a default region
        ("(205) 905-1025", "US", "12059051025"),
        ("205.905.1025", "us", "12059051025"),
        ("2059051025", "CA", "12059051025"),
        ("020 7946 0958", "GB", "442079460958"),
        ("02079460958", "GB", "442079460958"),
        ("030 123456", "DE", "4930123456"),
        # ten NANP digits in US/CA stay national, even when `+` and them is a number too
        ("3647430517", "US", "13647430517"),  # +36 47 430 517 is Hungarian
        ("6592544397", "CA", "16592544397"),  # +65 9254 4397 is in Singapore
        # short digits the region writes that way: read nationally, as before
        ("626124415", "ES", "34626124415"),  # +62 61 24415 is Indonesian
        ("49665905", "DK", "4549665905"),  # +49 6659 05 is German
        # wrappers and invisible damage
        ("tel:+12059051025", None, "12059051025"),
        ("TEL:+1-205-905-1025", None, "12059051025"),
        ("'12059051025", None, "12059051025"),
        ("'+1 205 905 1025", None, "12059051025"),
        ("+1\u00a0205\u00a0905\u00a01025", None, "12059051025"),
        ("\u200b+1 205\u200d 905 1025\ufeff", None, "12059051025"),
        ("\u202a+1 205 905 1025\u202c", None, "12059051025"),
        (
            "\uff0b\uff11\uff12\uff10\uff15\uff19\uff10\uff15\uff11\uff10\uff12\uff15",
            None,
            "12059051025",
        ),
        ("+1\u2013205\u2013905\u20131025", None, "12059051025"),
        (
            "+\u0661\u0662\u0660\u0665\u0669\u0660\u0665\u0661\u0660\u0662\u0665",
            None,
            "12059051025",
        ),
    ],
)
def test_good_forms_normalise_to_e164_digits(text: str, region: str | None, expected: str) -> None:
    """Every accepted way of writing a number gives the same E.164 digits and no issue."""
    assert normalize_phonenumber(text, region) == (expected, None)


@pytest.mark.parametrize(
    ("text", "region", "code"),
    [
        ("", None, "phonenumber.missing"),
        ("'", "US", "phonenumber.missing"),
        ("\u200b", None, "phonenumber.missing"),
        # spreadsheet damage is refused, never repaired
        ("1.20591E+10", None, "phonenumber.excel_precision_lost"),
        ("1.2059051025E10", None, "phonenumber.excel_precision_lost"),
        ("1,20591E+10", "US", "phonenumber.excel_precision_lost"),
        ("1.20590510251234E+18", None, "phonenumber.excel_precision_lost"),
        ("12059051025.0", None, "phonenumber.excel_precision_lost"),
        ("+12059051025.00", None, "phonenumber.excel_precision_lost"),
        ("2059051025.0", "US", "phonenumber.excel_precision_lost"),
        # past Excel's 15 significant digits, the rest zeroed: what Excel leaves of a number
        ("12059051025123400", None, "phonenumber.excel_precision_lost"),
        ("001205905102512340000", "US", "phonenumber.excel_precision_lost"),
        ("12059051025123456", None, "phonenumber.not_possible"),  # a typing mistake
        ("+12059051025123400", None, "phonenumber.not_possible"),  # Excel drops a `+`
        # a negative number is no phone number, whatever its digits
        ("-12059051025", None, "phonenumber.not_a_number"),
        ("-2059051025", "US", "phonenumber.not_a_number"),
        ("\u221212059051025", None, "phonenumber.not_a_number"),
        # not a number at all
        ("abc", None, "phonenumber.not_a_number"),
        ("+", None, "phonenumber.not_a_number"),
        ("n/a", "US", "phonenumber.not_a_number"),
        ("+1-800-FLOWERS", None, "phonenumber.not_a_number"),
        ("+1 205 905 1025 / +1 205 905 1026", None, "phonenumber.not_a_number"),
        ("tel:+12059051025;phone-context=example.com", None, "phonenumber.not_a_number"),
        ("--", None, "phonenumber.not_a_number"),
        # no country code and nothing to read it with
        ("(205) 905-1025", None, "phonenumber.no_region"),
        ("2059051025", None, "phonenumber.no_region"),
        ("02079460958", None, "phonenumber.no_region"),
        ("99912345678", None, "phonenumber.no_region"),
        # wrong length for the country
        ("+1 205 905 10", None, "phonenumber.not_possible"),
        ("+1205905102512345678", None, "phonenumber.not_possible"),
        ("+44 20 7946 0958 12345", None, "phonenumber.not_possible"),
        ("+1 205 905 10251", None, "phonenumber.not_possible"),
        ("205 905", "US", "phonenumber.not_possible"),
        ("12", None, "phonenumber.no_region"),
        # right length, not a number in service
        ("+1 555 010 0123", None, "phonenumber.invalid"),
        ("15550100123", None, "phonenumber.invalid"),
        ("+999 123 456 789", None, "phonenumber.invalid"),
        ("(555) 010-0123", "US", "phonenumber.invalid"),
        # a Chinese mobile that is also a US number: the tool does not pick one
        ("15012345678", "CN", "phonenumber.ambiguous"),
        # a lost `+` against a lost trunk 0: both readings valid, whatever the length
        ("4915112345678", "DE", "phonenumber.ambiguous"),
        ("43664123456", "DE", "phonenumber.ambiguous"),
    ],
)
def test_bad_forms_get_their_code(text: str, region: str | None, code: str) -> None:
    """Each kind of bad cell gives no digits and exactly its catalogue code."""
    digits, issue = normalize_phonenumber(text, region)
    assert digits is None
    assert issue is not None
    assert issue.code == code
    assert code in CATALOGUE


@pytest.mark.parametrize(
    ("text", "region", "international", "national"),
    [
        ("4916412345", "DE", "4916412345", "494916412345"),
        ("318001234", "NL", "318001234", "31318001234"),
        ("468123456", "SE", "468123456", "46468123456"),
        ("5540041234", "BR", "5540041234", "555540041234"),
        ("841992000", "VN", "841992000", "84841992000"),
    ],
)
def test_short_digits_valid_both_ways_are_ambiguous(
    text: str, region: str, international: str, national: str
) -> None:
    """Short digits that are a complete international number and a national one are refused."""
    assert phonenumbers.is_valid_number(phonenumbers.parse("+" + international))
    assert phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    reading = phone.read_number(text, region)
    assert reading.problem is CATALOGUE["phonenumber.ambiguous"]
    assert dict(reading.params) == {
        "international": international,
        "national": national,
        "region": region,
    }


@pytest.mark.parametrize(
    ("text", "region", "extension"),
    [
        ("+1 205 905 1029 x123", None, "123"),
        ("+1 205 905 1029 ext. 45", None, "45"),
        ("+12059051029;ext=9", None, "9"),
        ("tel:+12059051029;ext=9", None, "9"),
        ("(205) 905-1029 Ext: 45", "US", "45"),
        ("+1 205 905 1025 extension 12", None, "12"),
        ("2059051029#12", "US", "12"),
    ],
)
def test_extensions_are_named_as_such(text: str, region: str | None, extension: str) -> None:
    """A number with an extension is `phonenumber.extension`, naming the extension."""
    digits, issue = normalize_phonenumber(text, region)
    assert digits is None
    assert issue is not None
    assert issue.code == "phonenumber.extension"
    assert f"extension {extension}:" in issue.message
    assert "PBX" in issue.message
    assert issue.hint is not None
    assert "without the extension" in issue.hint


@pytest.mark.parametrize("text", ["+1-800-FLOWERS", "x123", "ext. 45", "+1 205 905 1029 x"])
def test_letters_without_a_number_and_extension_are_not_a_number(text: str) -> None:
    """Letters that do not end a number with an extension stay `not_a_number`."""
    _, issue = normalize_phonenumber(text, None)
    assert issue is not None
    assert issue.code == "phonenumber.not_a_number"


def test_issue_names_field_column_and_original_text() -> None:
    """The issue records the canonical field, the header text and the cell as typed."""
    text = "\u200b+1 555 010 0123"
    _, issue = normalize_phonenumber(text, None, column="Phone Number")
    assert issue is not None
    assert (issue.field, issue.column, issue.value) == ("phonenumber", "Phone Number", text)
    assert issue.hint


def test_ambiguous_message_names_both_readings() -> None:
    """An ambiguous number's message shows both readings so the partner can choose."""
    _, issue = normalize_phonenumber("15012345678", "cn")
    assert issue is not None
    assert "+15012345678" in issue.message
    assert "+8615012345678" in issue.message
    assert "CN" in issue.message


def test_unknown_region_is_a_value_error() -> None:
    """A region phonenumbers does not know is a configuration mistake, raised at once."""
    with pytest.raises(ValueError, match="XX"):
        normalize_phonenumber("2059051025", "XX")


def test_check_region_upper_cases() -> None:
    """Regions are accepted in any case and returned in upper case."""
    assert phone.check_region("gb") == "GB"
    assert phone.check_region(None) is None


def test_repeated_numbers_hit_the_cache() -> None:
    """A number seen before is answered from the cache, not parsed again."""
    normalize_phonenumber("+1 205 905 1099", None)
    before = phone._normalize.cache_info().hits
    normalize_phonenumber("+1 205 905 1099", None)
    assert phone._normalize.cache_info().hits == before + 1


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  '+1 205  ", "+1 205"),
        ("tel: +1205", "+1205"),
        ("\ufeff\u200b12\u00a034", "12 34"),
        ("\uff11\uff12", "12"),
    ],
)
def test_clean_text(text: str, cleaned: str) -> None:
    """Cleaning folds look-alikes and drops invisible characters, `'` and `tel:`."""
    assert clean_text(text) == cleaned


# -- properties -----------------------------------------------------------------------

REGIONS = st.sampled_from([None, "US", "GB", "DE", "CN", "FR", "IN", "BR", "AU"])
PHONEISH = st.from_regex(r"\A[+']?[0-9 ()\-.]{3,20}\Z")


def _example_numbers() -> list[phonenumbers.PhoneNumber]:
    kinds = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE)
    found = (
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in kinds
    )
    return [number for number in found if number and phonenumbers.is_valid_number(number)]


EXAMPLES = st.sampled_from(_example_numbers())
INTERNATIONAL_FORMATS = st.sampled_from(
    [PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.RFC3966]
)


@PROPERTY_SETTINGS
@given(text=st.one_of(st.text(max_size=30), PHONEISH), region=REGIONS)
def test_never_raises_and_never_emits_plus(text: str, region: str | None) -> None:
    """Any text gives either ASCII digits without '+' or an issue, never both or neither."""
    digits, issue = normalize_phonenumber(text, region)
    assert (digits is None) != (issue is None)
    if digits is not None:
        assert digits.isascii()
        assert digits.isdigit()
        assert not digits.startswith("0")


@PROPERTY_SETTINGS
@given(text=PHONEISH, region=REGIONS)
def test_normalisation_is_idempotent(text: str, region: str | None) -> None:
    """Normalising '+' plus a result gives the same digits back, with any region."""
    digits, _ = normalize_phonenumber(text, region)
    if digits is not None:
        assert normalize_phonenumber("+" + digits, None) == (digits, None)
        assert normalize_phonenumber("+" + digits, region) == (digits, None)


@PROPERTY_SETTINGS
@given(number=EXAMPLES, number_format=INTERNATIONAL_FORMATS, region=REGIONS)
def test_valid_numbers_in_international_forms_round_trip(
    number: phonenumbers.PhoneNumber, number_format: int, region: str | None
) -> None:
    """Every country's valid numbers, written with '+', normalise to their E.164 digits."""
    text = phonenumbers.format_number(number, number_format)
    expected = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    assert normalize_phonenumber(text, region) == (expected, None)


@PROPERTY_SETTINGS
@given(number=EXAMPLES)
def test_valid_numbers_in_national_form_round_trip(number: phonenumbers.PhoneNumber) -> None:
    """A national form with its own region gives the number, unless truly ambiguous."""
    region = phonenumbers.region_code_for_number(number)
    text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    expected = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    digits, issue = normalize_phonenumber(text, region)
    assert digits == expected or (issue is not None and issue.code == "phonenumber.ambiguous")


@PROPERTY_SETTINGS
@given(number=EXAMPLES, number_format=INTERNATIONAL_FORMATS)
def test_digits_renormalise_to_themselves(
    number: phonenumbers.PhoneNumber, number_format: int
) -> None:
    """Output maps to itself: with '+', and bare when long enough to read as international."""
    digits, _ = normalize_phonenumber(phonenumbers.format_number(number, number_format), None)
    assert digits is not None
    assert normalize_phonenumber("+" + digits, None) == (digits, None)
    if len(digits) >= phone.INTERNATIONAL_MIN_DIGITS:
        assert normalize_phonenumber(digits, None) == (digits, None)


@PROPERTY_SETTINGS
@given(texts=st.lists(st.one_of(st.text(max_size=20), PHONEISH), max_size=30), region=REGIONS)
def test_read_numbers_agrees_with_one_by_one(texts: list[str], region: str | None) -> None:
    """The batch reader gives, for every distinct text, what normalize_phonenumber gives."""
    readings = phonebatch.read_numbers(texts, region)
    assert list(readings) == list(dict.fromkeys(texts))
    for text, reading in readings.items():
        assert (reading.digits, reading.issue(text)) == normalize_phonenumber(text, region)


def test_parallel_read_numbers_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes return exactly the readings (issue types included) of one process."""
    monkeypatch.setattr(phonebatch, "PARALLEL_MIN_NUMBERS", 4)
    texts = ["+1 205 905 1025", "abc", "1.2E+10", "15012345678", "+1 900 234 5678", "", "12"]
    single = phonebatch.read_numbers(texts, "CN", workers=1)
    double = phonebatch.read_numbers(texts, "CN", workers=2)
    assert double == single
    assert all(
        a.problem is b.problem for a, b in zip(single.values(), double.values(), strict=True)
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("+1 205 905 1025", "fixed_line_or_mobile"),
        ("+49 151 23456789", "mobile"),
        ("+1 900 234 5678", "premium_rate"),
        ("+1 800 234 5678", "toll_free"),
        ("+44 76 4012 3456", "pager"),
    ],
)
def test_reading_carries_the_number_type(text: str, kind: str) -> None:
    """A valid reading carries libphonenumber's type, named in lower case."""
    assert phone.read_number(text, None).kind == kind


@PROPERTY_SETTINGS
@given(number=EXAMPLES)
def test_kind_is_known_exactly_for_valid_numbers(number: phonenumbers.PhoneNumber) -> None:
    """Reading validity from number_type agrees with phonenumbers.is_valid_number."""
    reading = phone.read_number(phonenumbers.format_number(number, PhoneNumberFormat.E164), None)
    assert (reading.kind is not None) is phonenumbers.is_valid_number(number)


# -- the partner's number policy -----------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "text", "codes"),
    [
        (phone.NumberPolicy(), "+1 900 234 5678", []),
        (phone.NumberPolicy(countries=frozenset({"US"})), "+1 506 234 5678", ["country"]),
        (phone.NumberPolicy(countries=frozenset({"US", "CA"})), "+1 506 234 5678", []),
        (phone.NumberPolicy(prefixes=("1205",)), "+1 312 555 0100", ["prefix"]),
        (phone.NumberPolicy(prefixes=("1312", "1205")), "+1 205 905 1025", []),
        (phone.NumberPolicy(sms_incapable=frozenset({"premium_rate"})), "+19002345678", ["sms"]),
        (
            phone.NumberPolicy(countries=frozenset({"GB"}), prefixes=("44",)),
            "+12059051025",
            ["country", "prefix"],
        ),
        (phone.NumberPolicy(countries=frozenset({"GB"})), "not a number", []),
    ],
)
def test_number_policy(policy: phone.NumberPolicy, text: str, codes: list[str]) -> None:
    """Allowed countries and prefixes are errors, SMS-incapable kinds a warning; bad cells skip."""
    names = {
        "phonenumber.country_not_allowed": "country",
        "phonenumber.prefix_not_allowed": "prefix",
        "phonenumber.sms_unlikely": "sms",
    }
    issues = policy.issues(phone.read_number(text, None), text, "Phone")
    assert [names[issue.code] for issue in issues] == codes
    for issue in issues:
        assert (issue.value, issue.column) == (text, "Phone")
        assert (issue.normalized or "").isdigit()


@PROPERTY_SETTINGS
@given(number=EXAMPLES, prefix=st.from_regex(r"\A[1-9][0-9]{0,3}\Z"))
def test_prefix_rule_matches_startswith(number: phonenumbers.PhoneNumber, prefix: str) -> None:
    """A number is outside the allowed prefixes exactly when its digits do not start with one."""
    reading = phone.read_number(phonenumbers.format_number(number, PhoneNumberFormat.E164), None)
    assert reading.digits is not None
    issues = phone.NumberPolicy(prefixes=(prefix,)).issues(reading, "x")
    assert (issues == []) is reading.digits.startswith(prefix)


def test_country_checks() -> None:
    """country_of names the region of valid digits; check_country refuses unknown codes."""
    assert phone.country_of("15062345678") == "CA"
    assert phone.check_country("gb") == "GB"
    with pytest.raises(ValueError, match="XX"):
        phone.check_country("XX")


@pytest.mark.parametrize("kind", get_args(NumberKind))
def test_sms_unlikely_names_each_kind_once(kind: str) -> None:
    """Every configurable kind reads as a phrase in the warning, never "personal number number"."""
    reading = phone.Reading("4915123456789", kind=kind)
    (issue,) = phone.NumberPolicy(sms_incapable=frozenset({kind})).issues(reading, "x")
    assert issue.message.startswith(f"+4915123456789 is {KIND_PHRASES[kind]}, which")
    assert "number number" not in issue.message


def _valid_e164(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number(number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:] if valid else None


def _bare_digits(drawn: tuple[phonenumbers.PhoneNumber, bool, int]) -> str:
    """An example number's E.164 digits or national significant number, last three redrawn."""
    number, national, tail = drawn
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    digits = phonenumbers.national_significant_number(number) if national else e164
    return f"{digits[:-3]}{tail:03d}"


@PROPERTY_SETTINGS
@given(
    digits=st.tuples(EXAMPLES, st.booleans(), st.integers(0, 999)).map(_bare_digits),
    region=st.sampled_from(["US", "CA", "DE", "NL", "SE", "BR", "VN", "CN", "ES", "DK", "IT"]),
)
def test_a_second_valid_reading_is_never_dropped_silently(digits: str, region: str) -> None:
    """Bare digits valid as `+digits` and nationally as another number are ambiguous, except
    short ones written as the region writes its number at home, without its calling code."""
    international, national = _valid_e164("+" + digits, None), _valid_e164(digits, region)
    reading = phone.read_number(digits, region)
    if international is None or national is None or international == national:
        assert reading.problem is not CATALOGUE["phonenumber.ambiguous"]
        return
    formatted = phonenumbers.format_number(phonenumbers.parse("+" + national), NATIONAL)
    home = "".join(filter(str.isdigit, formatted)) == digits
    code = str(phonenumbers.country_code_for_region(region))
    if len(digits) < phone.INTERNATIONAL_MIN_DIGITS and home and not digits.startswith(code):
        assert reading.digits == national
    else:
        assert reading.problem is CATALOGUE["phonenumber.ambiguous"]


# -- libphonenumber's example numbers --------------------------------------------------


def test_no_example_number_is_read_as_another_number() -> None:
    """Every example number of every region and type, in six spellings, reads as itself or is
    refused; written with `+` or nationally with its region it is never refused but ambiguous."""
    found = list(example_numbers.outcomes())
    verdicts = Counter((outcome.spelling, outcome.verdict) for outcome in found)
    assert not [outcome for outcome in found if outcome.verdict == "different"]
    assert len(found) > 8000
    for spelling in ("e164", "international"):
        assert {verdict for s, verdict in verdicts if s == spelling} == {"same", "warned"}
    allowed = {"same", "warned", "refused phonenumber.ambiguous"}
    for spelling in ("national", "nsn", "bare"):
        assert {verdict for s, verdict in verdicts if s == spelling} == allowed
