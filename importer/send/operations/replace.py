"""Replace: DELETE the planned record, then register the number again, for every
`would_replace` row (`capabilities` or `underlying_carrier_sid` cannot be patched).

Takes: rows a plan made `would_replace` (`planned.record` holds the old sid,
`planned.body` the POST: the record's fields with the sheet's over them). Two writes,
journaled as two steps::

    DELETE /phonenumber/external_dids/{old}    as `delete` reads it (404: already gone)
    journal: step `deleted` (committed before the POST leaves)
    POST /phonenumber/external_dids            as `register` reads and reconciles it

    both done                    → replaced: `external_did_sid` the new sid, the old in
                                   `extra["old_external_did_sid"]`
    POST refused for good        → the old record's fields are registered back (a number
                                   is never silently left deleted): failed
                                   apply.replace_restored, or apply.replace_lost when that
                                   was refused too
    POST without a final answer  → failed apply.replace_unfinished (apply again: resumed)

A row an unfinished run may have sent (`Tally.maybe_done`, or a journaled step) is looked
up first: held under the old sid → the delete was not done (DELETE, then POST); held
under a new sid with the body's values → replaced already (reconciled); absent → POST.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from importer.journal.plans import OLD_SID, STEP_DELETED
from importer.models import IssueType, RowResult, Status
from importer.plan.changes import differences, replacement_body
from importer.send.operations.change import (
    ChangeOperation,
    lookup_failed,
    plan_of,
    record_path,
    sid_of,
)
from importer.send.operations.lookup import find_number
from importer.send.operations.register import Register
from importer.send.reading import Kind, Reading, Request
from importer.send.steps import Steps

__all__ = ["OLD_SID", "STEP_DELETED", "Replace"]


APPLY_REPLACE_RESTORED = IssueType(
    "apply.replace_restored",
    "the replace was undone: registering +{value} again was refused ({detail}); the old "
    "record was registered back as {sid}",
    "fix the cell named in the message, then plan and apply again",
)
APPLY_REPLACE_LOST = IssueType(
    "apply.replace_lost",
    "+{value} is not in the account: its record {old} was deleted, registering it again was "
    "refused ({detail}) and registering the old record back failed too ({restore})",
    "register the number again (its old fields are in the plan), or fix the row and apply again",
)
APPLY_REPLACE_UNFINISHED = IssueType(
    "apply.replace_unfinished",
    "+{value}'s record {old} was deleted, but registering it again got no final answer "
    "({detail}): the number may be missing",
    "apply the same file again now: the replace resumes and registers the number",
)


class Replace(ChangeOperation):
    """The replace operation (see the module doc)."""

    name = "replace"
    action = "replace"
    status = Status.WOULD_REPLACE

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Look up first when resumed; DELETE the old record unless gone; then POST."""
        row, old = self.outcome(item, steps), sid_of(item)
        tally = steps.tally
        held: str | None = old
        if (tally.maybe_done or tally.step == STEP_DELETED) and steps.stopped_by is None:
            found = await find_number(steps, row.digits)
            if found.kind is not Kind.DONE:
                return self.unless_done(item, steps, lookup_failed(found)) or row.failed("")
            held = (found.body or {}).get("external_did_sid")
            if held is not None and held != old:
                return self._found(item, steps, found.body or {})
        if held is not None:
            ended = await self._delete(item, steps, old)
            if ended is not None:
                return ended
        return await self._register(item, steps)

    def _found(self, item: RowResult, steps: Steps, record: dict[str, Any]) -> RowResult:
        """Held under a new sid: replaced already if it holds the body's values."""
        row, sid = self.outcome(item, steps), record.get("external_did_sid")
        if differences(plan_of(item).body or {}, record):
            return row.gone(f"the number is now {sid}, with other values")
        return row.done(Status.REPLACED, reconciled=True, sid=str(sid), **{OLD_SID: sid_of(item)})

    async def _delete(self, item: RowResult, steps: Steps, old: str) -> RowResult | None:
        """The first step; None once the old record is gone (journaled `deleted`)."""
        digits = self.outcome(item, steps).digits
        reconcile = functools.partial(_deleted, digits, old, steps)
        request = Request(method="DELETE", path=record_path(old), what=f"replace of +{digits}")
        reading = await steps.send(request, reconcile=reconcile)
        if reading.kind is Kind.REFUSED and reading.status == 404:
            reading = reading.but(Kind.DONE)  # gone already: register it
        ended = self.unless_done(item, steps, reading)
        if ended is None:
            steps.stepped(STEP_DELETED)
        return ended

    async def _register(self, item: RowResult, steps: Steps) -> RowResult:
        """The second step: register the body; undo the delete if it is refused."""
        row, old = self.outcome(item, steps), sid_of(item)
        posted = await _post(item, steps, plan_of(item).body or {})
        if posted.status is Status.REGISTERED:
            reconciled = bool(posted.extra.get("reconciled"))
            sid = posted.external_did_sid
            return row.done(Status.REPLACED, reconciled=reconciled, sid=sid, **{OLD_SID: old})
        if posted.status is Status.ALREADY_REGISTERED:
            return row.gone("the number was registered again by another request meanwhile")
        if posted.status is Status.REJECTED:
            return await self._restore(item, steps, _detail(posted))
        issue = APPLY_REPLACE_UNFINISHED.issue(value=row.digits, old=old, detail=_detail(posted))
        return row.finish(Status.FAILED, issue, external_did_sid=None, extra=_old(item))

    async def _restore(self, item: RowResult, steps: Steps, refusal: str) -> RowResult:
        """Register the old record's fields back after a refused POST."""
        row, planned = self.outcome(item, steps), plan_of(item)
        restored = await _post(item, steps, replacement_body({}, planned.record or {}))
        sid = restored.external_did_sid
        if restored.status in (Status.REGISTERED, Status.ALREADY_REGISTERED):
            issue = APPLY_REPLACE_RESTORED.issue(value=row.digits, detail=refusal, sid=sid)
            return row.finish(Status.FAILED, issue, external_did_sid=sid, extra=_old(item))
        issue = APPLY_REPLACE_LOST.issue(
            value=row.digits, old=planned.sid, detail=refusal, restore=_detail(restored)
        )
        return row.finish(Status.FAILED, issue, external_did_sid=None, extra=_old(item))


async def _deleted(digits: str, old: str, steps: Steps) -> Reading | None:
    """The DELETE's reconcile: held under the old sid → None (send again); else DONE."""
    found = await find_number(steps, digits)
    if found.kind is not Kind.DONE:
        return lookup_failed(found)
    if found.body is not None and found.body.get("external_did_sid") == old:
        return None
    return found.but(Kind.DONE, reconciled=True)


async def _post(item: RowResult, steps: Steps, body: Mapping[str, object]) -> RowResult:
    """`body` registered by the register operation's rules (reading, reconcile,
    duplicates), on this row's steps: the register operation's result."""
    as_new = replace(item, status=Status.WOULD_REGISTER, payload=dict(body), issues=())
    return await Register().settle(as_new, steps)


def _detail(result: RowResult) -> str:
    return result.issues[-1].message if result.issues else result.status.value


def _old(item: RowResult) -> dict[str, object]:
    return {**item.extra, OLD_SID: sid_of(item)}
