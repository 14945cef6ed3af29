"""How a sheet row and the account's record differ, and what that takes to fix.

The rules of design.md's "Keeping the account in step with the sheet", stated once:

- the fields a row *sets* (`wanted`): every field of its payload but the number (a
  default such as `--callback-url` counts as set); a column the sheet does not have is
  left alone, and so is an empty cell, unless `--empty-clears` (then a mapped column's
  empty cell sets the field to null; only `CLEARABLE` fields can be null);
- `attributes` are compared key by key: the keys the sheet sets must hold its values,
  other keys of the record are left alone (the API merges attributes on PATCH);
- a difference in a `FIXED` field (`capabilities`, `underlying_carrier_sid`) cannot be
  patched: the record is deleted and registered again (a replace); any other difference
  is one PATCH carrying only the differing fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from importer.models import FieldChange, Planned, Status

__all__ = [
    "CLEARABLE",
    "EDITABLE",
    "FIXED",
    "MANAGED",
    "action_of",
    "describe",
    "differences",
    "fingerprint",
    "patch_body",
    "replacement_body",
    "wanted",
]

FIXED = ("capabilities", "underlying_carrier_sid")
"""Fields the API cannot change on a record: a difference means a replace."""
EDITABLE = ("callback_url", "name", "attributes", "string_key_1", "string_key_2")
"""Fields one PATCH changes."""
MANAGED = (*FIXED, *EDITABLE)
"""Every field a sheet can set, besides the number itself."""
CLEARABLE = ("callback_url", "string_key_1", "string_key_2")
"""Fields `--empty-clears` may set to null (the API keeps a name and merges attributes)."""
PHONENUMBER = "phonenumber"
SID = "external_did_sid"
SHOWN_CHARS = 60
"""A changed value is shown up to this many characters in the `changes` column."""

Record = Mapping[str, Any]


def wanted(
    payload: Mapping[str, object], mapped: Collection[str], *, empty_clears: bool = False
) -> dict[str, object]:
    """The fields a row sets, from its payload; with `empty_clears`, mapped empty ones → None."""
    fields = {name: payload[name] for name in MANAGED if name in payload}
    if empty_clears:
        fields |= {name: None for name in CLEARABLE if name in mapped and name not in fields}
    return fields


def differences(fields: Mapping[str, object], record: Record) -> tuple[FieldChange, ...]:
    """Each field of `fields` the record holds otherwise, in `MANAGED` order."""
    changes = []
    for name in MANAGED:
        if name not in fields:
            continue
        old, new = record.get(name), fields[name]
        if name == "attributes":
            old, new = _attributes_change(old, new)
        if old != new:
            changes.append(FieldChange(name, old, new))
    return tuple(changes)


def _attributes_change(old: object, new: object) -> tuple[object, object]:
    """The attributes compared on the keys the sheet sets: (old, new) of those keys."""
    held = old if isinstance(old, Mapping) else {}
    asked = new if isinstance(new, Mapping) else {}
    return {key: held.get(key) for key in asked}, dict(asked)


def action_of(planned: Planned, *, allow_replace: bool) -> Status:
    """What a valid row's number needs: register, nothing, update, replace (or blocked)."""
    if planned.record is None:
        return Status.WOULD_REGISTER
    if not planned.changes:
        return Status.UNCHANGED
    if any(change.field in FIXED for change in planned.changes):
        return Status.WOULD_REPLACE if allow_replace else Status.BLOCKED
    return Status.WOULD_UPDATE


def patch_body(planned: Planned) -> dict[str, object]:
    """The PATCH body: only the differing fields, with their new values."""
    return {change.field: change.new for change in planned.changes}


def replacement_body(fields: Mapping[str, object], record: Record) -> dict[str, object]:
    """The POST body of a replace: the record's own fields, the sheet's where it sets them.

    A null is left out (the API's default), so a cleared field stays clear.
    """
    body: dict[str, object] = {PHONENUMBER: record[PHONENUMBER]}
    for name in MANAGED:
        value = fields[name] if name in fields else record.get(name)
        if name == "attributes" and name in fields:
            value = {**(record.get(name) or {}), **(fields[name] or {})}  # type: ignore[dict-item]
        if value is not None and value != {}:
            body[name] = value
    return body


def fingerprint(record: Record) -> str:
    """A short digest of what a plan relies on in a record: its sid, number and fields."""
    kept = {name: record.get(name) for name in (SID, PHONENUMBER, *MANAGED)}
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe(changes: tuple[FieldChange, ...]) -> str:
    """The `changes` column: `callback_url: https://a… → https://b…; name: A → B`."""
    return "; ".join(
        f"{change.field}: {_shown(change.old)} → {_shown(change.new)}" for change in changes
    )


def _shown(value: object) -> str:
    if value is None:
        return "(empty)"
    text = json.dumps(value, sort_keys=True) if isinstance(value, Mapping) else str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
