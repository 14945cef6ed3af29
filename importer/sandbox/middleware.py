"""The raw ASGI layer every API request passes: log it, apply faults, authenticate.

Order per request: log → latency → 429 (rate limit) → dropped connection → 5xx → 401,
on every method. The log entry names the record's sid from a per-record path at once
(so a faulted PATCH or DELETE still says which record it was about); the handlers add
the number and whether the request changed a record (`applied`). Requests under
`/_sandbox` (the admin view) skip all of it.
"""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from importer.sandbox.context import SandboxContext
from importer.sandbox.faults import cut_connection
from importer.sandbox.responses import ApiProblem, FieldError, send_problem
from importer.sandbox.state import RequestEntry

ADMIN_PREFIX = "/_sandbox"
CALLER_KEY = "sandbox.caller"
ENTRY_KEY = "sandbox.entry"
_MAX_LOGGED_BODY = 16_384
_RECORD_PATH = re.compile(r"/phonenumber/external[_-]dids/([^/]+)")


class SandboxMiddleware:
    """Logs, injects faults and authenticates, then hands over to the routes."""

    def __init__(self, app: ASGIApp, context: SandboxContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        entry = self._log(scope)
        scope[ENTRY_KEY] = entry
        receive, send = _logged_receive(receive, entry), _logged_send(send, entry)
        if await self._faulted(scope, receive, send, entry):
            return
        caller = self.context.auth.caller(_header(scope, b"authorization"))
        if caller is None:
            detail = [FieldError(None, "missing or invalid token")]
            problem = ApiProblem(
                401, "authentication failed", detail, {"WWW-Authenticate": "Bearer"}
            )
            await send_problem(send, problem)
            return
        scope[CALLER_KEY] = caller
        entry["partner"] = caller.partner.name
        await self.app(scope, receive, send)

    def _log(self, scope: Scope) -> RequestEntry:
        return self.context.state.log(
            RequestEntry(
                seq=0,
                time=time.time(),
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                partner=None,
                body=None,
                status=None,
                fault=None,
                external_did_sid=_sid_in(scope["path"]),
                phonenumber=None,
                applied=False,
            )
        )

    async def _faulted(
        self, scope: Scope, receive: Receive, send: Send, entry: RequestEntry
    ) -> bool:
        faults = self.context.faults
        decision = faults.decide()
        await faults.sleep(decision.latency_s)
        if decision.rate_limited_after is not None:
            entry["fault"] = "rate_limited"
            headers = faults.retry_after(decision.rate_limited_after)
            message = f"rate limit of {faults.config.rate_limit:g} requests/second exceeded"
            problem = ApiProblem(429, "too many requests", [FieldError(None, message)], headers)
            await send_problem(send, problem)
            return True
        if decision.drop:
            entry["fault"] = "dropped"
            await cut_connection(scope, receive, unread_body=True)
            return True
        if decision.fail_status is not None:
            entry["fault"] = "failed"
            problem = ApiProblem(decision.fail_status, "internal error (injected)")
            await send_problem(send, problem)
            return True
        return False


def _sid_in(path: str) -> str | None:
    """The record's sid in a per-record path (`…/external_dids/{sid}[/messaging]`)."""
    match = _RECORD_PATH.search(path)
    return match.group(1) if match else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _logged_receive(receive: Receive, entry: RequestEntry) -> Receive:
    async def receive_logged() -> Message:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk and len(entry["body"] or "") < _MAX_LOGGED_BODY:
            text = chunk[:_MAX_LOGGED_BODY].decode("utf-8", "replace")
            entry["body"] = (entry["body"] or "") + text
        return message

    return receive_logged


def _logged_send(send: Send, entry: RequestEntry) -> Send:
    async def send_logged(message: Message) -> None:
        if message["type"] == "http.response.start":
            entry["status"] = message["status"]
        await send(message)

    return send_logged
