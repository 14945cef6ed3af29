"""Tests for importer.validate.rows: rows → registration payloads, every issue, duplicates."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.config import InputSettings, RowDefaults, ValidationSettings, build_settings
from importer.errors import ConfigError
from importer.loader import load_file
from importer.mapping import ColumnMapping, build_mapping
from importer.models import RawRow, RowResult, Severity, Status
from importer.validate import phonebatch
from importer.validate import rows as validation
from importer.validate.catalogue import CATALOGUE
from importer.validate.rows import (
    RowValidator,
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
    assert (issue.code, issue.value, issue.normalized, issue.column) == (
        "row.duplicate",
        "1-205-905-1025",
        "12059051025",
        "Phone Number",
    )
    assert "+12059051025" in issue.message
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


@pytest.mark.parametrize("cache_size", [validation.REPEAT_CACHE_MAX, 1])
def test_rows_repeated_cell_for_cell_share_one_duplicate_issue(
    mapping: ColumnMapping, make_row: MakeRow, monkeypatch: pytest.MonkeyPatch, cache_size: int
) -> None:
    """Copies of a row share one issue; another cell or mask gets its own (also at size 1)."""
    monkeypatch.setattr(validation, "REPEAT_CACHE_MAX", cache_size)
    rows = [
        make_row(2, phonenumber="+12059051025", capabilities="3"),
        make_row(3, phonenumber="+12059051025", capabilities="3"),
        make_row(4, phonenumber="+12059051025", capabilities="3"),
        make_row(5, phonenumber="+12059051025", capabilities="27"),
        make_row(6, phonenumber="1-205-905-1025", capabilities="3"),
        make_row(7, phonenumber="+12059051025", capabilities="3"),
    ]
    _, copy, again, conflict, spelled, last = validate_rows(rows, mapping, RowDefaults())
    assert again.issues == copy.issues
    assert again.issues[0] is copy.issues[0]
    assert [conflict.issues[0].code, conflict.issues[0].value] == [
        "row.duplicate_conflict",
        "+12059051025",
    ]
    assert [spelled.issues[0].code, spelled.issues[0].value] == ["row.duplicate", "1-205-905-1025"]
    assert last.issues == copy.issues
    assert [result.row.number for result in (copy, again, last)] == [3, 4, 7]


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


# -- the full rule set ----------------------------------------------------------------

RULES_WORKBOOK = Path(__file__).parent / "fixtures" / "rules" / "rules.xlsx"
RULES_SETTINGS = ValidationSettings(
    allowed_countries=("US", "GB", "DE"),
    allowed_prefixes=("1", "44", "4930"),
    has_default_carrier=False,
)
SHEETS = {
    "rules": (None, RULES_SETTINGS),
    "rules-CN": ("CN", ValidationSettings(has_default_carrier=False)),
}


@functools.cache
def rules_results() -> dict[tuple[str, int], tuple[str, RowResult]]:
    """(sheet, row) → (expected codes, result) for every row of the rules workbook."""
    found: dict[tuple[str, int], tuple[str, RowResult]] = {}
    for sheet, (region, rules) in SHEETS.items():
        loaded = load_file(RULES_WORKBOOK, InputSettings(sheet=sheet))
        rows = list(loaded.rows)
        mapping = build_mapping(loaded.source.header)
        defaults = RowDefaults(default_region=region)
        expected = loaded.source.header.index("expected_codes")
        for row, result in zip(rows, validate_rows(rows, mapping, defaults, rules), strict=True):
            found[sheet, row.number] = (row.cells[expected], result)
    return found


def _rule_ids() -> list[str]:
    return [f"{sheet}:{number}:{codes or 'clean'}" for (sheet, number), (codes, _) in _rules()]


def _rules() -> list[tuple[tuple[str, int], tuple[str, RowResult]]]:
    return sorted(rules_results().items())


@pytest.mark.parametrize(("where", "case"), _rules(), ids=_rule_ids())
def test_rules_workbook_row_gives_exactly_its_codes(
    where: tuple[str, int], case: tuple[str, RowResult]
) -> None:
    """Each fixture row (one per rule) yields exactly the codes written in its first column."""
    expected, result = case
    assert codes(result) == [code for code in expected.split("; ") if code], where
    for issue in result.issues:
        assert CATALOGUE[issue.code].severity is issue.severity
        assert issue.hint


def test_rules_workbook_covers_every_validation_code() -> None:
    """The fixture has a row for every row/phonenumber/capabilities/field code in the catalogue."""
    seen = {code for expected, _ in rules_results().values() for code in expected.split("; ")}
    validation_codes = {
        code for code in CATALOGUE if not code.startswith(("api.", "remote.", "row.ragged"))
    }
    assert validation_codes - seen == set()


def test_warnings_leave_the_row_valid() -> None:
    """Rows whose only issues are warnings still would_register, with their payload."""
    warned = [
        result
        for expected, result in rules_results().values()
        if expected
        and all(CATALOGUE[code].severity is Severity.WARNING for code in expected.split("; "))
    ]
    assert len(warned) == 3
    assert all(result.status is Status.WOULD_REGISTER and result.payload for result in warned)


def test_three_problem_fixture_row_is_invalid_with_each_value() -> None:
    """The fixture's three-problem row names each field, column and cell text."""
    (result,) = [r for e, r in rules_results().values() if e.count(";") == 2]
    assert result.status is Status.INVALID
    assert [(i.field, i.value) for i in result.issues] == [
        ("phonenumber", "1.20591E+10"),
        ("capabilities", "31"),
        ("underlying_carrier_sid", "carrier-42"),
    ]


def test_issues_carry_the_normalised_value(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """Rule issues record the normalised value next to the cell text where one was read."""
    rules = ValidationSettings(allowed_countries=("GB",))
    row = make_row(phonenumber="1 (205) 905-1025", capabilities="sms+voice", callback_url=CALLBACK)
    (result,) = validate_rows([row], mapping, RowDefaults(), rules)
    assert [(i.code, i.value, i.normalized) for i in result.issues] == [
        ("phonenumber.country_not_allowed", "1 (205) 905-1025", "12059051025"),
        ("capabilities.voice_not_allowed", "sms+voice", "7"),
    ]
    assert "US" in result.issues[0].message
    assert "GB" in result.issues[0].message


def test_http_callback_warns_and_is_sent(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """Plain http is a warning; the URL is still in the payload."""
    row = make_row(phonenumber="+12059051025", capabilities="3", callback_url="http://e.com/h")
    result = validate_one(row, mapping, RowDefaults())
    assert result.status is Status.WOULD_REGISTER
    assert codes(result) == ["callback_url.not_https"]
    assert result.issues[0].normalized == "http://e.com/h"
    assert result.payload is not None
    assert result.payload["callback_url"] == "http://e.com/h"


@pytest.mark.parametrize(
    ("has_default", "carrier_default", "expected"),
    [
        (True, None, []),
        (False, None, ["underlying_carrier_sid.missing"]),
        (False, CARRIER, []),
    ],
)
def test_missing_carrier_only_without_any_default(
    mapping: ColumnMapping,
    make_row: MakeRow,
    has_default: bool,
    carrier_default: str | None,
    expected: list[str],
) -> None:
    """An empty carrier cell is an error only when neither partner nor run has a default."""
    rules = ValidationSettings(has_default_carrier=has_default)
    defaults = RowDefaults(carrier_sid=carrier_default)
    row = make_row(phonenumber="+12059051025", capabilities="3")
    (result,) = validate_rows([row], mapping, defaults, rules)
    assert codes(result) == expected


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 255), ("string_key_1", 255), ("string_key_2", 255), ("callback_url", 2048)],
)
def test_length_limits_are_inclusive(
    mapping: ColumnMapping, make_row: MakeRow, field: str, limit: int
) -> None:
    """A value of exactly the limit passes; one character more is `<field>.too_long`."""

    def text(length: int) -> str:
        return ("https://e.com/" + "a" * (length - 14)) if field == "callback_url" else "x" * length

    ok = make_row(phonenumber="+12059051025", capabilities="3", **{field: text(limit)})
    long = make_row(phonenumber="+12059051026", capabilities="3", **{field: text(limit + 1)})
    first, second = validate_rows([ok, long], mapping, RowDefaults())
    assert codes(first) == []
    assert codes(second) == [f"{field}.too_long"]
    assert f"{limit + 1} characters" in second.issues[0].message


def test_sms_incapable_types_are_configurable(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """A premium-rate number warns by default; an empty list turns the check off."""
    row = make_row(phonenumber="+1 900 234 5678", capabilities="3")
    (default,) = validate_rows([row], mapping, RowDefaults())
    (off,) = validate_rows(
        [row], mapping, RowDefaults(), ValidationSettings(sms_incapable_types=())
    )
    assert codes(default) == ["phonenumber.sms_unlikely"]
    assert "is a premium-rate number," in default.issues[0].message
    assert codes(off) == []


def test_unknown_allowed_country_stops_the_run(mapping: ColumnMapping, make_row: MakeRow) -> None:
    """An allowed country phonenumbers does not know is a ConfigError, not a row problem."""
    rules = ValidationSettings(allowed_countries=("XX",))
    with pytest.raises(ConfigError, match="allowed_countries"):
        validate_rows([make_row(phonenumber="+12059051025")], mapping, RowDefaults(), rules)


def test_parallel_reading_gives_identical_results(
    mapping: ColumnMapping, make_row: MakeRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers read by two worker processes give exactly the single-process results."""
    monkeypatch.setattr(phonebatch, "PARALLEL_MIN_NUMBERS", 10)
    texts = [
        "+1 205 905 1{n:03d}",
        "abc{n}",
        "1.2E+{n}",
        "(205) 905-1{n:03d}",
        "+1 555 010 0{n:03d}",
    ]
    rows = [
        make_row(phonenumber=texts[n % len(texts)].format(n=n // 2), capabilities="3")
        for n in range(60)
    ]
    pools: list[object] = []
    real_pool = phonebatch.ProcessPoolExecutor

    def spy(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pools.append(args[0])
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(phonebatch, "ProcessPoolExecutor", spy)
    single = validate_rows(rows, mapping, RowDefaults(default_region="US"), workers=1)
    double = validate_rows(rows, mapping, RowDefaults(default_region="US"), workers=2)
    assert double == single
    assert pools == [1]  # this process reads one chunk, one more process the other
    assert len({result.status for result in single}) > 1


PHONE_CELLS = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A[+']?[0-9 ()\-.]{3,20}\Z"),
    st.integers(12_000_000_000, 19_999_999_999).map(lambda n: f"+{n}"),
)
MASK_CELLS = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(["sms", "mms", "sms+voice", "all", "voice", "27 (x)", "", "3.0"]),
)


@settings(max_examples=200, deadline=None, database=None)
@given(cells=st.lists(st.tuples(PHONE_CELLS, MASK_CELLS), min_size=1, max_size=8))
def test_payloads_never_carry_plus_or_voice(cells: list[tuple[str, str]]) -> None:
    """Whatever the cells, every payload has bare E.164 digits and a voice-free messaging mask."""
    mapping = build_mapping(("phonenumber", "capabilities"))
    rows = [RawRow(n, cell) for n, cell in enumerate(cells, start=2)]
    for result in validate_rows(rows, mapping, RowDefaults(default_region="US")):
        assert (result.payload is None) is (result.status is not Status.WOULD_REGISTER)
        if result.payload is not None:
            digits, mask = result.payload["phonenumber"], result.payload["capabilities"]
            assert isinstance(digits, str)
            assert digits.isascii()
            assert digits.isdigit()
            assert isinstance(mask, int)
            assert not mask & 4
            assert mask & 27


def test_validation_section_of_the_config_file(tmp_path: Path) -> None:
    """`[validation]` in the TOML config is read, with countries upper-cased and '+' dropped."""
    config = tmp_path / "partner.toml"
    config.write_text(
        '[validation]\nallowed_countries = ["us", "ca"]\nallowed_prefixes = ["+1205"]\n'
        "has_default_carrier = false\nsms_incapable_types = []\n",
        encoding="utf-8",
    )
    rules = build_settings(config_file=config).validation
    assert rules == ValidationSettings(
        allowed_countries=("US", "CA"),
        allowed_prefixes=("1205",),
        has_default_carrier=False,
        sms_incapable_types=(),
    )


@pytest.mark.parametrize(
    "section",
    ['allowed_prefixes = ["12a"]', 'sms_incapable_types = ["fax"]', "has_default_carrier = 3"],
)
def test_bad_validation_settings_are_config_errors(tmp_path: Path, section: str) -> None:
    """A malformed [validation] setting is a one-line ConfigError naming it."""
    config = tmp_path / "partner.toml"
    config.write_text(f"[validation]\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="validation"):
        build_settings(config_file=config)


def test_streaming_validator_matches_validate_rows(
    mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """RowValidator used row by row, without priming, gives what validate_rows gives."""
    rows = [
        make_row(phonenumber=text, capabilities="3")
        for text in ("+12059051025", "abc", "+1 205 905 1025", "+12059051026", "abc")
    ]
    validator = RowValidator(mapping, RowDefaults())
    assert [validator.validate(row) for row in rows] == validate_rows(rows, mapping, RowDefaults())


def test_payload_order_holds_with_defaults_and_cells_mixed() -> None:
    """Defaulted and typed optional values come out in payload order whichever column exists."""
    mapping = build_mapping(("phonenumber", "capabilities", "underlying_carrier_sid", "name"))
    defaults = RowDefaults(callback_url=CALLBACK)
    (result,) = validate_rows(
        [RawRow(2, ("+12059051025", "3", CARRIER, "desk"))], mapping, defaults
    )
    assert result.payload is not None
    assert list(result.payload) == [
        "phonenumber",
        "capabilities",
        "underlying_carrier_sid",
        "callback_url",
        "name",
    ]


@pytest.mark.parametrize(
    "text", ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!"]
)
def test_spreadsheet_error_in_the_phone_cell_is_cell_error(
    text: str, mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """A phone cell showing a spreadsheet error is cell.error naming it, never missing."""
    result = validate_one(make_row(phonenumber=text, capabilities="3"), mapping, RowDefaults())
    (issue,) = result.issues
    assert (issue.code, issue.value, issue.field) == ("cell.error", text, "phonenumber")
    assert f"spreadsheet error {text} (" in issue.message
    assert issue.hint


@pytest.mark.parametrize(("text", "code"), [("#n/a", "cell.error"), ("#N/A x", None)])
def test_only_a_whole_error_value_is_cell_error(
    text: str, code: str | None, mapping: ColumnMapping, make_row: MakeRow
) -> None:
    """An error value in any case is cell.error; text around it makes it another problem."""
    result = validate_one(make_row(phonenumber=text, capabilities="3"), mapping, RowDefaults())
    assert (codes(result)[0] == "cell.error") is (code is not None)
