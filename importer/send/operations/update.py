"""Update: `PATCH /phonenumber/external_dids/{sid}` for every `would_update` row, once.

Takes: rows a plan made `would_update` (`planned.record` holds the sid, `planned.body`
only the fields that differ). Sends the body; reads the answer (`read_answer`)::

    200                                 → updated (the sid stays)
    404                                 → failed apply.gone: the record went since the plan
    other 4xx (422, …)                  → rejected apply.rejected (the API's field, message)
    401 / 403, a redirect               → failed; the run stops (exit 3)
    408, 409, 429, connect errors       → retried: nothing was changed
    5xx, timeouts, resets after sending → outcome unknown: reconciled, then retried
    retries exhausted                   → failed apply.failed (after the second pass)

Reconciles by looking the number up (`lookup.find_number`): held under the planned sid
with every field of the body as wanted → updated (`extra["reconciled"]`); held with
other values → send again; absent or under another sid → apply.gone (plan again). Rows
an unfinished run may have sent (`Tally.maybe_done`) are looked up before any PATCH.
"""

from __future__ import annotations

import functools

from importer.models import RowResult, Status
from importer.plan.changes import differences
from importer.send.operations.change import (
    ChangeOperation,
    lookup_failed,
    plan_of,
    record_path,
    sid_of,
)
from importer.send.operations.lookup import find_number
from importer.send.reading import Kind, Reading, Request
from importer.send.steps import Steps

__all__ = ["Update"]


class Update(ChangeOperation):
    """The update operation (see the module doc)."""

    name = "update"
    action = "update"
    status = Status.WOULD_UPDATE

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Reconcile first if an earlier run may have sent it; then PATCH until settled."""
        row = self.outcome(item, steps)
        reconcile = functools.partial(self._reconcile, item, steps)
        reading: Reading | None = None
        if steps.tally.maybe_done and steps.stopped_by is None:
            reading = await reconcile()
        if reading is None:
            request = Request(
                method="PATCH",
                path=record_path(sid_of(item)),
                json=dict(plan_of(item).body or {}),
                what=f"update of +{row.digits}",
            )
            reading = await steps.send(request, reconcile=reconcile)
        ended = self.unless_done(item, steps, reading)
        return ended or row.done(Status.UPDATED, reconciled=reading.reconciled)

    async def _reconcile(self, item: RowResult, steps: Steps) -> Reading | None:
        """As wanted → DONE (reconciled); as before → None (send again); gone → a 404."""
        planned = plan_of(item)
        found = await find_number(steps, self.outcome(item, steps).digits)
        if found.kind is not Kind.DONE:
            return lookup_failed(found)
        record = found.body
        if record is None or record.get("external_did_sid") != planned.sid:
            held = "absent" if record is None else f"now {record.get('external_did_sid')}"
            return found.but(Kind.REFUSED, status=404, detail=f"the number is {held}")
        if differences(planned.body or {}, record):
            return None
        return found.but(Kind.DONE, reconciled=True)
