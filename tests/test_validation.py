"""Tests for importer.validation: rows → registration payloads, every issue, duplicates."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from importer.catalogue import CATALOGUE
from importer.config import RowDefaults
from importer.errors import ConfigError
from importer.mapping import ColumnMapping, build_mapping
from importer.models import RawRow, RowResult, Severity, Status
from importer.validation import (
    check_callback_url,
    check_carrier_sid,
    parse_attributes,
    validate_rows,
)

HEADER = (
    "Phone Number",
    "Caps",
    "Callback URL",
    "Name",
    "Carrier SID",
    "Attributes",
    "Key 1",
    "Key 2",
    "Notes",
)
FIELD_INDEX = {
    "phonenumber": 0,
    "capabilities": 1,
    "callback_url": 2,
    "name": 3,
    "underlying_carrier_sid": 4,
    "attributes": 5,
    "string_key_1": 6,
    "string_key_2": 7,
}
CARRIER = "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"
OTHER_CARRIER = "0b0e6a30-1c39-4a83-9b8e-3a0c50f4a6d2"
CALLBACK = "https://example.com/sms-callback"

MakeRow = Callable[..., RawRow]


@pytest.fixture
def mapping() -> ColumnMapping:
    """The real mapping of a header that names every canonical field, plus a spare column."""
    return build_mapping(HEADER)


@pytest.fixture
def make_row() -> MakeRow:
    """Build a full-width row from canonical field values; sheet numbers start at 2."""
    counter = iter(range(2, 10_000))

    def make(number: int | None = None, **fields: str) -> RawRow:
        cells = [""] * len(HEADER)
        for field, text in fields.items():
            cells[FIELD_INDEX[field]] = text
        return RawRow(next(counter) if number is None else number, tuple(cells))

    return make


def validate_one(row: RawRow, mapping: ColumnMapping, defaults: RowDefaults) -> RowResult:
    """Validate a single row."""
    (result,) = validate_rows([row], mapping, defaults)
    return result


def codes(result: RowResult) -> list[str]:
    """The issue codes of a result, in order."""
    return [issue.code for issue in result.issues]


def test_mapping_fixture_maps_every_field(mapping: ColumnMapping) -> None:
    """The test header really maps each canonical field to the intended column."""
    assert {field: mapping.column_of(field) for field in FIELD_INDEX} == {
        field: HEADER[index] for field, index in FIELD_INDEX.items()
    }


def test_valid_row_gives_the_payload(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """A good row would register with the full body, optional keys in payload order."""
    row = make_row(
        phonenumber="+1 (205) 905-1025",
        capabilities="27",
        callback_url=CALLBACK,
        name="Front desk",
        underlying_carrier_sid=CARRIER.upper(),
        attributes='{"team": "sales", "n": 1}',
        string_key_1="k1",
        string_key_2="k2",
    )
    result = validate_one(row, mapping, RowDefaults())
    assert result.status is Status.WOULD_REGISTER
    assert result.issues == ()
    assert result.normalized_phonenumber == "12059051025"
    assert result.payload == {
        "phonenumber": "12059051025",
        "capabilities": 27,
        "underlying_carrier_sid": CARRIER,
        "callback_url": CALLBACK,
        "name": "Front desk",
        "attributes": {"team": "sales", "n": 1},
        "string_key_1": "k1",
        "string_key_2": "k2",
    }
    assert list(result.payload) == [
        "phonenumber",
        "capabilities",
        "underlying_carrier_sid",
        "callback_url",
        "name",
        "attributes",
        "string_key_1",
        "string_key_2",
    ]


def test_payload_has_no_empty_keys(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """Empty optional cells with no default are left out of the body entirely."""
    result = validate_one(
        make_row(phonenumber="12059051025", capabilities="3"), mapping, RowDefaults()
    )
    assert result.payload == {"phonenumber": "12059051025", "capabilities": 3}


def test_row_with_three_problems_reports_all_three(
    mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """Every problem of a row is reported at once, each naming field, column and cell."""
    row = make_row(
        phonenumber="1.20591E+10",
        capabilities="31",
        underlying_carrier_sid="carrier-42",
        name="fine",
    )
    result = validate_one(row, mapping, RowDefaults())
    assert result.status is Status.INVALID
    assert result.payload is None
    assert [(i.code, i.field, i.column, i.value) for i in result.issues] == [
        ("phonenumber.excel_precision_lost", "phonenumber", "Phone Number", "1.20591E+10"),
        ("capabilities.voice_not_allowed", "capabilities", "Caps", "31"),
        ("underlying_carrier_sid.not_uuid", "underlying_carrier_sid", "Carrier SID", "carrier-42"),
    ]


def test_every_optional_field_problem_is_reported(
    mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """Bad callback URL and bad attributes are reported alongside each other."""
    row = make_row(
        phonenumber="+12059051025",
        capabilities="3",
        callback_url="example.com/hook",
        attributes="[1, 2]",
    )
    result = validate_one(row, mapping, RowDefaults())
    assert result.status is Status.INVALID
    assert codes(result) == ["callback_url.invalid", "attributes.not_an_object"]


def test_invalid_row_keeps_its_good_number(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """An invalid row still reports the normalised number when the number was fine."""
    result = validate_one(
        make_row(phonenumber="1-205-905-1025", capabilities="4"), mapping, RowDefaults()
    )
    assert result.status is Status.INVALID
    assert result.normalized_phonenumber == "12059051025"
    assert codes(result) == ["capabilities.voice_not_allowed"]


def test_defaults_fill_empty_cells(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """Empty capabilities, carrier and callback cells take the run's defaults."""
    defaults = RowDefaults(
        default_region="us", capabilities=24, carrier_sid=CARRIER, callback_url=CALLBACK
    )
    result = validate_one(make_row(phonenumber="(205) 905-1025"), mapping, defaults)
    assert result.status is Status.WOULD_REGISTER
    assert result.payload == {
        "phonenumber": "12059051025",
        "capabilities": 24,
        "underlying_carrier_sid": CARRIER,
        "callback_url": CALLBACK,
    }


def test_cells_override_defaults(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """A row's own values win over the defaults."""
    defaults = RowDefaults(capabilities=24, carrier_sid=CARRIER, callback_url=CALLBACK)
    row = make_row(
        phonenumber="+12059051025",
        capabilities="3",
        underlying_carrier_sid=OTHER_CARRIER,
        callback_url="http://hooks.example.org:8080/in?x=1",
    )
    payload = validate_one(row, mapping, defaults).payload
    assert payload is not None
    assert payload["capabilities"] == 3
    assert payload["underlying_carrier_sid"] == OTHER_CARRIER
    assert payload["callback_url"] == "http://hooks.example.org:8080/in?x=1"


def test_unmapped_columns_count_as_empty(make_row: MakeRow) -> None:
    """With only a phone column, defaults apply and a missing mask names no column."""
    mapping = build_mapping(("DID",))
    rows = [RawRow(2, ("+12059051025",))]
    (with_default,) = validate_rows(rows, mapping, RowDefaults(capabilities=3))
    assert with_default.payload == {"phonenumber": "12059051025", "capabilities": 3}
    (without,) = validate_rows(rows, mapping, RowDefaults())
    assert without.status is Status.INVALID
    (issue,) = without.issues
    assert (issue.code, issue.field, issue.column) == ("capabilities.missing", "capabilities", None)


def test_blank_row_is_invalid_not_a_crash(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """A row with nothing in it (the loader normally drops these) is simply invalid."""
    result = validate_one(make_row(), mapping, RowDefaults())
    assert result.status is Status.INVALID
    assert codes(result) == ["phonenumber.missing", "capabilities.missing"]


def test_later_copy_of_a_number_is_a_duplicate(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """The same number written differently later in the file is row.duplicate of the first."""
    rows = [
        make_row(5, phonenumber="+1 205 905 1025", capabilities="3"),
        make_row(6, phonenumber="+1 205 905 1026", capabilities="3"),
        make_row(9, phonenumber="1-205-905-1025", capabilities="3.0"),
    ]
    first, other, copy = validate_rows(rows, mapping, RowDefaults())
    assert first.status is Status.WOULD_REGISTER
    assert other.status is Status.WOULD_REGISTER
    assert copy.status is Status.DUPLICATE
    assert copy.payload is None
    assert copy.normalized_phonenumber == "12059051025"
    (issue,) = copy.issues
    assert (issue.code, issue.value, issue.column) == (
        "row.duplicate",
        "12059051025",
        "Phone Number",
    )
    assert "row 5" in issue.message


def test_duplicate_with_other_mask_is_a_conflict(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """A repeated number asking for different capabilities is row.duplicate_conflict."""
    rows = [
        make_row(2, phonenumber="+12059051025", capabilities="3"),
        make_row(3, phonenumber="+12059051025", capabilities="27"),
    ]
    _, conflict = validate_rows(rows, mapping, RowDefaults())
    assert conflict.status is Status.DUPLICATE
    (issue,) = conflict.issues
    assert issue.code == "row.duplicate_conflict"
    assert "row 2" in issue.message
    assert "capabilities 3" in issue.message


def test_invalid_first_row_does_not_claim_the_number(
    mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """Only valid rows count as first occurrences; the next valid copy is registered."""
    rows = [
        make_row(2, phonenumber="+12059051025", capabilities="4"),
        make_row(3, phonenumber="+12059051025", capabilities="3"),
        make_row(4, phonenumber="+12059051025", capabilities="3"),
    ]
    statuses = [result.status for result in validate_rows(rows, mapping, RowDefaults())]
    assert statuses == [Status.INVALID, Status.WOULD_REGISTER, Status.DUPLICATE]


def test_ragged_row_warns_but_still_registers(mapping: ColumnMapping) -> None:
    """A row with more or fewer cells than the header gets a warning, not an error."""
    rows = [
        RawRow(2, ("+12059051025", "3")),
        RawRow(3, ("+12059051026", "3", "", "", "", "", "", "", "", "extra")),
    ]
    short, long = validate_rows(rows, mapping, RowDefaults())
    for result in (short, long):
        assert result.status is Status.WOULD_REGISTER
        (warning,) = result.issues
        assert (warning.code, warning.severity) == ("row.ragged", Severity.WARNING)
    assert short.issues[0].message == "row has 2 cells but the header has 9"


def test_results_keep_rows_and_order(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """One result per row, in input order, each carrying its own row."""
    rows = [make_row(phonenumber=f"+1205905{n:04d}", capabilities="3") for n in range(1020, 1030)]
    results = validate_rows(iter(rows), mapping, RowDefaults())
    assert [result.row for result in results] == rows


def test_all_codes_come_from_the_catalogue(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """Every issue a mixed file produces is a catalogue code with a message."""
    rows = [
        make_row(phonenumber="abc", capabilities="x", callback_url="ftp://a", attributes="{"),
        make_row(phonenumber="2059051025", capabilities="0", underlying_carrier_sid="x"),
        make_row(phonenumber="+15550100123", capabilities="40"),
    ]
    for result in validate_rows(rows, mapping, RowDefaults()):
        for issue in result.issues:
            assert issue.code in CATALOGUE
            assert issue.message


@pytest.mark.parametrize(
    ("defaults", "needle"),
    [
        (RowDefaults(capabilities=4), "default capabilities"),
        (RowDefaults(capabilities=0), "default capabilities"),
        (RowDefaults(carrier_sid="not-a-uuid"), "default underlying_carrier_sid"),
        (RowDefaults(callback_url="ftp://example.com"), "default callback_url"),
        (RowDefaults(default_region="XX"), "default region"),
    ],
)
def test_bad_defaults_stop_the_run(
    mapping: ColumnMapping, make_row: MakeRow, defaults: RowDefaults, needle: str
) -> None:
    """An unusable default is a ConfigError before any row is judged."""
    with pytest.raises(ConfigError, match=needle):
        validate_rows([make_row(phonenumber="+12059051025")], mapping, defaults)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (CALLBACK, True),
        ("http://example.com", True),
        ("HTTPS://Example.com/path?q=1#frag", True),
        ("https://127.0.0.1:8443/cb", True),
        ("https://[::1]/cb", True),
        ("https://bücher.example/cb", True),
        ("example.com/cb", False),
        ("ftp://example.com/cb", False),
        ("https://", False),
        ("https:///path", False),
        ("https://exa mple.com", False),
        ("https://example.com/a b", False),
        ("https://example.com/\t", False),
        ("https://example.com:notaport/", False),
        ("https://example.com:99999/", False),
        ("https://[::1/cb", False),
        ("mailto:ops@example.com", False),
        ("/relative/path", False),
    ],
)
def test_check_callback_url(text: str, ok: bool) -> None:
    """Only absolute http(s) URLs with a host and no whitespace are accepted, as typed."""
    value, problem = check_callback_url(text)
    assert (value == text) is ok
    assert (problem is None) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CARRIER, CARRIER),
        (CARRIER.upper(), CARRIER),
        ("61ced0708dad43b4b5e6f7d61f7aeb65", None),
        ("{61ced070-8dad-43b4-b5e6-f7d61f7aeb65}", None),
        ("61ced070-8dad-43b4-b5e6-f7d61f7aeb6", None),
        ("61ced070-8dad-43b4-b5e6-f7d61f7aeb6g", None),
        ("carrier", None),
    ],
)
def test_check_carrier_sid(text: str, expected: str | None) -> None:
    """A carrier SID must be a hyphenated UUID; it is sent in lower case."""
    value, problem = check_carrier_sid(text)
    assert value == expected
    assert (problem is None) is (expected is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", {}),
        ('{"team": "sales"}', {"team": "sales"}),
        ('{"nested": {"a": [1, 2]}, "flag": true}', {"nested": {"a": [1, 2]}, "flag": True}),
        ("[]", None),
        ('"text"', None),
        ("1", None),
        ("null", None),
        ("{'single': 'quotes'}", None),
        ('{"n": NaN}', None),
        ('{"n": Infinity}', None),
        ("{", None),
        ("[" * 100_000, None),
    ],
)
def test_parse_attributes(text: str, expected: dict[str, object] | None) -> None:
    """Attributes must be a strict JSON object; anything else is attributes.not_an_object."""
    value, problem = parse_attributes(text)
    assert value == expected
    if expected is None:
        assert problem is not None
        assert problem.code == "attributes.not_an_object"
    else:
        assert problem is None
