"""What the journal keeps of a planned row (`apply`, `delete`), and what it makes of it
on resume.

A planned write is journaled by sheet row (prune rows have negative numbers) with its
action as the first `step` (`register`, `update`, `replace`, `delete`; a replace whose
DELETE is done moves to `deleted`), the planned record's sid, and for a replace its
plan (record, changes, body) so that a resumed run can finish it even once the number
is absent and a new plan would only register it.

Its hash is the payload's (`payload_hash`), the same whatever the row is planned as
now; a delete's is its number's (a deleted number has no record to plan any more).

On resume a row the earlier run may have sent (`sending`, or attempts) is:

    planned a write again      → reconciled before it is sent (`RunJournal.reconcile`,
                                 its step in `RunJournal.steps`)
    journaled a replace, now planned would_register (the DELETE was done)
                               → given back its replace plan (`RunJournal.reworked`)
    now unchanged / not_found  → it landed: reported with its journaled action,
                                 reconciled (`landed`)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace

from importer.models import FieldChange, Planned, RowResult, Status

__all__ = [
    "ACTION_STATUS",
    "OLD_SID",
    "STEP_DELETED",
    "action_of",
    "digest_of",
    "digits_of",
    "landed",
    "payload_hash",
    "plan_json",
    "replanned",
]

STEP_DELETED = "deleted"
"""A replace's step once its DELETE is done (`importer.send.operations.replace`)."""

ACTIONS: Mapping[Status, str] = {
    Status.WOULD_REGISTER: "register",
    Status.WOULD_UPDATE: "update",
    Status.WOULD_REPLACE: "replace",
    Status.WOULD_DELETE: "delete",
}
ACTION_STATUS: Mapping[str, Status] = {
    "register": Status.REGISTERED,
    "update": Status.UPDATED,
    "replace": Status.REPLACED,
    STEP_DELETED: Status.REPLACED,
    "delete": Status.DELETED,
}
"""What a journaled step becomes once it is known to have landed."""
LANDED_AS: Mapping[str, Status] = {
    "register": Status.UNCHANGED,
    "update": Status.UNCHANGED,
    "replace": Status.UNCHANGED,
    STEP_DELETED: Status.UNCHANGED,
    "delete": Status.NOT_FOUND,
}
"""The status a new plan gives a row whose journaled step landed."""
_DELETES = frozenset({Status.WOULD_DELETE, Status.NOT_FOUND, Status.DELETED})
OLD_SID = "old_external_did_sid"
"""The `extra` key of a replaced row's old sid."""


def action_of(result: RowResult) -> str | None:
    """The journaled first step of a planned write (None: not a write)."""
    return ACTIONS.get(result.status)


def digits_of(result: RowResult) -> str | None:
    """The row's number: normalized, else its planned record's."""
    record = result.planned.record if result.planned is not None else None
    number = result.normalized_phonenumber or (record or {}).get("phonenumber")
    return None if number is None else str(number)


def payload_hash(payload: Mapping[str, object] | None) -> str:
    """A stable hash of what a row sends (keys sorted), to spot edited rows."""
    text = json.dumps(payload or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_of(result: RowResult) -> str:
    """The row's journal hash: its payload's; a delete's, its number's."""
    if result.status in _DELETES:
        return payload_hash({"delete": digits_of(result)})
    return payload_hash(result.payload)


def plan_json(result: RowResult) -> str | None:
    """What the journal keeps of a replace's plan (None for other rows)."""
    planned = result.planned
    if result.status is not Status.WOULD_REPLACE or planned is None:
        return None
    changes = [[change.field, change.old, change.new] for change in planned.changes]
    kept = {"record": planned.record, "changes": changes, "body": planned.body}
    return json.dumps(kept, default=_plain)


def replanned(result: RowResult, plan: str) -> RowResult:
    """A row now planned `would_register` given back the replace it was in the middle of."""
    kept = json.loads(plan)
    changes = tuple(FieldChange(*change) for change in kept["changes"])
    planned = Planned(record=kept["record"], changes=changes, body=kept["body"])
    return replace(result, status=Status.WOULD_REPLACE, planned=planned)


def landed(result: RowResult, step: str | None, sid: str | None) -> RowResult | None:
    """A row an earlier run sent whose new plan finds it done: its journaled action,
    reconciled (None when the new plan does not say it landed). `sid` is the sid the
    row was planned with (a replace's old one)."""
    if step is None or LANDED_AS.get(step) is not result.status:
        return None
    status = ACTION_STATUS[step]
    extra: dict[str, object] = {**result.extra, "reconciled": True}
    planned = result.planned.sid if result.planned is not None else None
    new_sid = sid if status is Status.DELETED else planned
    if status is Status.REPLACED:
        extra[OLD_SID] = sid
    return replace(result, status=status, external_did_sid=new_sid, extra=extra)


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
