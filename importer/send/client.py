"""The CarrierX HTTP edge: the shared client and the API's error bodies.

`make_client` builds the one `httpx.AsyncClient` a run uses (the executor never builds
its own). What an answer means is read in `importer.send.reading`; the errors it
raises are made here, one line each, never naming the token::

    401 / 403                 → AuthError (`auth_refused`: the status and the API's message)
    connect error, timeout, … → ApiUnreachableError (`unreachable`: names the base URL)

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
from typing import Any, Protocol, runtime_checkable

import httpx

from importer import __version__
from importer.config import ApiSettings, redact
from importer.errors import ApiUnreachableError, AuthError
from importer.send.transport import Outgoing, SafeAiohttpTransport

EXTERNAL_DIDS = "/phonenumber/external_dids"
USER_AGENT = f"did-import/{__version__}"
AUTH_STATUSES = frozenset({401, 403})
DETAIL_MAX_CHARS = 200


def make_client(
    settings: ApiSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """Build the run's shared client: base URL, Bearer token, timeout, pool sized to concurrency.

    Without a token no `Authorization` header is sent, so `preflight` gets a 401 and
    says so. The default transport is aiohttp's (`importer.send.transport`, chosen by
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
    return ApiClient(
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


class ApiClient(httpx.AsyncClient):
    """httpx's client, remembering the transport it was given (for `direct_route`)."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **options: Any) -> None:
        super().__init__(transport=transport, **options)
        self.given_transport = transport


@runtime_checkable
class DirectTransport(Protocol):
    """A transport with a direct route (`importer.send.transport` says what it skips)."""

    async def send_directly(self, outgoing: Outgoing, body: bytes | None) -> httpx.Response: ...


def direct_route(client: httpx.AsyncClient) -> DirectTransport | None:
    """The transport the executor may send through directly (`send_directly`), or None.

    Only a `make_client` client on the default transport (or the read-only guard over
    it), with nothing httpx would do on the way (event hooks, auth, cookies), has one; a
    test's transport never does.
    """
    if not isinstance(client, ApiClient):
        return None
    transport = client.given_transport
    hooks = client.event_hooks
    if hooks["request"] or hooks["response"] or client.auth is not None or client.cookies:
        return None
    return transport if isinstance(transport, DirectTransport) else None


def encode_json(body: Any) -> bytes:
    """A JSON request body, encoded as httpx encodes `json=` (compact, UTF-8, no NaN)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


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
        return one_line(f"{head}: {'; '.join(parts)}" if parts else head)

    def about(self, field: str) -> FieldError | None:
        """The first error naming `field`, if any."""
        return next((error for error in self.errors if error.field == field), None)


def parse_problem(response: httpx.Response) -> ApiProblem:
    """Read the error body of `response`; never raises, whatever the body is."""
    text = _without_token(response)
    excerpt = one_line(text[:DETAIL_MAX_CHARS])
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


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None (not JSON, or not an object)."""
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


def auth_refused(problem: ApiProblem, *, what: str) -> AuthError:
    """The one-line `AuthError` for a 401/403 answer (never mentions the token itself)."""
    reason = "token refused" if problem.status == 401 else "permission denied"
    return AuthError(
        f"{what}: the API said {reason} ({problem.detail})", status_code=problem.status
    )


def unreachable(base_url: object, detail: str, *, what: str) -> ApiUnreachableError:
    """The one-line `ApiUnreachableError` naming the base URL as the user gave it:
    `preflight: cannot reach http://127.0.0.1:9/core/v2 (connection refused)`."""
    return ApiUnreachableError(f"{what}: cannot reach {str(base_url).rstrip('/')} ({detail})")


def one_line(text: str) -> str:
    """`text` on one line, at most twice `DETAIL_MAX_CHARS` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 2 * DETAIL_MAX_CHARS else flat[: 2 * DETAIL_MAX_CHARS - 1] + "…"
