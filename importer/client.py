"""The CarrierX HTTP edge: the shared client, API error bodies, and read-only lookups.

`make_client` builds the one `httpx.AsyncClient` a run uses (the uploader never builds
its own); `preflight` proves the token works before any write; `find_number` looks a
number up among the caller's own External DIDs. httpx exceptions and refusal statuses
are translated here into `importer.errors`::

    401 / 403                    → AuthError            (names the status and the API's message)
    connect error, timeout, …    → ApiUnreachableError  (names the base URL)
    anything else not 200        → ApiError             (one line, status and detail)

`classify` reads the answer to a registration POST into an `Outcome` (created, duplicate,
rejected, refused, retry, unknown); the uploader decides what to do about each.
`parse_problem` reads the API's error body `{"message", "errors": [{"field", "message",
"reference_sid"}]}` without trusting it: a missing, non-JSON or oddly shaped body still
gives a one-line detail.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum, auto
from typing import Any

import httpx

from importer import __version__
from importer.config import ApiSettings, redact
from importer.errors import ApiError, ApiUnreachableError, AuthError
from importer.transport import SafeAiohttpTransport

EXTERNAL_DIDS = "/phonenumber/external_dids"
USER_AGENT = f"did-import/{__version__}"
AUTH_STATUSES = frozenset({401, 403})
DETAIL_MAX_CHARS = 200
SCOPES_HINT = "the token needs phonenumber.manage, or both phonenumber.read and phonenumber.create"


def make_client(
    settings: ApiSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """Build the run's shared client: base URL, Bearer token, timeout, pool sized to concurrency.

    Without a token no `Authorization` header is sent, so `preflight` gets a 401 and
    says so. The default transport is aiohttp's (`importer.transport`, chosen by
    measurement: see the README); `transport` is for tests (`httpx.MockTransport`).
    `settings.timeout` is the deadline of each whole request (connect, send, the whole
    answer) on the default transport, and bounds each wait for the socket on any other.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers=headers,
        timeout=httpx.Timeout(settings.timeout),
        limits=limits,
        # Never follow a redirect: a POST replayed to wherever a Location points could
        # register a number twice, or carry the token elsewhere. A 3xx reaches the caller
        # as it came (the transport never follows one either).
        follow_redirects=False,
        transport=transport or SafeAiohttpTransport(limits=limits, total_timeout=settings.timeout),
    )


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of the API's `errors` list."""

    field: str | None
    message: str
    reference_sid: str | None = None


@dataclass(frozen=True, slots=True)
class ApiProblem:
    """A non-success answer, read robustly: status, summary, field errors, raw excerpt."""

    status: int
    message: str | None
    errors: tuple[FieldError, ...] = ()
    excerpt: str = ""

    @property
    def field(self) -> str | None:
        """The field the first error names (what the report's `error_field` shows)."""
        return self.errors[0].field if self.errors else None

    @property
    def detail(self) -> str:
        """One line: `HTTP 422: summary; field: message; …` (or the body's first characters)."""
        parts = [self.message] if self.message else []
        parts += [f"{e.field}: {e.message}" if e.field else e.message for e in self.errors]
        if not parts and self.excerpt:
            parts = [self.excerpt]
        head = f"HTTP {self.status}"
        return _one_line(f"{head}: {'; '.join(parts)}" if parts else head)

    def about(self, field: str) -> FieldError | None:
        """The first error naming `field`, if any."""
        return next((error for error in self.errors if error.field == field), None)


def parse_problem(response: httpx.Response) -> ApiProblem:
    """Read the error body of `response`; never raises, whatever the body is."""
    text = _without_token(response)
    excerpt = _one_line(text[:DETAIL_MAX_CHARS])
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return ApiProblem(response.status_code, None, (), excerpt)
    if not isinstance(body, dict):
        return ApiProblem(response.status_code, None, (), excerpt)
    message = body.get("message")
    errors = body.get("errors")
    return ApiProblem(
        status=response.status_code,
        message=str(message) if message not in (None, "") else None,
        errors=tuple(_field_errors(errors if isinstance(errors, list) else [])),
        excerpt=excerpt,
    )


def _without_token(response: httpx.Response) -> str:
    """The body with the request's own token redacted: an API may echo what it refused."""
    try:
        auth = response.request.headers.get("Authorization", "")
    except RuntimeError:  # a response built without its request
        auth = ""
    return redact(response.text, [auth.partition(" ")[2].strip()])


def _field_errors(entries: list[Any]) -> list[FieldError]:
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        field, sid = entry.get("field"), entry.get("reference_sid")
        found.append(
            FieldError(
                field=str(field) if field else None,
                message=str(entry.get("message") or ""),
                reference_sid=str(sid) if sid else None,
            )
        )
    return found


class Outcome(Enum):
    """What one registration POST means for the row."""

    CREATED = auto()  # 2xx with the new object
    DUPLICATE = auto()  # 422/409 naming `phonenumber` as already registered
    REJECTED = auto()  # any other 4xx: permanent for this row
    REFUSED = auto()  # 401/403: the run must stop
    RETRY = auto()  # 408/409/429 or never sent: nothing was created
    UNKNOWN = auto()  # 5xx, timeout or reset after sending: may have been created


RETRY_STATUSES = frozenset({408, 409, 429})
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
TAKEN_WORDS = ("already", "exist", "registered", "taken", "duplicate", "in use")


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """One registration attempt, classified; `reached` is False when nothing left the client."""

    outcome: Outcome
    detail: str
    status: int | None = None
    record: dict[str, Any] | None = None
    problem: ApiProblem | None = None
    duplicate: FieldError | None = None
    wait_floor: float = 0.0
    reached: bool = True


def classify(response: httpx.Response) -> Answer:
    """Read the answer to `POST /phonenumber/external_dids` (carrierx-api.md's failure table)."""
    status = response.status_code
    if 200 <= status < 300:
        record = _json_object(response)
        if record is not None and record.get("external_did_sid"):
            return Answer(
                outcome=Outcome.CREATED, detail=f"HTTP {status}", status=status, record=record
            )
        return Answer(
            outcome=Outcome.UNKNOWN, detail=f"HTTP {status}, unreadable body", status=status
        )
    problem = parse_problem(response)
    duplicate = _duplicate_error(problem) if status in (409, 422) else None
    outcome = Outcome.DUPLICATE if duplicate is not None else _failure_outcome(status)
    floor = (retry_after(response) or 0.0) if status == 429 else 0.0
    return Answer(
        outcome=outcome,
        detail=problem.detail,
        status=status,
        problem=problem,
        duplicate=duplicate,
        wait_floor=floor,
    )


def classify_transport_error(error: httpx.RequestError) -> Answer:
    """A POST that got no (readable) answer: RETRY if it never left the client, else UNKNOWN."""
    detail = f"{type(error).__name__}: {_one_line(str(error)) or 'no detail'}"
    if isinstance(error, NOT_SENT_ERRORS):
        return Answer(outcome=Outcome.RETRY, detail=detail, reached=False)
    return Answer(outcome=Outcome.UNKNOWN, detail=detail)


def _failure_outcome(status: int) -> Outcome:
    if status in AUTH_STATUSES:
        return Outcome.REFUSED
    if status in RETRY_STATUSES:
        return Outcome.RETRY
    if status >= 500:
        return Outcome.UNKNOWN
    return Outcome.REJECTED


def _duplicate_error(problem: ApiProblem) -> FieldError | None:
    """The `phonenumber` error saying the number is already registered, if there is one."""
    error = problem.about("phonenumber")
    if error is None:
        return None
    says_taken = any(word in error.message.lower() for word in TAKEN_WORDS)
    return error if error.reference_sid or says_taken else None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def retry_after(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """Seconds the `Retry-After` header asks for (delta-seconds or HTTP-date), else None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def preflight(client: httpx.AsyncClient) -> None:
    """Send one read-only request before any write; raise if the API refuses or is away.

    Reading is required, not only creating: a POST whose answer is lost can only be
    settled by a lookup, so a token without a read scope is refused here, up front.
    """
    try:
        await _get(client, EXTERNAL_DIDS, params={"limit": 1}, what="preflight")
    except AuthError as error:
        if error.status_code != 403:
            raise
        raise AuthError(f"{error}; {SCOPES_HINT}", status_code=403) from None


async def find_number(client: httpx.AsyncClient, digits: str) -> dict[str, Any] | None:
    """The caller's own External DID for `digits` (E.164 without `+`), or None.

    The list endpoint only returns the caller's records, so a hit means this partner
    holds the number. Raises `AuthError` on 401/403 and `ApiError` (or its subclass
    `ApiUnreachableError`) when no usable answer came back.
    """
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"find_number wants E.164 digits without '+', got {digits!r}")
    params = {"filter": f'phonenumber eq "{digits}"', "limit": 1}
    page = await _get(client, EXTERNAL_DIDS, params=params, what=f"lookup of {digits}")
    items = page.get("items")
    if not isinstance(items, list):
        raise ApiError(f"lookup of {digits}: the list answer has no 'items'")
    return next(
        (item for item in items if isinstance(item, dict) and item.get("phonenumber") == digits),
        None,
    )


async def get_record(client: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    """`GET /phonenumber/external_dids/{sid}`: the record (raises like `find_number`)."""
    return await _get(client, f"{EXTERNAL_DIDS}/{sid}", params={}, what=f"reading {sid}")


async def set_messaging(
    client: httpx.AsyncClient, sid: str, body: dict[str, Any]
) -> dict[str, Any]:
    """`POST .../{sid}/messaging`: the enablement object (a 409 "in progress" is returned
    as `{"status": "in_progress"}`: a change, perhaps our own lost one, is under way)."""
    what = f"messaging of {sid}"
    response = await _send(client, "POST", f"{EXTERNAL_DIDS}/{sid}/messaging", json=body, what=what)
    if response.status_code == 409:
        return {"status": "in_progress"}
    return _answer_body(response, what=what)


async def _get(
    client: httpx.AsyncClient, path: str, *, params: dict[str, Any], what: str
) -> dict[str, Any]:
    response = await _send(client, "GET", path, params=params, what=what)
    return _answer_body(response, what=what)


async def _send(
    client: httpx.AsyncClient, method: str, path: str, *, what: str, **options: Any
) -> httpx.Response:
    try:
        return await client.request(method, path, **options)
    except httpx.TransportError as error:
        raise unreachable(client, error, what=what) from None
    except httpx.RequestError as error:  # e.g. a body that cannot be decoded
        raise ApiError(f"{what}: {classify_transport_error(error).detail}") from None


def _answer_body(response: httpx.Response, *, what: str) -> dict[str, Any]:
    if response.status_code in AUTH_STATUSES:
        raise auth_refused(parse_problem(response), what=what)
    if response.status_code != 200:
        raise ApiError(f"{what}: {parse_problem(response).detail}")
    body = _json_object(response)
    if body is None:
        raise ApiError(f"{what}: the answer is not a JSON object")
    return body


def auth_refused(problem: ApiProblem, *, what: str) -> AuthError:
    """The one-line `AuthError` for a 401/403 answer (never mentions the token itself)."""
    reason = "token refused" if problem.status == 401 else "permission denied"
    return AuthError(
        f"{what}: the API said {reason} ({problem.detail})", status_code=problem.status
    )


def unreachable(
    client: httpx.AsyncClient, error: httpx.TransportError, *, what: str
) -> ApiUnreachableError:
    """The one-line `ApiUnreachableError` for a transport failure, naming the base URL."""
    kind = type(error).__name__
    reason = _one_line(str(error)) or "no detail"
    return ApiUnreachableError(f"{what}: cannot reach {client.base_url} ({kind}: {reason})")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 2 * DETAIL_MAX_CHARS else flat[: 2 * DETAIL_MAX_CHARS - 1] + "…"
