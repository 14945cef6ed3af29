"""What the operations that change a planned record share (`update`, `replace`, `delete`).

Their items are rows a plan filled (`RowResult.planned`): the account's record as it
was when planned (`planned.record`, its `external_did_sid`) and what to send
(`planned.body`). `ChangeOperation` holds the rules they have in common: the tally
(journaled by sheet row; rows an unfinished run may have sent are reconciled first,
with the step the journal holds), what a row becomes when the run stops first, and the
canary. `Outcome` makes a row's result from what its tally knows; `not_sent` marks
every planned write of a stopped run `not_attempted`. The codes every change shares
are declared here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from importer.errors import AuthError
from importer.models import PLANNED_WRITES, Issue, IssueType, Planned, RowResult, Status
from importer.send.client import EXTERNAL_DIDS
from importer.send.operations.rows import finished
from importer.send.reading import Kind, Reading
from importer.send.steps import Steps, Tally

__all__ = [
    "ChangeOperation",
    "Outcome",
    "digits_of",
    "lookup_failed",
    "not_sent",
    "plan_of",
    "record_path",
    "sid_of",
]

APPLY_REJECTED = IssueType(
    "apply.rejected",
    "the API refused the {action}: {detail}",
    "fix the cell named in the message, then plan and apply again",
)
APPLY_GONE = IssueType(
    "apply.gone",
    "the record {value} planned for this row is no longer in the account ({detail})",
    "plan again: the account changed since the plan",
)
APPLY_FAILED = IssueType(
    "apply.failed",
    "no answer to the {action} after {attempts} attempt(s): {detail}",
    "apply the same file again later: what was done is looked up first, never sent twice",
)
APPLY_DEFERRED = IssueType(
    "apply.deferred",
    "the API asked to wait {wait} s before the {action}, longer than --max-wait ({detail})",
    "apply the same file again later: this row is sent then",
)
APPLY_NOT_ATTEMPTED = IssueType(
    "apply.not_attempted",
    "the run stopped before this row's {action} was sent",
    "apply the same file again to send it",
)
APPLY_AUTH_REFUSED = IssueType(
    "apply.auth_refused",
    "the API refused our credentials for the {action} ({detail}); the run stopped",
    "check the token and its phonenumber.manage scope (or phonenumber.update and "
    "phonenumber.delete), then apply again",
)

ACTIONS: Mapping[Status, str] = {
    Status.WOULD_REGISTER: "registration",
    Status.WOULD_UPDATE: "update",
    Status.WOULD_REPLACE: "replace",
    Status.WOULD_DELETE: "delete",
}


def digits_of(item: RowResult) -> str:
    """The row's number (E.164 digits): normalized, else its planned record's."""
    record = item.planned.record if item.planned is not None else None
    number = item.normalized_phonenumber or (record or {}).get("phonenumber")
    if not number:
        raise ValueError(f"row {item.row.number}: a planned change without a number")
    return str(number)


def plan_of(item: RowResult) -> Planned:
    """The row's plan (ValueError for a row a plan did not fill)."""
    if item.planned is None:
        raise ValueError(f"row {item.row.number}: {item.status} without a plan")
    return item.planned


def sid_of(item: RowResult) -> str:
    """The planned record's sid (ValueError without one)."""
    sid = plan_of(item).sid
    if sid is None:
        raise ValueError(f"row {item.row.number}: {item.status} without a planned record")
    return sid


def lookup_failed(found: Reading) -> Reading:
    """A lookup that reconciled nothing: the outcome stays unknown (the row fails rather
    than guess)."""
    why = "the run stopped" if found.kind is Kind.HALTED else "lookup"
    return found.but(Kind.UNKNOWN, detail=f"outcome unknown; {why}: {found.detail}")


def record_path(sid: str) -> str:
    """`/phonenumber/external_dids/{sid}`."""
    return f"{EXTERNAL_DIDS}/{sid}"


class Outcome:
    """One row's result, made from what its tally knows."""

    def __init__(self, item: RowResult, steps: Steps, action: str) -> None:
        self.item, self.tally, self.action = item, steps.tally, action
        self.digits = digits_of(item)

    def finish(self, status: Status, issue: Issue | None = None, **changes: Any) -> RowResult:
        """The row ended `status` (`rows.finished`)."""
        return finished(self.item, self.tally, status, issue, **changes)

    def done(
        self, status: Status, *, reconciled: bool, sid: str | None = None, **extra: object
    ) -> RowResult:
        """Ended well, with `sid` (default: the planned record's); `extra` (and
        `reconciled`) added to the row's extra."""
        more = {**extra, "reconciled": True} if reconciled else extra
        planned = self.item.planned.sid if self.item.planned else None
        fields: dict[str, Any] = {"external_did_sid": sid or planned}
        if more:
            fields["extra"] = {**self.item.extra, **more}
        return self.finish(status, **fields)

    def settled(self, reading: Reading) -> RowResult | None:
        """The row for a reading that did not get the change done (None for DONE)."""
        match reading.kind:
            case Kind.DONE:
                return None
            case Kind.REFUSED if reading.status == 404:
                return self.gone(reading.detail)
            case Kind.REFUSED:
                return self.rejected(reading)
            case Kind.STOP if isinstance(reading.error, AuthError):
                issue = APPLY_AUTH_REFUSED.issue(action=self.action, detail=reading.detail)
                return self.finish(Status.FAILED, issue)
            case Kind.DEFERRED:
                wait = f"{reading.wait_floor:.0f}"
                issue = APPLY_DEFERRED.issue(action=self.action, wait=wait, detail=reading.detail)
                return self.finish(Status.FAILED, issue)
            case _:
                return self.failed(reading.detail)

    def rejected(self, reading: Reading) -> RowResult:
        """Refused for good: the API's field and message."""
        field = reading.problem.field if reading.problem else None
        issue = APPLY_REJECTED.issue(field=field, action=self.action, detail=reading.detail)
        return self.finish(Status.REJECTED, issue)

    def gone(self, detail: str) -> RowResult:
        """The planned record is no longer there: plan again."""
        sid = self.item.planned.sid if self.item.planned else None
        return self.finish(Status.FAILED, APPLY_GONE.issue(value=sid, detail=detail))

    def failed(self, detail: str) -> RowResult:
        """No final answer."""
        issue = APPLY_FAILED.issue(
            value=self.digits, action=self.action, attempts=self.tally.attempts, detail=detail
        )
        return self.finish(Status.FAILED, issue)


class ChangeOperation:
    """The rules update, replace and delete share (see the module doc)."""

    name = "change"
    action = "change"
    journaled = True
    second_pass = True
    status = Status.WOULD_UPDATE
    needs_sid = True

    def takes(self, result: RowResult) -> bool:
        """The rows planned for this operation."""
        return result.status is self.status

    def tally(self, item: RowResult, reconcile: Collection[int], steps: Mapping[int, str]) -> Tally:
        """Journaled by sheet row; rows an unfinished run may have sent are looked up first.

        Raises ValueError for a row without a plan or a number, before anything is sent.
        """
        if self.needs_sid:
            sid_of(item)
        plan_of(item)
        digits_of(item)
        number = item.row.number
        return Tally(journal_row=number, maybe_done=number in reconcile, step=steps.get(number))

    def outcome(self, item: RowResult, steps: Steps) -> Outcome:
        """The row's result maker."""
        return Outcome(item, steps, self.action)

    def unless_done(self, item: RowResult, steps: Steps, reading: Reading) -> RowResult | None:
        """The row for a reading that did not get the change done; None for DONE."""
        if reading.kind is Kind.HALTED:
            return self.halted(item, steps, reading.detail)
        return self.outcome(item, steps).settled(reading)

    def halted(self, item: RowResult, steps: Steps, reason: str) -> RowResult:
        """Never sent: not_attempted; sent before: failed (its outcome may need a look)."""
        row = self.outcome(item, steps)
        if steps.tally.attempts == 0:
            return row.finish(Status.NOT_ATTEMPTED, APPLY_NOT_ATTEMPTED.issue(action=self.action))
        return row.failed(f"the run stopped before a retry ({reason})")

    def cut_short(self, item: RowResult, steps: Steps) -> RowResult:
        """Aborted: with a request in flight its outcome is unknown until the next run looks
        it up; between two attempts it is as if halted."""
        if not steps.tally.in_flight:
            return self.halted(item, steps, "aborted")
        detail = "aborted while a request was in flight; outcome unknown until resumed"
        return self.outcome(item, steps).failed(detail)

    def went_wrong(self, result: RowResult) -> bool:
        """Rejected and failed rows count against the canary."""
        return result.status in (Status.REJECTED, Status.FAILED)


def not_sent(results: Sequence[RowResult]) -> list[RowResult]:
    """Every planned write (register, update, replace, delete) becomes `not_attempted`."""
    return [
        replace(
            result,
            status=Status.NOT_ATTEMPTED,
            issues=(*result.issues, APPLY_NOT_ATTEMPTED.issue(action=ACTIONS[result.status])),
        )
        if result.status in PLANNED_WRITES
        else result
        for result in results
    ]
