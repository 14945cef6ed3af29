"""Listing: every External DID of the account, page by page, read-only.

`GET /phonenumber/external_dids?limit=1000`, then each page's `pagination.next` while
`has_more` says there is more: never by `total`, which may be null (carrierx-api.md).
Pages are sequential (each next URL comes from the page before), and each goes through
`steps.send` with the one retry policy: a 429 (after its `Retry-After`), a 5xx or a cut
connection sends the same page again, since a read is safe to repeat. Each page is
handed to `on_page` as it arrives, so a caller can stream records to a file and show
progress. What still fails stops the listing with the run-stopping error::

    401 / 403                  → AuthError          (exit 3)
    a redirect, a refusal      → ApiError           (exit 3)
    never connected            → ApiUnreachableError (exit 3)
    out of attempts            → ApiError           (exit 3)
    a Retry-After > max_wait   → ApiError           (exit 3)
    a stop request             → RunStopped         (exit 4)

A `pagination.next` that leaves the API's origin (the token would follow it) or that
comes round again is refused. `list_account` is the synchronous entry point (its own
read-only client); `list_records` runs the listing on an executor a caller already
holds (the plan's `--prune`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError, ImporterError, RunStopped
from importer.send.client import EXTERNAL_DIDS, unreachable
from importer.send.executor import Executor
from importer.send.operation import AnsweredOnce
from importer.send.operations.lookup import PAGE_LIMIT, next_page, read_page
from importer.send.reading import Kind, Reading, Request
from importer.send.remote import read_only_client
from importer.send.steps import Steps
from importer.signals import StopSwitch

__all__ = ["Listing", "OnPage", "Page", "Record", "list_account", "list_records"]

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the account, as it arrived."""

    items: list[Record]
    """This page's records, in the API's order."""
    number: int
    """1 for the first page."""
    seen: int
    """Records listed so far, this page's included."""
    total: int | None
    """The API's count of the whole account, when it gives one (it may be null)."""


OnPage = Callable[[Page], None]


class Listing(AnsweredOnce):
    """The listing as an operation: one item (the account), its pages followed in turn.

    The records are kept in `records` (and each page is given to `on_page`); the
    result is the last page's reading, DONE when every page was read.
    """

    name = "listing"

    def __init__(self, on_page: OnPage | None = None, *, keep: bool = True) -> None:
        self.on_page = on_page
        self.keep = keep
        self.records: list[Record] = []
        self.seen = 0

    async def settle(self, item: None, steps: Steps) -> Reading:
        """Read every page: the first by `limit`, the others by their `pagination.next`."""
        path: str = EXTERNAL_DIDS
        params: dict[str, Any] | None = {"limit": PAGE_LIMIT}
        origin = steps.run.executor.url(EXTERNAL_DIDS)
        visited: set[str] = set()
        number = 0
        while True:
            number += 1
            what = f"listing page {number}"
            request = Request(method="GET", path=path, params=params, what=what)
            reading = await steps.send(request, read_page)
            if reading.kind is not Kind.DONE:
                return reading
            self._take(reading.body or {}, number)
            following = next_page(reading.body or {})
            if following is None:
                return reading
            refusal = _refused_next(following, origin, visited)
            if refusal is not None:
                return reading.but(Kind.REFUSED, detail=f"{what}: {refusal}")
            visited.add(following)
            path, params = following, None  # the next page's URL carries its query

    def _take(self, body: dict[str, Any], number: int) -> None:
        items = [item for item in body.get("items") or [] if isinstance(item, dict)]
        self.seen += len(items)
        if self.keep:
            self.records.extend(items)
        if self.on_page is not None:
            total = body.get("total")
            known = total if isinstance(total, int) and not isinstance(total, bool) else None
            self.on_page(Page(items=items, number=number, seen=self.seen, total=known))


def list_account(
    settings: ApiSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_page: OnPage | None = None,
    stop: StopSwitch | None = None,
    keep: bool = True,
) -> list[Record]:
    """Every External DID of the account, in the API's order (see the module doc).

    Read-only (a `ReadOnlyTransport` client). `on_page` sees each page as it arrives;
    with `keep=False` the records are only streamed to it and the list comes back
    empty. Raises `ConfigError` without a token (nothing sent), `ApiError` (exit 3)
    when the API refuses us or cannot be reached, `RunStopped` (exit 4) on `stop`.
    """
    settings.require_token("listing the account")
    return asyncio.run(_list(settings, transport, on_page, stop, keep))


async def list_records(
    executor: Executor, *, on_page: OnPage | None = None, keep: bool = True
) -> list[Record]:
    """`list_account` on an executor the caller holds (its client, rate, policy, stop)."""
    listing = Listing(on_page, keep=keep)
    batch = await executor.run(listing, [None])
    reading = batch.results[0]
    if reading.kind is not Kind.DONE:
        raise listing_error(reading, str(executor.client.base_url), batch.stopped_by)
    return listing.records


def listing_error(reading: Reading, base: str, stopped_by: Exception | None) -> ImporterError:
    """The run-stopping error for a listing that ended with `reading`."""
    error = reading.error or stopped_by
    if isinstance(error, ApiError | RunStopped):  # refused us, redirected, or a stop request
        return error
    if not reading.reached:
        return unreachable(base, reading.detail, what="listing the account")
    if reading.kind is Kind.REFUSED:
        return ApiError(f"listing the account: {reading.detail}")
    if reading.kind is Kind.DEFERRED:
        return ApiError(
            f"listing the account: the API asked to wait {reading.wait_floor:.0f} s, longer"
            f" than --max-wait; try again later ({reading.detail})"
        )
    return ApiError(f"listing the account: no usable answer after retries ({reading.detail})")


async def _list(
    settings: ApiSettings,
    transport: httpx.AsyncBaseTransport | None,
    on_page: OnPage | None,
    stop: StopSwitch | None,
    keep: bool,
) -> list[Record]:
    async with read_only_client(settings, transport=transport) as client:
        executor = Executor(client, settings, stop=stop)
        return await list_records(executor, on_page=on_page, keep=keep)


def _refused_next(following: str, origin: httpx.URL, visited: set[str]) -> str | None:
    """Why the next page's URL is not followed, or None."""
    try:
        url = httpx.URL(following)
    except httpx.InvalidURL:
        return f"pagination.next is not a URL ({following!r})"
    if not url.is_absolute_url:
        return f"pagination.next is not an absolute URL ({following!r})"
    if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
        return f"pagination.next leaves the API ({url.scheme}://{url.host}); not followed"
    if following in visited:
        return f"pagination.next comes round again ({following}); the listing would not end"
    return None
