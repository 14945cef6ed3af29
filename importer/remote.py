"""The remote-aware dry run: which valid rows' numbers this partner already holds.

`did-import validate FILE --check-remote` asks the API, read-only, about every number
that would be registered and plans each row:

- not found → stays `would_register`;
- found → `already_registered` with the existing `external_did_sid`, plus the warning
  `remote.capabilities_differ` when the existing mask is not the sheet's (capabilities
  cannot change after registration).

Lookups are batched: `GET /phonenumber/external_dids?filter=phonenumber in ("…","…")`
with `BATCH_SIZE` numbers a request (about 2.5 KB of URL, well inside the 1,000-item
page limit), up to `ApiSettings.concurrency` in flight, following `has_more` /
`pagination.next`. An API that refuses the `in` operator ([assumed] in
carrierx-api.md) answers 400/422 about the filter; the check then looks each number up
with the documented `eq`. 429, 5xx and transport errors are retried like the uploader's.

The list endpoint only returns the caller's own records: a number held by another
account still plans `would_register` and is refused at run time.

Nothing here can write: the client's transport is a `ReadOnlyTransport`, which raises
`WriteRefusedError` for any method but GET/HEAD/OPTIONS before it reaches the network.
401/403 (and an unreachable API) stop the check: the rows not yet looked up get the
warning `remote.not_checked`, and the caller reports the `ApiError` (exit 3).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import httpx

from importer import catalogue
from importer.client import (
    AUTH_STATUSES,
    EXTERNAL_DIDS,
    auth_refused,
    make_client,
    parse_problem,
    retry_after,
    unreachable,
)
from importer.config import ApiSettings
from importer.errors import ApiError, ApiUnreachableError
from importer.models import Issue, RowResult, Status
from importer.uploader import backoff_delay

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BATCH_SIZE = 100
PAGE_LIMIT = 1000
MAX_PAGES = 100
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
FILTER_REFUSED = frozenset({400, 422})

Records = dict[str, dict[str, Any]]


class WriteRefusedError(RuntimeError):
    """A write request reached the read-only client: a bug, stopped before it was sent."""


class ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and refuses every request that could change anything."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass GET/HEAD/OPTIONS through; raise `WriteRefusedError` for anything else."""
        if request.method not in READ_METHODS:
            raise WriteRefusedError(
                f"dry run: refused to send {request.method} {request.url.path}; "
                "validate never writes"
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


def read_only_client(
    settings: ApiSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The run's usual client (`make_client`), behind a `ReadOnlyTransport`."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=settings.concurrency)
    )
    return make_client(settings, transport=ReadOnlyTransport(inner))


def check_remote(
    results: Sequence[RowResult],
    settings: ApiSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[list[RowResult], ApiError | None]:
    """Plan every `would_register` row against the API; the `ApiError` that stopped it, if any.

    Raises `ConfigError` when there is no token (nothing is sent).
    """
    settings.require_token("--check-remote")
    numbers = list(dict.fromkeys(_wanted(results)))
    try:
        existing = asyncio.run(_lookup_all(numbers, settings, transport))
    except ApiError as error:
        return mark_not_checked(results), error
    return plan(results, existing), None


def plan(results: Sequence[RowResult], existing: Records) -> list[RowResult]:
    """`would_register` rows whose number exists become `already_registered` (see module doc)."""
    return [_planned(result, existing) for result in results]


def mark_not_checked(results: Sequence[RowResult]) -> list[RowResult]:
    """Every `would_register` row gets the `remote.not_checked` warning."""
    issue = catalogue.REMOTE_NOT_CHECKED.issue()
    return [
        replace(result, issues=(*result.issues, issue))
        if result.status is Status.WOULD_REGISTER
        else result
        for result in results
    ]


def _wanted(results: Iterable[RowResult]) -> Iterable[str]:
    for result in results:
        if result.status is Status.WOULD_REGISTER and result.normalized_phonenumber:
            yield result.normalized_phonenumber


def _planned(result: RowResult, existing: Records) -> RowResult:
    record = existing.get(result.normalized_phonenumber or "")
    if result.status is not Status.WOULD_REGISTER or record is None:
        return result
    wanted = (result.payload or {}).get("capabilities")
    issues = result.issues
    if record.get("capabilities") != wanted:
        issues = (*issues, _differ(result, record, wanted))
    return replace(
        result,
        status=Status.ALREADY_REGISTERED,
        external_did_sid=record.get("external_did_sid"),
        issues=issues,
    )


def _differ(result: RowResult, record: dict[str, Any], wanted: object) -> Issue:
    return catalogue.REMOTE_CAPABILITIES_DIFFER.issue(
        field="capabilities",
        value=str(wanted),
        normalized=str(wanted),
        number=result.normalized_phonenumber,
        sid=record.get("external_did_sid"),
        existing=record.get("capabilities"),
    )


async def _lookup_all(
    numbers: list[str], settings: ApiSettings, transport: httpx.AsyncBaseTransport | None
) -> Records:
    if not numbers:
        return {}
    batches = [numbers[i : i + BATCH_SIZE] for i in range(0, len(numbers), BATCH_SIZE)]
    async with read_only_client(settings, transport=transport) as client:
        lookup = _Lookup(client, settings)
        try:
            found = await lookup.batch(batches[0])
        except _InRefused:
            return await lookup.each(numbers)
        for part in await lookup.gather(lookup.batch, batches[1:]):
            found.update(part)
        return found


class _InRefused(Exception):
    """The API does not understand `phonenumber in (...)`."""


class _Lookup:
    """Read-only lookups on one client, bounded and retried."""

    def __init__(self, client: httpx.AsyncClient, settings: ApiSettings) -> None:
        self._client = client
        self._settings = settings
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._rng = random.Random()

    async def gather(self, job: Any, items: Sequence[Any]) -> list[Records]:
        """Run `job` on every item, at most `concurrency` at once."""

        async def bounded(item: Any) -> Records:
            async with self._slots:
                result: Records = await job(item)
                return result

        return list(await asyncio.gather(*(bounded(item) for item in items)))

    async def batch(self, numbers: list[str]) -> Records:
        """The caller's records among `numbers`, by one `in` filter."""
        quoted = ",".join(f'"{number}"' for number in numbers)
        return await self._query(f"phonenumber in ({quoted})", numbers)

    async def each(self, numbers: list[str]) -> Records:
        """Per-number `eq` lookups (documented), for an API without the `in` operator."""

        async def one(number: str) -> Records:
            try:
                return await self._query(f'phonenumber eq "{number}"', [number])
            except _InRefused:
                raise ApiError("remote check: the API refuses the phonenumber filter") from None

        found: Records = {}
        for part in await self.gather(one, numbers):
            found.update(part)
        return found

    async def _query(self, filter_text: str, numbers: list[str]) -> Records:
        """Every page of one filtered list call, keeping the records of `numbers`."""
        url: str | None = EXTERNAL_DIDS
        params: dict[str, Any] | None = {"filter": filter_text, "limit": PAGE_LIMIT}
        found: Records = {}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page = await self._page(url, params, numbers[0])
            found.update(_records(page.get("items"), set(numbers)))
            url, params = _next_page(page), None
        return found

    async def _page(self, url: str, params: dict[str, Any] | None, first: str) -> dict[str, Any]:
        what = f"remote check of numbers from {first}"
        response = await self._retrying(lambda: self._send(url, params, what))
        if response.status_code in FILTER_REFUSED and _about_filter(response):
            raise _InRefused
        if response.status_code in AUTH_STATUSES:
            raise auth_refused(parse_problem(response), what=what)
        if response.status_code != 200:
            raise ApiError(f"{what}: {parse_problem(response).detail}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(f"{what}: the answer is not a JSON object")
        return body

    async def _send(self, url: str, params: dict[str, Any] | None, what: str) -> httpx.Response:
        try:
            response = await self._client.get(url, params=params)
        except httpx.TransportError as error:
            raise unreachable(self._client, error, what=what) from None
        if response.status_code in RETRY_STATUSES:
            raise _Retry(response)
        return response

    async def _retrying(self, call: Any) -> Any:
        """Await `call()`; on 429/5xx or a transport error wait and try again, up to the limit."""
        settings = self._settings
        for attempt in range(1, settings.max_attempts + 1):
            try:
                return await call()
            except (_Retry, ApiError) as error:
                if attempt == settings.max_attempts or not _retryable(error):
                    raise _final(error) from None
                floor = error.wait_floor if isinstance(error, _Retry) else 0.0
                delay = backoff_delay(
                    attempt, base=settings.backoff_base, cap=settings.backoff_max, rng=self._rng
                )
                await asyncio.sleep(max(floor, delay))
        raise AssertionError("unreachable")  # pragma: no cover


class _Retry(Exception):
    """A transient answer (429, 5xx): try again after `wait_floor` seconds at least."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
        self.wait_floor = retry_after(response) or 0.0


def _retryable(error: Exception) -> bool:
    return isinstance(error, _Retry | ApiUnreachableError)


def _final(error: Exception) -> ApiError:
    if isinstance(error, _Retry):
        detail = parse_problem(error.response).detail
        return ApiError(f"remote check: no usable answer after retries ({detail})")
    assert isinstance(error, ApiError)
    return error


def _about_filter(response: httpx.Response) -> bool:
    problem = parse_problem(response)
    return problem.about("filter") is not None or "filter" in (problem.message or "").lower()


def _records(items: object, wanted: set[str]) -> Records:
    if not isinstance(items, list):
        raise ApiError("remote check: the list answer has no 'items'")
    return {
        item["phonenumber"]: item
        for item in items
        if isinstance(item, dict) and item.get("phonenumber") in wanted
    }


def _next_page(page: dict[str, Any]) -> str | None:
    pagination = page.get("pagination")
    if not page.get("has_more") or not isinstance(pagination, dict):
        return None
    following = pagination.get("next")
    return following if isinstance(following, str) and following else None
