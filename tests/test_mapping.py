"""Tests for importer.mapping: header aliases, overrides, and refusals."""

from __future__ import annotations

import pytest

from importer.errors import ConfigError, MappingError
from importer.mapping import (
    ALIASES,
    CANONICAL_FIELDS,
    ColumnMapping,
    build_mapping,
    column_letter,
    find_phone_column,
    header_key,
    mapping_lines,
    quote,
)
from importer.models import RawRow


def test_canonical_fields_order() -> None:
    """The canonical fields are the API's writable fields, in the documented order."""
    assert CANONICAL_FIELDS == (
        "phonenumber",
        "capabilities",
        "callback_url",
        "name",
        "underlying_carrier_sid",
        "attributes",
        "string_key_1",
        "string_key_2",
    )


def test_aliases_cover_every_field_once() -> None:
    """Every canonical field has aliases and no alias key belongs to two fields."""
    assert set(ALIASES) == set(CANONICAL_FIELDS)
    keys = [key for aliases in ALIASES.values() for key in aliases]
    assert len(keys) == len(set(keys))
    assert all(key == header_key(key) for key in keys)


@pytest.mark.parametrize(
    ("index", "letter"),
    [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA")],
)
def test_column_letter(index: int, letter: str) -> None:
    """Column indexes become spreadsheet letters, 0 -> A and 26 -> AA."""
    assert column_letter(index) == letter


def test_column_letter_rejects_negative() -> None:
    """A negative column index is a programming error."""
    with pytest.raises(ValueError, match="-1"):
        column_letter(-1)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Phone Number", "phonenumber"),
        ("phone_number", "phonenumber"),
        ("PHONE", "phonenumber"),
        ("Number", "phonenumber"),
        ("DID", "phonenumber"),
        ("TN", "phonenumber"),
        ("Telephone Number", "phonenumber"),
        ("E.164", "phonenumber"),
        ("E164", "phonenumber"),
        ("MSISDN", "phonenumber"),
        ("  phone-number  ", "phonenumber"),
        ("Capabilities", "capabilities"),
        ("Capability Mask", "capabilities"),
        ("Caps", "capabilities"),
        ("Callback URL", "callback_url"),
        ("callback_url", "callback_url"),
        ("Callback", "callback_url"),
        ("Webhook", "callback_url"),
        ("Name", "name"),
        ("Description", "name"),
        ("Carrier", "underlying_carrier_sid"),
        ("Carrier SID", "underlying_carrier_sid"),
        ("Underlying Carrier SID", "underlying_carrier_sid"),
        ("Attributes", "attributes"),
        ("String Key 1", "string_key_1"),
        ("string_key_2", "string_key_2"),
    ],
)
def test_alias_spellings(header: str, field: str) -> None:
    """Common header spellings map to their field, whatever the case, spaces or punctuation."""
    mapping = build_mapping([header, "Phone Number" if field != "phonenumber" else "x"])
    assert mapping.column_of(field) == header


def test_describe_is_in_canonical_order() -> None:
    """describe() lists mapped fields in canonical order, not column order."""
    mapping = build_mapping(["Name", "Notes", "Caps", "DID"])
    assert mapping.describe() == {"phonenumber": "DID", "capabilities": "Caps", "name": "Name"}
    assert list(mapping.fields) == ["phonenumber", "capabilities", "name"]


def test_unknown_columns_are_not_mapped() -> None:
    """Columns matching no alias are left out of the mapping."""
    mapping = build_mapping(["Phone", "Region", "Notes", ""])
    assert mapping.fields == {"phonenumber": 0}
    assert mapping.header == ("Phone", "Region", "Notes", "")


@pytest.mark.parametrize(
    ("header", "field", "chosen"),
    [
        (["Number", "Phone Number"], "phonenumber", "Phone Number"),
        (["Phone", "DID"], "phonenumber", "DID"),
        (["Description", "Name", "TN"], "name", "Name"),
        (["TN", "Carrier", "Carrier SID"], "underlying_carrier_sid", "Carrier SID"),
        (["TN", "Caps", "Capabilities"], "capabilities", "Capabilities"),
    ],
)
def test_best_ranked_alias_wins(header: list[str], field: str, chosen: str) -> None:
    """When several columns match one field, the more specific name is chosen."""
    assert build_mapping(header).column_of(field) == chosen


def test_override_wins_over_alias() -> None:
    """An override picks its column even when another column matches by alias."""
    mapping = build_mapping(["Phone", "Cell Tel"], {"phonenumber": "Cell Tel"})
    assert mapping.fields == {"phonenumber": 1}


def test_override_column_is_not_reused_by_aliases() -> None:
    """A column taken by an override is not also mapped to its alias field."""
    mapping = build_mapping(["Name", "TN"], {"string_key_1": "Name"})
    assert mapping.describe() == {"phonenumber": "TN", "string_key_1": "Name"}


def test_override_matches_by_key_when_not_exact() -> None:
    """An override written in another case or spacing still finds its column."""
    mapping = build_mapping(["Ref", "Cell Tel"], {"phonenumber": "cell tel"})
    assert mapping.column_of("phonenumber") == "Cell Tel"


def test_override_of_missing_header() -> None:
    """An override naming a header that is not in the file is a MappingError."""
    with pytest.raises(MappingError) as caught:
        build_mapping(["Phone", "Caps"], {"name": "Label"}, source="partner.csv")
    assert str(caught.value) == (
        'partner.csv: column "Label" given for name is not in the header; '
        'headers found: "Phone", "Caps"'
    )


def test_override_of_unknown_field() -> None:
    """An override for a field that does not exist is a configuration error."""
    with pytest.raises(ConfigError, match=r"unknown field 'phone'"):
        build_mapping(["Phone"], {"phone": "Phone"})


def test_override_two_fields_one_column() -> None:
    """Two overrides naming the same column are refused."""
    with pytest.raises(MappingError) as caught:
        build_mapping(["Phone", "Label"], {"name": "Label", "string_key_1": "Label"}, source="f")
    assert str(caught.value) == 'f: column "Label" is given for more than one field'


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("partner.csv", 'partner.csv: no phone-number column; headers found: "Name", "Caps"'),
        ("", 'no phone-number column; headers found: "Name", "Caps"'),
    ],
)
def test_missing_phone_column(source: str, message: str) -> None:
    """Without a phone-number column the error lists the headers that were found."""
    with pytest.raises(MappingError) as caught:
        build_mapping(["Name", "", "Caps"], source=source)
    assert str(caught.value) == message


def test_missing_phone_column_in_empty_header() -> None:
    """An all-empty header says no headers were found."""
    with pytest.raises(MappingError, match=r"headers found: \(none\)$"):
        build_mapping(["", ""], source="x.csv")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            ["Name", "Phone", "Caps", "Notes", "Phone"],
            'numbers.xlsx: duplicate column "Phone" in columns B and E',
        ),
        (["phone ", "Caps", "PHONE"], 'numbers.xlsx: duplicate column "phone" in columns A and C'),
        (["Phone", "Caps", "caps"], 'numbers.xlsx: duplicate column "Caps" in columns B and C'),
    ],
)
def test_duplicate_mapped_column(header: list[str], message: str) -> None:
    """A mapped column whose name appears twice is refused, naming both column letters."""
    with pytest.raises(MappingError) as caught:
        build_mapping(header, source="numbers.xlsx")
    assert str(caught.value) == message


def test_error_messages_stay_on_one_short_line() -> None:
    """Header text in messages is flattened to one line, cut short, and the list capped."""
    header = ["Notes\nfor the\tteam", "x" * 60, *(f"c{n}" for n in range(20))]
    with pytest.raises(MappingError) as caught:
        build_mapping(header, source="f.csv")
    assert str(caught.value) == (
        'f.csv: no phone-number column; headers found: "Notes for the team", '
        f'"{"x" * 37}...", "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", '
        "... (10 more)"
    )


def test_duplicate_unmapped_columns_are_kept() -> None:
    """Repeated names of unmapped (or empty) columns are harmless and kept."""
    mapping = build_mapping(["Phone", "Notes", "", "Notes", ""])
    assert mapping.fields == {"phonenumber": 0}


@pytest.mark.parametrize(
    ("header", "overrides", "expected"),
    [
        (["Name", "Phone"], None, 1),
        (["Acme number list"], None, None),
        (["Name", "Caps"], None, None),
        (["Ref", "Cell Tel"], {"phonenumber": "Cell Tel"}, 1),
        (["Phone", "Caps"], {"phonenumber": "Cell Tel"}, None),
        (["Phone", "Caps"], {"name": "Label"}, 0),
    ],
)
def test_find_phone_column(
    header: list[str], overrides: dict[str, str] | None, expected: int | None
) -> None:
    """find_phone_column answers where the phone column is, honouring an override."""
    assert find_phone_column(header, overrides) == expected


@pytest.fixture
def mapping() -> ColumnMapping:
    """A mapping of a typical partner header."""
    return build_mapping(["Notes", "Phone Number", "Caps", "Name"])


def test_extract_strips_mapped_cells(mapping: ColumnMapping) -> None:
    """extract() returns the stripped text of each mapped field only."""
    row = RawRow(2, ("keep me", " +12059051025 ", "3\t", "Alpha"))
    assert mapping.extract(row) == {
        "phonenumber": "+12059051025",
        "capabilities": "3",
        "name": "Alpha",
    }


def test_extract_short_row(mapping: ColumnMapping) -> None:
    """Fields past the end of a short row come out empty."""
    row = RawRow(3, ("", "+12059051025"))
    assert mapping.extract(row) == {"phonenumber": "+12059051025", "capabilities": "", "name": ""}


def test_column_of_and_letter_of(mapping: ColumnMapping) -> None:
    """column_of and letter_of name a field's column, or None when unmapped."""
    assert mapping.column_of("capabilities") == "Caps"
    assert mapping.letter_of("capabilities") == "C"
    assert mapping.column_of("callback_url") is None
    assert mapping.letter_of("callback_url") is None


# -- composed fields: capability flags and attribute columns ----------------------------


@pytest.mark.parametrize(
    ("header", "cells", "capabilities"),
    [
        (["Phone", "SMS", "MMS"], ("1", "yes", "no"), "sms"),
        (["Phone", "SMS", "MMS"], ("1", "X", "TRUE"), "sms+mms"),
        (["Phone", "SMS", "MMS"], ("1", "\u2713", "1"), "sms+mms"),
        (["Phone", "SMS", "MMS"], ("1", "no", "n"), "0"),
        (["Phone", "SMS", "MMS"], ("1", "", ""), ""),
        (["Phone", "SMS", "MMS"], ("1",), ""),
        (["Phone", "SMS", "MMS"], ("1", "maybe", "yes"), "SMS=maybe"),
        (
            ["Phone", "sms_in", "SMS Out", "mms-in", "MMS_OUT"],
            ("1", "y", "", "y", "n"),
            "sms_in+mms_in",
        ),
    ],
)
def test_capability_flag_columns(
    header: list[str], cells: tuple[str, ...], capabilities: str
) -> None:
    """SMS/MMS flag columns become capability names; all "no" is 0, all empty is empty."""
    mapping = build_mapping(header)
    assert mapping.extract(RawRow(2, cells))["capabilities"] == capabilities


def test_flag_columns_through_validation() -> None:
    """Composed capabilities are validated like a capabilities cell, naming the flag columns."""
    from importer.config import RowDefaults
    from importer.validate.rows import validate_rows

    mapping = build_mapping(["Phone", "SMS", "MMS"])
    rows = [RawRow(2, ("+12059051025", "yes", "yes")), RawRow(3, ("+12059051026", "no", "no"))]
    good, bad = validate_rows(rows, mapping, RowDefaults())
    assert good.payload is not None
    assert good.payload["capabilities"] == 27
    assert [(i.code, i.column) for i in bad.issues] == [
        ("capabilities.no_messaging", "SMS + MMS columns")
    ]


def test_capabilities_column_wins_over_flags() -> None:
    """With a capabilities column, flag columns are not used (only carried to the report)."""
    mapping = build_mapping(["Phone", "Caps", "SMS"])
    assert mapping.describe() == {"phonenumber": "Phone", "capabilities": "Caps"}
    assert mapping.extract(RawRow(2, ("1", "24", "yes")))["capabilities"] == "24"


def test_describe_composed_fields() -> None:
    """describe() names every column a composed field is built from."""
    mapping = build_mapping(["Phone", "SMS", "MMS", "attributes.team", "Attrs.Site", "Notes"])
    assert mapping.describe() == {
        "phonenumber": "Phone",
        "capabilities": "SMS + MMS columns",
        "attributes": "attributes.team + Attrs.Site columns",
    }
    assert mapping.letter_of("capabilities") is None
    assert mapping.column_of("name") is None


@pytest.mark.parametrize(
    ("header", "cells", "attributes"),
    [
        (["Phone", "attributes.team"], ("1", "sales"), '{"team": "sales"}'),
        (["Phone", "attributes.team", "attribute.site"], ("1", "", "Köln"), '{"site": "Köln"}'),
        (["Phone", "attributes.team"], ("1", " "), ""),
        (
            ["Phone", "Attributes", "attributes.team"],
            ("1", '{"a": 1}', "x"),
            '{"a": 1, "team": "x"}',
        ),
        (["Phone", "Attributes", "attributes.a"], ("1", '{"a": 1}', "x"), '{"a": "x"}'),
        (["Phone", "Attributes", "attributes.a"], ("1", '{"a": 1}', ""), '{"a": 1}'),
        (["Phone", "Attributes", "attributes.a"], ("1", "[1]", "x"), "[1]"),
        (["Phone", "Attributes", "attributes.a"], ("1", "{bad", "x"), "{bad"),
        (["Phone", "Attributes", "attributes.a"], ("1", "", "x"), '{"a": "x"}'),
    ],
)
def test_attribute_columns(header: list[str], cells: tuple[str, ...], attributes: str) -> None:
    """attributes.<key> columns build the JSON object, merged over an attributes JSON cell."""
    assert build_mapping(header).extract(RawRow(2, cells))["attributes"] == attributes


def test_duplicate_composed_columns_are_refused() -> None:
    """Two columns for the same flag or attribute key are refused like any used duplicate."""
    with pytest.raises(MappingError, match=r'duplicate column "SMS" in columns B and D$'):
        build_mapping(["Phone", "SMS", "MMS", "sms"], source="f.csv")
    with pytest.raises(MappingError, match=r"in columns B and C$"):
        build_mapping(["Phone", "attributes.a", "Attributes.A"], source="f.csv")


def test_mapping_lines() -> None:
    """mapping_lines lays describe() out for a terminal, one field a line."""
    lines = mapping_lines({"phonenumber": "Phone", "capabilities": "SMS + MMS columns"})
    assert lines == ['phonenumber  <- "Phone"', 'capabilities <- "SMS + MMS columns"']


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Phone Number", '"Phone Number"'),
        ('"03"-"08"-"2017"', '"\\"03\\"-\\"08\\"-\\"2017\\""'),
        ("C:\\path", '"C:\\\\path"'),
        ("a\x00b\x1bc", '"a\\x00b\\x1bc"'),
        ("two\nlines", '"two lines"'),
        ("x" * 50, '"' + "x" * 37 + '..."'),
    ],
    ids=["plain", "quotes", "backslash", "control", "newline", "long"],
)
def test_quote_escapes_header_text(text: str, shown: str) -> None:
    """A quoted header is one token: quotes and backslashes escaped, control characters
    shown as escapes, whitespace flattened, long text cut."""
    assert quote(text) == shown
