"""Register: `POST /phonenumber/external_dids` for every `would_register` row, never twice.

Takes: rows validation passed (`would_register`, with a payload). Sends the payload.
Reads the answer (`read_registration`, carrierx-api.md's failure table)::

    200 with a sid                      → registered
    200 without a readable sid          → unknown: reconciled
    422 / 409 "phonenumber already …"   → already_registered (ours) | rejected api.number_taken
    other 4xx (400, 404, 415, 422, …)   → rejected api.rejected (the API's field and message)
    401 / 403, a redirect               → failed; the run stops (exit 3)
    408, 409, 429, connect errors       → retried: nothing was created
    5xx, timeouts, resets after sending → outcome unknown: reconciled, then retried
    retries exhausted                   → failed api.failed (after the executor's second pass)
    a wait over --max-wait              → failed api.deferred: nothing was created

Reconciles an unknown outcome by looking the number up (`lookup.find_number`): found
means registered (`extra["reconciled"]`), absent means send again, no answer means the
row fails rather than guess. A duplicate answer that carries a `reference_sid` is
trusted as ours (carrierx-api.md sets it only for the caller's own record); without it
the number is looked up, and absent means another account holds it. Rows an unfinished
run may have sent (`Tally.maybe_done` from the journal) are looked up before any POST.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import httpx

from importer.errors import AuthError
from importer.models import Issue, IssueType, RowResult, Status
from importer.send.client import EXTERNAL_DIDS, FieldError
from importer.send.operations.lookup import find_number
from importer.send.operations.rows import finished
from importer.send.reading import Kind, Reading, Request, read_answer
from importer.send.steps import Steps, Tally

__all__ = ["TAKEN_WORDS", "Register", "duplicate_of", "not_attempted", "read_registration"]

API_REJECTED = IssueType(
    "api.rejected",
    "the API refused the row: {detail}",
    "fix the cell named in the message and send the row again",
)

API_NUMBER_TAKEN = IssueType(
    "api.number_taken",
    "number {value} is already registered by another account",
    "ask CarrierX support who holds the number",
)

API_FAILED = IssueType(
    "api.failed",
    "no answer after {attempts} attempt(s): {detail}",
    "send the row again later; it was not registered",
)

API_OWNER_UNKNOWN = IssueType(
    "api.owner_unknown",
    "number {value} is already registered, but the lookup that tells whose failed: {detail}",
    "run the same file again: the number is looked up first, never sent twice",
)
API_DEFERRED = IssueType(
    "api.deferred",
    "the API asked to wait {wait} s before trying again, longer than --max-wait: "
    "nothing was registered ({detail})",
    "run the same file again later: this row is sent then",
)

API_NOT_ATTEMPTED = IssueType(
    "api.not_attempted",
    "the run stopped before this row was sent",
    "run the same file again to send it",
)

API_AUTH_REFUSED = IssueType(
    "api.auth_refused",
    "the API refused our credentials for this row ({detail}); the run stopped",
    "check the token and its phonenumber.create scope, then run the same file again",
)

TAKEN_WORDS = ("already", "exist", "registered", "taken", "duplicate", "in use")


def read_registration(response: httpx.Response, request: Request) -> Reading:
    """`read_answer`, narrowed: a 2xx must carry the new sid; a duplicate is DONE."""
    reading = read_answer(response, request)
    if reading.kind is Kind.DONE and not (reading.body or {}).get("external_did_sid"):
        return reading.but(Kind.UNKNOWN, detail=f"{reading.detail}, unreadable body")
    if reading.status in (409, 422) and duplicate_of(reading) is not None:
        return reading.but(Kind.DONE)
    return reading


def duplicate_of(reading: Reading) -> FieldError | None:
    """The `phonenumber` error saying the number is already registered, if there is one."""
    error = reading.problem.about("phonenumber") if reading.problem else None
    if error is None:
        return None
    says_taken = any(word in error.message.lower() for word in TAKEN_WORDS)
    return error if error.reference_sid or says_taken else None


class Register:
    """The register operation (see the module doc)."""

    name = "register"
    journaled = True
    second_pass = True

    def takes(self, result: RowResult) -> bool:
        """Rows validation passed."""
        return result.status is Status.WOULD_REGISTER

    def tally(self, item: RowResult, reconcile: Collection[int]) -> Tally:
        """Journaled by sheet row; rows an unfinished run may have sent are looked up first.

        Raises ValueError for a row without a payload, before anything is sent.
        """
        _digits(item)
        number = item.row.number
        return Tally(journal_row=number, maybe_done=number in reconcile)

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Reconcile first if an earlier run may have sent it; then POST until settled."""
        digits, row = _digits(item), _Outcome(item, steps)
        reading: Reading | None = None
        if steps.tally.maybe_done and steps.stopped_by is None:
            reading = await self._reconcile(digits, steps)
        if reading is None:
            request = Request(
                method="POST", path=EXTERNAL_DIDS, json=dict(item.payload or {}), what=f"+{digits}"
            )
            reconcile = functools.partial(self._reconcile, digits, steps)
            reading = await steps.send(request, read_registration, reconcile=reconcile)
        if reading.kind is Kind.DONE and reading.problem is not None:
            return await self._duplicate(row, reading, steps)
        return self._settled(row, reading, steps)

    async def _reconcile(self, digits: str, steps: Steps) -> Reading | None:
        """Found → DONE (reconciled) with the record; absent → None (send); else as read."""
        found = await find_number(steps, digits)
        if found.kind is Kind.DONE and found.body is None:
            return None
        if found.kind is Kind.DONE:
            return found.but(Kind.DONE, reconciled=True)
        why = "the run stopped" if found.kind is Kind.HALTED else "lookup"
        return found.but(Kind.UNKNOWN, detail=f"outcome unknown; {why}: {found.detail}")

    async def _duplicate(self, row: _Outcome, reading: Reading, steps: Steps) -> RowResult:
        """Already registered: ours (its sid, or found by a lookup), or another account's."""
        error = duplicate_of(reading)
        sid = error.reference_sid if error is not None else None
        if sid is None:
            found = await find_number(steps, row.digits)
            if found.kind is not Kind.DONE:
                issue = API_OWNER_UNKNOWN.issue(value=row.digits, detail=found.detail)
                return row.finish(Status.FAILED, issue)
            if found.body is None:
                issue = API_NUMBER_TAKEN.issue(field="phonenumber", value=row.digits)
                return row.finish(Status.REJECTED, issue)
            sid = found.body.get("external_did_sid")
        if steps.tally.maybe_done:  # our own earlier, unanswered attempt created it
            return row.registered({"external_did_sid": sid}, reconciled=True)
        return row.finish(Status.ALREADY_REGISTERED, external_did_sid=sid)

    def _settled(self, row: _Outcome, reading: Reading, steps: Steps) -> RowResult:
        match reading.kind:
            case Kind.DONE:
                return row.registered(reading.body or {}, reconciled=reading.reconciled)
            case Kind.REFUSED:
                return row.rejected(reading)
            case Kind.STOP if isinstance(reading.error, AuthError):
                issue = API_AUTH_REFUSED.issue(value=row.digits, detail=reading.detail)
                return row.finish(Status.FAILED, issue)
            case Kind.DEFERRED:  # the last answer was definite, or a lookup said absent
                return row.deferred(reading)
            case Kind.HALTED:
                return self.halted(row.item, steps, reading.detail)
            case _:
                return row.failed(reading.detail)

    def halted(self, item: RowResult, steps: Steps, reason: str) -> RowResult:
        """Never sent: not_attempted; sent before: failed (its outcome may need a look)."""
        row = _Outcome(item, steps)
        if steps.tally.attempts == 0:
            return row.finish(Status.NOT_ATTEMPTED, API_NOT_ATTEMPTED.issue())
        return row.failed(f"the run stopped before a retry ({reason})")

    def cut_short(self, item: RowResult, steps: Steps) -> RowResult:
        """Aborted: with a request in flight its outcome is unknown until the next run looks
        it up; between two attempts (waiting to retry) it is as if halted."""
        if not steps.tally.in_flight:
            return self.halted(item, steps, "aborted")
        detail = "aborted while a request was in flight; outcome unknown until resumed"
        return _Outcome(item, steps).failed(detail)

    def went_wrong(self, result: RowResult) -> bool:
        """Rejected and failed rows count against the canary."""
        return result.status in (Status.REJECTED, Status.FAILED)


def not_attempted(results: Sequence[RowResult]) -> list[RowResult]:
    """Every row that was going to be registered becomes `not_attempted` (nothing was sent)."""
    issue = API_NOT_ATTEMPTED.issue()
    return [
        replace(result, status=Status.NOT_ATTEMPTED, issues=(*result.issues, issue))
        if result.status is Status.WOULD_REGISTER
        else result
        for result in results
    ]


def _digits(item: RowResult) -> str:
    if item.payload is None:
        raise ValueError(f"row {item.row.number}: would_register without a payload")
    return item.normalized_phonenumber or str(item.payload["phonenumber"])


class _Outcome:
    """One row's result, made from what its tally knows."""

    def __init__(self, item: RowResult, steps: Steps) -> None:
        self.item, self.tally, self.digits = item, steps.tally, _digits(item)

    def finish(self, status: Status, issue: Issue | None = None, **changes: Any) -> RowResult:
        """The row ended `status` (`rows.finished`)."""
        return finished(self.item, self.tally, status, issue, **changes)

    def registered(self, record: dict[str, Any], *, reconciled: bool) -> RowResult:
        extra = {**self.item.extra, "reconciled": True} if reconciled else self.item.extra
        sid = record.get("external_did_sid")
        return self.finish(Status.REGISTERED, external_did_sid=sid, extra=extra)

    def rejected(self, reading: Reading) -> RowResult:
        field = reading.problem.field if reading.problem else None
        value = (self.item.payload or {}).get(field) if field else None
        issue = API_REJECTED.issue(
            field=field, value=None if value is None else str(value), detail=reading.detail
        )
        return self.finish(Status.REJECTED, issue)

    def deferred(self, reading: Reading) -> RowResult:
        issue = API_DEFERRED.issue(
            value=self.digits, wait=f"{reading.wait_floor:.0f}", detail=reading.detail
        )
        return self.finish(Status.FAILED, issue)

    def failed(self, detail: str) -> RowResult:
        issue = API_FAILED.issue(value=self.digits, attempts=self.tally.attempts, detail=detail)
        return self.finish(Status.FAILED, issue)
