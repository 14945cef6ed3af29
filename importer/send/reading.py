"""How one answer is read: every request of every operation ends as a `Reading`.

An operation sends a `Request` and reads the answer into one of six kinds; the
executor (`importer.send.executor`) and the retry policy act on the kind alone::

    DONE       2xx: the request did what it asked
    REFUSED    other 4xx: permanent for this row; never sent again
    RETRY      408, 409, 429, or nothing left the client: safe to send again
    UNKNOWN    5xx, a timeout or a cut connection after sending: it may have happened,
               so a write is reconciled (the record read back) before it is sent again
    STOP       401/403 or a redirect: the run stops (`error` says why, exit 3)
    HALTED     the run had already stopped: nothing was sent
    DEFERRED   the API asked for a longer wait than the run sits through (`--max-wait`):
               left for the next run

`read_answer` is the generic reading every operation starts from; an operation narrows
it (register reads "already registered" out of a 422, for example).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from enum import Enum, auto
from typing import Any

import aiohttp
import httpx

from importer.errors import ApiError, ApiUnreachableError, ImporterError
from importer.send.client import (
    AUTH_STATUSES,
    ApiProblem,
    auth_refused,
    json_object,
    one_line,
    parse_problem,
    retry_after,
)

__all__ = [
    "NOT_SENT_ERRORS",
    "RETRY_STATUSES",
    "Kind",
    "Reading",
    "Request",
    "read_answer",
    "read_transport_error",
]

RETRY_STATUSES = frozenset({408, 409, 429})
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
SAID_IN_WORDS = (httpx.ConnectError, httpx.ConnectTimeout)
"""Their text says why in words (`connection refused`: `importer.send.transport`), so a
detail is that text alone, not the exception's name first."""
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class Kind(Enum):
    """What an answer means for the request that got it (see the module doc)."""

    DONE = auto()
    REFUSED = auto()
    RETRY = auto()
    UNKNOWN = auto()
    STOP = auto()
    HALTED = auto()
    DEFERRED = auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One request an operation sends: method, path under the base URL, body, query.

    `watched` requests feed the circuit breaker (the reconciling lookups do not:
    they answer for a request that was already counted).
    """

    method: str
    path: str
    what: str
    json: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    params: dict[str, Any] | None = None
    watched: bool = True

    @property
    def writes(self) -> bool:
        """True for a request that may change the account (journaled before it leaves)."""
        return self.method in WRITE_METHODS


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One answer, read: its kind, a one-line detail, and what came with it."""

    kind: Kind
    detail: str
    status: int | None = None
    body: dict[str, Any] | None = None
    problem: ApiProblem | None = None
    wait_floor: float = 0.0
    reached: bool = True
    reconciled: bool = False
    """The answer came from reading the record back after an unknown outcome."""
    error: ImporterError | None = field(default=None, compare=False)

    def but(self, kind: Kind, **changes: Any) -> Reading:
        """The same answer read as another kind."""
        return replace(self, kind=kind, **changes)


def read_answer(response: httpx.Response, request: Request) -> Reading:
    """The generic reading of an answer (see the module doc)."""
    status = response.status_code
    if 200 <= status < 300:
        return Reading(
            kind=Kind.DONE, detail=f"HTTP {status}", status=status, body=json_object(response)
        )
    if 300 <= status < 400:
        return _redirected(response, request)
    problem = parse_problem(response)
    floor = (retry_after(response) or 0.0) if status == 429 or status >= 500 else 0.0
    reading = Reading(kind=_kind_of(status), detail=problem.detail, status=status, problem=problem)
    if status in AUTH_STATUSES:
        return reading.but(Kind.STOP, error=auth_refused(problem, what=request.what))
    return reading.but(reading.kind, wait_floor=floor)


def read_transport_error(error: httpx.RequestError, request: Request | None = None) -> Reading:
    """No (readable) answer: RETRY if nothing left the client, else UNKNOWN; a TLS
    refusal (an untrusted certificate) will not change on retry, so it stops the run."""
    detail = one_line(str(error)) or "no detail"
    if not isinstance(error, SAID_IN_WORDS):
        detail = f"{type(error).__name__}: {detail}"
    if _tls_refused(error):
        what = request.what if request is not None else "request"
        refused = ApiUnreachableError(f"{what}: TLS refused the connection ({detail})")
        return Reading(kind=Kind.STOP, detail=detail, reached=False, error=refused)
    if isinstance(error, NOT_SENT_ERRORS):
        return Reading(kind=Kind.RETRY, detail=detail, reached=False)
    return Reading(kind=Kind.UNKNOWN, detail=detail)


def _tls_refused(error: BaseException) -> bool:
    """True when the connection was refused for its certificate (untrusted, wrong host):
    that will not change on retry. Other TLS errors (a cut after the handshake) are not."""
    seen: BaseException | None = error
    for _ in range(8):  # the chain is short; bounded all the same
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError | aiohttp.ServerFingerprintMismatch):
            return True
        if isinstance(seen, aiohttp.ClientConnectorCertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _kind_of(status: int) -> Kind:
    if status in RETRY_STATUSES:
        return Kind.RETRY
    if status >= 500:
        return Kind.UNKNOWN
    return Kind.REFUSED


def _redirected(response: httpx.Response, request: Request) -> Reading:
    """A 3xx is never followed: the base URL is wrong (or moved), so the run stops."""
    target = response.headers.get("Location", "(no Location header)")
    detail = f"HTTP {response.status_code} redirect to {target}"
    error = ApiError(
        f"{request.what}: the API answered {detail}; redirects are never followed"
        " (a POST must not be sent twice): check --base-url"
    )
    return Reading(kind=Kind.STOP, detail=detail, status=response.status_code, error=error)
