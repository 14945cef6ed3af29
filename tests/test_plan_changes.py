"""The plan's rules: which fields a row sets, how a record differs, what fixes it."""

from __future__ import annotations

import pytest

from importer.models import FieldChange, Planned, Status
from importer.plan.changes import (
    action_of,
    describe,
    differences,
    fingerprint,
    patch_body,
    replacement_body,
    wanted,
)

RECORD = {
    "external_did_sid": "sid-1",
    "phonenumber": "12059051025",
    "capabilities": 3,
    "callback_url": "https://a.example.com/sms",
    "name": "Alpha",
    "underlying_carrier_sid": None,
    "attributes": {"region": "south", "tier": "gold"},
    "string_key_1": None,
    "string_key_2": "keep",
}


def test_a_row_sets_its_payload_fields_but_not_the_number() -> None:
    """The number is the key, never a change; a missing field is not set."""
    payload = {"phonenumber": "12059051025", "capabilities": 3, "name": "Beta"}
    assert wanted(payload, ["phonenumber", "capabilities", "name"]) == {
        "capabilities": 3,
        "name": "Beta",
    }


def test_empty_clears_sets_mapped_clearable_fields_to_null() -> None:
    """With --empty-clears an empty mapped callback/string key becomes null; the name does not."""
    payload = {"phonenumber": "1", "capabilities": 3}
    mapped = ["phonenumber", "capabilities", "callback_url", "name", "string_key_2"]
    assert wanted(payload, mapped, empty_clears=True) == {
        "capabilities": 3,
        "callback_url": None,
        "string_key_2": None,
    }
    assert wanted(payload, mapped) == {"capabilities": 3}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"capabilities": 3, "name": "Alpha"}, ()),
        ({"name": "Beta"}, (FieldChange("name", "Alpha", "Beta"),)),
        ({"attributes": {"tier": "gold"}}, ()),
        (
            {"attributes": {"tier": "silver"}},
            (FieldChange("attributes", {"tier": "gold"}, {"tier": "silver"}),),
        ),
        ({"string_key_2": None}, (FieldChange("string_key_2", "keep", None),)),
        (
            {"name": "Beta", "capabilities": 27},
            (FieldChange("capabilities", 3, 27), FieldChange("name", "Alpha", "Beta")),
        ),
    ],
)
def test_differences_compare_only_what_the_sheet_sets(
    fields: dict[str, object], expected: tuple[FieldChange, ...]
) -> None:
    """Unset fields and attribute keys the sheet does not name are left alone."""
    assert differences(fields, RECORD) == expected


@pytest.mark.parametrize(
    ("changes", "allow_replace", "action"),
    [
        ((), False, Status.UNCHANGED),
        ((FieldChange("name", "A", "B"),), False, Status.WOULD_UPDATE),
        ((FieldChange("capabilities", 3, 27),), False, Status.BLOCKED),
        ((FieldChange("capabilities", 3, 27),), True, Status.WOULD_REPLACE),
        ((FieldChange("underlying_carrier_sid", "a", "b"),), True, Status.WOULD_REPLACE),
    ],
)
def test_action_of_a_difference(
    changes: tuple[FieldChange, ...], allow_replace: bool, action: Status
) -> None:
    """Editable fields update; capabilities or carrier need a replace, else blocked."""
    assert action_of(Planned(record=RECORD, changes=changes), allow_replace=allow_replace) is action


def test_an_absent_number_is_registered() -> None:
    """No record: would_register."""
    assert action_of(Planned(), allow_replace=False) is Status.WOULD_REGISTER


def test_patch_body_holds_only_the_differing_fields() -> None:
    """PATCH sends the changed fields with their new values, nothing else."""
    planned = Planned(record=RECORD, changes=(FieldChange("name", "Alpha", "Beta"),))
    assert patch_body(planned) == {"name": "Beta"}


def test_replacement_keeps_the_records_fields_the_sheet_does_not_set() -> None:
    """A replace registers the sheet's values over the record's own; nulls left out."""
    body = replacement_body({"capabilities": 27, "attributes": {"tier": "silver"}}, RECORD)
    assert body == {
        "phonenumber": "12059051025",
        "capabilities": 27,
        "callback_url": "https://a.example.com/sms",
        "name": "Alpha",
        "attributes": {"region": "south", "tier": "silver"},
        "string_key_2": "keep",
    }


def test_fingerprint_moves_with_any_managed_field_only() -> None:
    """A changed callback changes the fingerprint; an unmanaged field does not."""
    moved = fingerprint({**RECORD, "callback_url": "https://c.example.com"})
    assert moved != fingerprint(RECORD)
    assert fingerprint({**RECORD, "status": "assigned"}) == fingerprint(RECORD)


def test_describe_shows_old_and_new_values() -> None:
    """The changes column: `field: old → new`, empty shown as (empty), long values cut."""
    text = describe((FieldChange("callback_url", None, "https://b.example.com/" + "x" * 80),))
    assert text.startswith("callback_url: (empty) → https://b.example.com/")
    assert text.endswith("…")
