"""Enable messaging (`--enable-messaging a2p|p2p`): billed monthly per number, so only when asked.

Takes: registered, already-registered and replaced rows with a sid (a replace loses
the old record's enablement; `apply --enable-messaging` enables it again). Sends
`POST /phonenumber/external_dids/{sid}/messaging` with `enabled`, `type` and
`campaign_sid`; the change is a state to reach, so it is safe to send again (no
reconcile needed). Reads the answer (`read_enablement`)::

    200                 → the enablement object: `enabled`, or `in_progress` (read on)
    409 "in progress"   → a change is under way (perhaps our own lost one): read on
    other 4xx           → permanent (a bad campaign, a number that cannot): never retried
    429, 5xx, transport → retried by the policy

While the status is `in_progress`, the state is read back with
`GET …/{sid}/messaging`, every `POLL_SECONDS` (growing), at most `POLLS` times, until
it is final (`enabled`, `disabled`, `failed`). `extra["messaging"]` holds the last
state; a row whose messaging did not end `enabled` gets a warning saying what it ended
as (`api.messaging_failed`, or `api.messaging_pending` when it was still in progress).
A 401/403 stops this step, not the run: the rows not done yet get the warning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from importer.config import ApiSettings
from importer.models import IssueType, RowResult, Severity, Status
from importer.send.client import EXTERNAL_DIDS
from importer.send.operations.rows import warn
from importer.send.reading import Kind, Reading, Request, read_answer
from importer.send.steps import Steps

__all__ = ["POLLS", "POLL_SECONDS", "EnableMessaging", "read_enablement"]

API_MESSAGING_FAILED = IssueType(
    "api.messaging_failed",
    "registered, but enabling {kind} messaging failed: {detail}",
    "run the same file again with --enable-messaging; registered rows are not sent twice",
    Severity.WARNING,
)

API_MESSAGING_PENDING = IssueType(
    "api.messaging_pending",
    "registered; {kind} messaging was still in progress when the run ended",
    "check the number's messaging in the CarrierX portal, or run the same file again with "
    "--enable-messaging to read its state",
    Severity.WARNING,
)

POLLS = 8
"""How many times an `in_progress` enablement is read back before the row is left pending."""
POLL_SECONDS = 1.0
"""The first wait before reading it back; each later wait is 1.5 times the one before."""
IN_PROGRESS = "in_progress"
_TAKES = frozenset({Status.REGISTERED, Status.ALREADY_REGISTERED, Status.REPLACED})


def read_enablement(response: httpx.Response, request: Request) -> Reading:
    """`read_answer`, narrowed: a 409 means a change is in progress (DONE, read on)."""
    reading = read_answer(response, request)
    if reading.status == 409:
        return reading.but(Kind.DONE, body={"status": IN_PROGRESS})
    return reading


class EnableMessaging:
    """The messaging operation (see the module doc)."""

    name = "messaging"
    journaled = False
    second_pass = True

    def __init__(self, settings: ApiSettings) -> None:
        self.kind = settings.enable_messaging
        self.body = {"enabled": True, "type": self.kind, "campaign_sid": settings.campaign_sid}

    def takes(self, result: RowResult) -> bool:
        """Registered, already-registered and replaced rows with a sid."""
        return result.status in _TAKES and bool(result.external_did_sid)

    async def settle(self, item: RowResult, steps: Steps) -> RowResult:
        """Ask for the enablement, then read it back until it is final."""
        path = f"{EXTERNAL_DIDS}/{item.external_did_sid}/messaging"
        what = f"messaging of {item.external_did_sid}"
        post = Request(method="POST", path=path, json=self.body, what=what)
        reading = await steps.send(post, read_enablement)
        wait = POLL_SECONDS
        for _ in range(POLLS):
            if reading.kind is not Kind.DONE or _state(reading) != IN_PROGRESS:
                break
            await steps.pause(wait, what=what)
            reading = await steps.send(Request(method="GET", path=path, what=what))
            wait *= 1.5
        if reading.kind is not Kind.DONE:
            return self.halted(item, steps, reading.detail)
        return self._ended(item, _state(reading))

    def _ended(self, item: RowResult, state: str) -> RowResult:
        done = replace(item, extra={**item.extra, "messaging": state})
        if state == "enabled":
            return done
        if state == IN_PROGRESS:
            return warn(done, API_MESSAGING_PENDING.issue(kind=self.kind))
        detail = f"CarrierX ended it '{state}'"
        return warn(done, API_MESSAGING_FAILED.issue(kind=self.kind, detail=detail))

    def halted(self, item: RowResult, steps: Steps, reason: str) -> RowResult:
        """Not enabled: a warning says why."""
        issue = API_MESSAGING_FAILED.issue(kind=self.kind, detail=reason)
        return warn(item, issue)

    def cut_short(self, item: RowResult, steps: Steps) -> RowResult:
        """Aborted: its enablement may or may not have started."""
        return self.halted(item, steps, "aborted; run the same file again to finish it")

    def went_wrong(self, result: RowResult) -> bool:
        """Messaging has no canary."""
        return False


def _state(reading: Reading) -> str:
    body: dict[str, Any] = reading.body or {}
    return str(body.get("status") or "unknown")
