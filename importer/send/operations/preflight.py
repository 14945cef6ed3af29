"""Preflight: one read-only request before any write, retried like every other request.

Reading is required, not only creating: a POST whose answer is lost can only be settled
by a lookup, so a token without a read scope is refused here, up front. A 429 or 5xx is
retried by the policy (a busy API is not a refusal); what still fails stops the run
before anything is written::

    401 / 403       → AuthError (a 403 says which scopes the token needs)
    a stop request  → RunStopped (exit 4: nothing was sent)
    never connected → ApiUnreachableError naming the base URL
    anything else   → ApiError, one line
"""

from __future__ import annotations

from importer.errors import ApiError, AuthError, RunStopped
from importer.send.client import EXTERNAL_DIDS, unreachable
from importer.send.executor import Executor
from importer.send.operation import AnsweredOnce
from importer.send.operations.lookup import read_page
from importer.send.reading import Kind, Reading, Request
from importer.send.steps import Steps

__all__ = ["SCOPES_HINT", "Preflight", "preflight"]

SCOPES_HINT = "the token needs phonenumber.manage, or both phonenumber.read and phonenumber.create"


async def preflight(executor: Executor) -> None:
    """Send the preflight on `executor`; raise what stops the run (see the module doc)."""
    batch = await executor.run(Preflight(), [None])
    reading = batch.results[0]
    if reading.kind is Kind.DONE:
        return
    raise _error(reading, executor, batch.stopped_by)


def _error(
    reading: Reading, executor: Executor, stopped_by: Exception | None
) -> ApiError | RunStopped:
    error = reading.error or stopped_by
    if isinstance(error, AuthError) and error.status_code == 403:
        return AuthError(f"{error}; {SCOPES_HINT}", status_code=403)
    if isinstance(error, ApiError | RunStopped):  # refused, redirected, or a stop request
        return error
    if reading.status is None:  # no HTTP answer on any attempt
        return unreachable(executor.client.base_url, reading.detail, what="preflight")
    return ApiError(f"preflight: {reading.detail}")


class Preflight(AnsweredOnce):
    """The preflight as an operation: one item, one read."""

    name = "preflight"

    async def settle(self, item: None, steps: Steps) -> Reading:
        """`GET /phonenumber/external_dids?limit=1`."""
        request = Request(method="GET", path=EXTERNAL_DIDS, params={"limit": 1}, what="preflight")
        return await steps.send(request, read_page)
