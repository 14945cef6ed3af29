"""Verify (`--verify`): read back each record registered in this run.

Takes: rows registered (or replaced: registered again) in this run (not those whose
outcome came from the journal), with a sid. Sends `GET /phonenumber/external_dids/{sid}`;
reads are safe to repeat, so every transient answer is simply retried. Flags
`api.verify_mismatch` (a warning) when `active_capabilities` differs from `capabilities`
(CarrierX documents them equal right after registration), and `api.verify_failed` when
the record could not be read; the row's status never changes here. A 401/403 stops
this step, not the run: the rows not read yet get `api.verify_failed` naming the refusal.
"""

from __future__ import annotations

from dataclasses import replace

from importer.models import IssueType, RowResult, Severity, Status
from importer.send.client import EXTERNAL_DIDS
from importer.send.operations.rows import warn
from importer.send.reading import Kind, Request
from importer.send.steps import Steps

__all__ = ["Verify"]


API_VERIFY_MISMATCH = IssueType(
    "api.verify_mismatch",
    "registered, but active_capabilities is {active} while capabilities is {wanted}",
    "check the number's messaging enablement in the CarrierX portal",
    Severity.WARNING,
)

API_VERIFY_FAILED = IssueType(
    "api.verify_failed",
    "registered, but reading the record back failed: {detail}",
    "run again with --verify later, or check the number in the CarrierX portal",
    Severity.WARNING,
)


_TAKES = frozenset({Status.REGISTERED, Status.REPLACED})


class Verify:
    """The verify operation (see the module doc)."""

    name = "verify"
    journaled = False
    second_pass = False

    def takes(self, result: RowResult) -> bool:
        """Rows registered (or replaced) now, with a sid."""
        fresh = not result.extra.get("from_journal")
        return result.status in _TAKES and fresh and bool(result.external_did_sid)

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Read the record; compare its active and registered capabilities."""
        sid = item.external_did_sid
        request = Request(method="GET", path=f"{EXTERNAL_DIDS}/{sid}", what=f"reading {sid}")
        reading = await steps.send(request)
        if reading.kind is not Kind.DONE or reading.body is None:
            return self.halted(item, steps, reading.detail)
        active, wanted = reading.body.get("active_capabilities"), reading.body.get("capabilities")
        checked = replace(item, extra={**item.extra, "verified": active == wanted})
        if active == wanted:
            return checked
        return warn(checked, API_VERIFY_MISMATCH.issue(active=active, wanted=wanted))

    def halted(self, item: RowResult, steps: Steps, reason: str) -> RowResult:
        """Not read back: a warning says why."""
        return warn(item, API_VERIFY_FAILED.issue(detail=reason))

    def cut_short(self, item: RowResult, steps: Steps) -> RowResult:
        """Aborted: not read back."""
        return self.halted(item, steps, "aborted")

    def went_wrong(self, result: RowResult) -> bool:
        """Verification has no canary."""
        return False
