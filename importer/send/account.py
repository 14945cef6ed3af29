"""The read-only half of `plan`, `apply` and `delete`: the account's records, planned.

Without `--prune` the valid rows' numbers are looked up in batches (the remote check's
`lookup` operation: `BATCH_SIZE` numbers a request, pages followed); with it the whole
account is listed page by page (`listing`), which also gives the numbers the sheet does
not hold. Either way through a read-only client, on the one executor and retry policy.
The rules of what each row becomes are `importer.plan.planning`'s.

A number is held by the sheet, for `--prune`, when any row reads as it (valid or not):
a row that is invalid for another reason never gets its number deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError
from importer.models import RowResult, Status
from importer.plan.planning import PlanOptions, plan_deletes, plan_rows, pruned_rows
from importer.send.operations.listing import list_account
from importer.send.remote import fetch_records, mark_not_checked
from importer.signals import StopSwitch

__all__ = ["AccountListing", "plan_account"]

Record = dict[str, Any]


def plan_account(
    results: Sequence[RowResult],
    mapped: Collection[str],
    settings: ApiSettings,
    options: PlanOptions,
    *,
    deletes: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    listing: AccountListing | None = None,
) -> tuple[list[RowResult], ApiError | None]:
    """Every valid row planned (`deletes`: for `delete FILE`); the error that stopped it.

    With `--prune`, `listing` is the account already being listed (else it is listed now).
    Stopped, every valid row keeps `would_register` with `remote.not_checked`.
    """
    settings.require_token("plan")
    try:
        records, account = _records(results, settings, options, transport, listing)
    except ApiError as error:
        return mark_not_checked(results), error
    if deletes:
        return plan_deletes(results, records), None
    planned = plan_rows(results, records, mapped, options)
    if account is not None:
        held = {r.normalized_phonenumber for r in results if r.normalized_phonenumber}
        planned += pruned_rows(account, held)
    return planned, None


def _records(
    results: Sequence[RowResult],
    settings: ApiSettings,
    options: PlanOptions,
    transport: httpx.AsyncBaseTransport | None,
    listing: AccountListing | None,
) -> tuple[dict[str, Record], list[Record] | None]:
    """The records by number, and with `--prune` the whole account as listed."""
    if options.prune:
        account = listing.records() if listing else list_account(settings, transport=transport)
        return {str(record.get("phonenumber")): record for record in account}, account
    numbers = [
        result.normalized_phonenumber
        for result in results
        if result.status is Status.WOULD_REGISTER and result.normalized_phonenumber
    ]
    return asyncio.run(fetch_records(list(dict.fromkeys(numbers)), settings, transport)), None


class AccountListing:
    """`--prune`: the whole account listed in a thread while the caller reads its file
    (neither waits for the other); `close` stops a listing no longer wanted."""

    def __init__(
        self, settings: ApiSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._stop = StopSwitch()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listing")
        self._future = self._pool.submit(
            list_account, settings, transport=transport, stop=self._stop
        )

    def records(self) -> list[Record]:
        """Every record of the account, once listed; raises the listing's `ApiError`."""
        return self._future.result()

    def close(self) -> None:
        """Stop the listing if it still runs, and wait for its thread."""
        if not self._future.done():
            self._stop.request("the listing is no longer needed")
        self._pool.shutdown(wait=True)
