"""Delete: `DELETE /phonenumber/external_dids/{sid}` for every `would_delete` row, once.

Takes: rows a plan made `would_delete` (`--prune`: the account's numbers the sheet does
not hold; `did-import delete FILE`: the listed numbers), with the planned record's sid
(a row planned without one is looked up first: absent → not_found). Reads the answer::

    204                                 → deleted
    404                                 → not_found (ends well: the number is not there)
    other 4xx                           → rejected apply.rejected
    401 / 403, a redirect               → failed; the run stops (exit 3)
    408, 409, 429, connect errors       → retried: nothing was deleted
    5xx, timeouts, resets after sending → outcome unknown: reconciled, then retried
    retries exhausted                   → failed apply.failed (after the second pass)

Reconciles by looking the number up (`lookup.find_number`): absent, or held under
another sid → deleted (`extra["reconciled"]`); held under the same sid → send again. A
404 after our own unanswered DELETE is `deleted` too. Rows an unfinished run may have
sent (`Tally.maybe_done`) are looked up before any DELETE.
"""

from __future__ import annotations

import functools

from importer.models import RowResult, Status
from importer.send.operations.change import ChangeOperation, lookup_failed, plan_of, record_path
from importer.send.operations.lookup import find_number
from importer.send.reading import Kind, Reading, Request
from importer.send.steps import Steps

__all__ = ["Delete"]


class Delete(ChangeOperation):
    """The delete operation (see the module doc)."""

    name = "delete"
    action = "delete"
    status = Status.WOULD_DELETE
    needs_sid = False

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Find the sid if the plan has none; reconcile first if an earlier run may have
        sent it; then DELETE until settled."""
        row = self.outcome(item, steps)
        sid = plan_of(item).sid
        if sid is None:
            found = await find_number(steps, row.digits)
            if found.kind is Kind.DONE and found.body is None:
                return row.finish(Status.NOT_FOUND)
            if found.kind is not Kind.DONE or found.body is None:
                return self.unless_done(item, steps, found) or row.failed(found.detail)
            sid = str(found.body.get("external_did_sid"))
        return await self._delete(item, steps, sid)

    async def _delete(self, item: RowResult, steps: Steps, sid: str) -> RowResult:
        row = self.outcome(item, steps)
        reconcile = functools.partial(self._reconcile, row.digits, sid, steps)
        reading: Reading | None = None
        if steps.tally.maybe_done and steps.stopped_by is None:
            reading = await reconcile()
        if reading is None:
            what = f"delete of +{row.digits}"
            request = Request(method="DELETE", path=record_path(sid), what=what)
            reading = await steps.send(request, reconcile=reconcile)
        if reading.kind is Kind.REFUSED and reading.status == 404:
            if not steps.tally.maybe_done:
                return row.finish(Status.NOT_FOUND, external_did_sid=sid)
            reading = reading.but(Kind.DONE, reconciled=True)
        ended = self.unless_done(item, steps, reading)
        return ended or row.done(Status.DELETED, reconciled=reading.reconciled, sid=sid)

    async def _reconcile(self, digits: str, sid: str, steps: Steps) -> Reading | None:
        """Absent or held under another sid → DONE (reconciled); same sid → None (send)."""
        found = await find_number(steps, digits)
        if found.kind is not Kind.DONE:
            return lookup_failed(found)
        if found.body is not None and found.body.get("external_did_sid") == sid:
            return None
        return found.but(Kind.DONE, reconciled=True)
