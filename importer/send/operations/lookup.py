"""Lookup: read the caller's own External DIDs by number, one or a batch at a time.

`find_number` is the single lookup the other operations reconcile with
(`GET /phonenumber/external_dids?filter=phonenumber eq "<digits>"`): a DONE reading
whose `body` is the record, or None when the number is absent; any other kind means
no usable answer came (retried first: reads are safe to repeat).

`Lookup` is the operation behind the remote check (`validate --check-remote`, and the
plan of the operations to come): its items are batches of numbers, each asked with one
`phonenumber in ("…","…")` filter, every page followed by `has_more` /
`pagination.next`. An API that refuses the `in` operator ([assumed] in
carrierx-api.md) answers 400/422 about the filter; that batch is then asked number by
number with the documented `eq`. Anything unusable stops the pass with a one-line
`ApiError` (exit 3): the rows not looked up are planned without the check.

The list endpoint only returns the caller's own records: a number held by another
account is absent here and is refused at run time.
"""

from __future__ import annotations

from typing import Any

import httpx

from importer.errors import ApiError
from importer.send.client import EXTERNAL_DIDS, unreachable
from importer.send.reading import Kind, Reading, Request, read_answer
from importer.send.steps import Steps

__all__ = [
    "BATCH_SIZE",
    "MAX_PAGES",
    "PAGE_LIMIT",
    "Lookup",
    "Records",
    "find_number",
    "next_page",
    "read_page",
]

BATCH_SIZE = 100
"""Numbers per `in` lookup: about 2.5 KB of URL, well inside the page limit."""
PAGE_LIMIT = 1000
"""The API's largest page (carrierx-api.md)."""
MAX_PAGES = 100
"""Pages one lookup follows at most."""
FILTER_REFUSED = frozenset({400, 422})

Records = dict[str, dict[str, Any]]


def read_page(response: httpx.Response, request: Request) -> Reading:
    """`read_answer`, narrowed: a page must be a JSON object with an `items` list."""
    reading = read_answer(response, request)
    if reading.kind is not Kind.DONE:
        return reading
    if reading.body is None:
        return reading.but(Kind.REFUSED, detail="the answer is not a JSON object")
    if not isinstance(reading.body.get("items"), list):
        return reading.but(Kind.REFUSED, detail="the list answer has no 'items'")
    return reading


async def find_number(steps: Steps, digits: str) -> Reading:
    """The caller's record for `digits` (E.164 without `+`) as a DONE reading's body."""
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"find_number wants E.164 digits without '+', got {digits!r}")
    request = Request(
        method="GET",
        path=EXTERNAL_DIDS,
        params={"filter": f'phonenumber eq "{digits}"', "limit": 1},
        what=f"lookup of {digits}",
        watched=False,
    )
    reading = await steps.send(request, read_page)
    if reading.kind is not Kind.DONE:
        return reading
    return reading.but(Kind.DONE, body=_records(reading, {digits}).get(digits))


class Lookup:
    """The batched lookup operation: a batch of numbers in, their records out."""

    name = "lookup"
    journaled = False
    second_pass = False

    async def settle(self, item: list[str], steps: Steps) -> Records | None:
        """The records of `item`'s numbers; None when the pass stopped first."""
        quoted = ",".join(f'"{number}"' for number in item)
        found = await self._query(f"phonenumber in ({quoted})", item, steps)
        if not isinstance(found, Reading):
            return found
        if not _about_filter(found):
            _stop(found, steps)
            return None
        records: Records = {}
        for number in item:
            one = await self._query(f'phonenumber eq "{number}"', [number], steps)
            if isinstance(one, Reading):
                _stop(one, steps)
                return None
            records |= one
        return records

    async def _query(self, text: str, numbers: list[str], steps: Steps) -> Records | Reading:
        """Every page of one filtered list call; the reading that ended it if not DONE."""
        path = EXTERNAL_DIDS
        params: dict[str, Any] | None = {"filter": text, "limit": PAGE_LIMIT}
        found: Records = {}
        for _ in range(MAX_PAGES):
            what = f"remote check of numbers from {numbers[0]}"
            request = Request(method="GET", path=path, params=params, what=what)
            reading = await steps.send(request, read_page)
            if reading.kind is not Kind.DONE:
                return reading
            found |= _records(reading, set(numbers))
            following = next_page(reading.body or {})
            if following is None:
                break
            path, params = following, None  # the next page's URL carries its query
        return found

    def halted(self, item: list[str], steps: Steps, reason: str) -> Records | None:
        """Not looked up."""
        return None

    def cut_short(self, item: list[str], steps: Steps) -> Records | None:
        """Not looked up."""
        return None

    def went_wrong(self, result: Records | None) -> bool:
        """A lookup has no canary."""
        return False


def _stop(reading: Reading, steps: Steps) -> None:
    """Stop the pass with a one-line ApiError saying why this lookup had no usable answer."""
    if reading.kind in (Kind.STOP, Kind.HALTED):
        return  # the pass is stopped already, with its own reason
    if not reading.reached:
        base = steps.run.executor.client.base_url
        error: ApiError = unreachable(base, reading.detail, what="remote check")
    elif reading.kind is Kind.REFUSED:
        error = ApiError(f"remote check: {reading.detail}")
    else:
        error = ApiError(f"remote check: no usable answer after retries ({reading.detail})")
    steps.run.stop(error)


def _about_filter(reading: Reading) -> bool:
    problem = reading.problem
    if reading.status not in FILTER_REFUSED or problem is None:
        return False
    return problem.about("filter") is not None or "filter" in (problem.message or "").lower()


def _records(reading: Reading, wanted: set[str]) -> Records:
    items = (reading.body or {}).get("items") or []
    return {
        item["phonenumber"]: item
        for item in items
        if isinstance(item, dict) and item.get("phonenumber") in wanted
    }


def next_page(page: dict[str, Any]) -> str | None:
    """The absolute URL of the page after `page`, or None: by `has_more` and
    `pagination.next`, never by `total` (which may be null)."""
    pagination = page.get("pagination")
    if not page.get("has_more") or not isinstance(pagination, dict):
        return None
    following = pagination.get("next")
    return following if isinstance(following, str) and following else None
