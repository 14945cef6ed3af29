"""The remote-aware dry run: which valid rows' numbers this partner already holds.

`did-import validate FILE --check-remote` asks the API, read-only, about every number
that would be registered and plans each row:

- not found → stays `would_register`;
- found → `already_registered` with the existing `external_did_sid`, plus the warning
  `remote.capabilities_differ` when the existing mask is not the sheet's (capabilities
  cannot change after registration).

The lookups are the `lookup` operation (`importer.send.operations.lookup`: batches of
`BATCH_SIZE` numbers by one `in` filter, pages followed, `eq` where `in` is refused),
run on the executor like every other request: `concurrency` in flight, the rate limit,
and the one retry policy.

The list endpoint only returns the caller's own records: a number held by another
account still plans `would_register` and is refused at run time.

Nothing here can write: the client's transport is a `ReadOnlyTransport`, which raises
`WriteRefusedError` for any method but GET/HEAD/OPTIONS before it reaches the network.
401/403 (and an unreachable API) stop the check: the rows not yet looked up get the
warning `remote.not_checked`, and the caller reports the `ApiError` (exit 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import httpx

from importer.config import ApiSettings
from importer.errors import ApiError
from importer.models import Issue, IssueType, RowResult, Severity, Status
from importer.send import Executor
from importer.send.client import make_client
from importer.send.operations.lookup import BATCH_SIZE, Lookup, Records
from importer.send.transport import Outgoing, SafeAiohttpTransport

REMOTE_CAPABILITIES_DIFFER = IssueType(
    "remote.capabilities_differ",
    "+{number} is already registered ({sid}) with capabilities {existing}, not {value}",
    "capabilities cannot change after registration: delete the External DID and register "
    "it again, or make the sheet match",
    Severity.WARNING,
)

REMOTE_NOT_CHECKED = IssueType(
    "remote.not_checked",
    "the remote check stopped before this number was looked up",
    "fix the API access (see the run's message) and validate again",
    Severity.WARNING,
)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteRefusedError(RuntimeError):
    """A write request reached the read-only client: a bug, stopped before it was sent."""


class ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and refuses every request that could change anything."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass GET/HEAD/OPTIONS through; raise `WriteRefusedError` for anything else."""
        refuse_writes(request.method, request.url)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


class ReadOnlyDirect(ReadOnlyTransport):
    """The read-only guard over the default transport, on the executor's direct route too."""

    def __init__(self, inner: SafeAiohttpTransport) -> None:
        super().__init__(inner)
        self._direct = inner

    async def send_directly(self, outgoing: Outgoing, body: bytes | None) -> httpx.Response:
        """Pass GET/HEAD/OPTIONS on; raise `WriteRefusedError` for anything else."""
        refuse_writes(outgoing.method, outgoing.url)
        return await self._direct.send_directly(outgoing, body)


def refuse_writes(method: str, url: httpx.URL) -> None:
    """Raise `WriteRefusedError` for a method that could change anything."""
    if method not in READ_METHODS:
        raise WriteRefusedError(
            f"dry run: refused to send {method} {url.path}; validate never writes"
        )


def read_only_client(
    settings: ApiSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The run's usual client (`make_client`), behind a `ReadOnlyTransport`."""
    if transport is not None:
        return make_client(settings, transport=ReadOnlyTransport(transport))
    limits = httpx.Limits(max_connections=settings.concurrency)
    inner = SafeAiohttpTransport(limits=limits, total_timeout=settings.timeout)
    return make_client(settings, transport=ReadOnlyDirect(inner))


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
        existing = asyncio.run(fetch_records(numbers, settings, transport))
    except ApiError as error:
        return mark_not_checked(results), error
    return plan(results, existing), None


def plan(results: Sequence[RowResult], existing: Records) -> list[RowResult]:
    """`would_register` rows whose number exists become `already_registered` (see module doc)."""
    return [_planned(result, existing) for result in results]


def mark_not_checked(results: Sequence[RowResult]) -> list[RowResult]:
    """Every `would_register` row gets the `remote.not_checked` warning."""
    issue = REMOTE_NOT_CHECKED.issue()
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
    return REMOTE_CAPABILITIES_DIFFER.issue(
        field="capabilities",
        value=str(wanted),
        normalized=str(wanted),
        number=result.normalized_phonenumber,
        sid=record.get("external_did_sid"),
        existing=record.get("capabilities"),
    )


async def fetch_records(
    numbers: list[str], settings: ApiSettings, transport: httpx.AsyncBaseTransport | None
) -> Records:
    """Every number's record, by batches on the executor; raises the ApiError that stopped it."""
    if not numbers:
        return {}
    batches = [numbers[i : i + BATCH_SIZE] for i in range(0, len(numbers), BATCH_SIZE)]
    async with read_only_client(settings, transport=transport) as client:
        batch = await Executor(client, settings).run(Lookup(), batches)
    if batch.stopped_by is not None:
        raise batch.stopped_by
    found: Records = {}
    for part in batch.results:
        found |= part or {}
    return found
