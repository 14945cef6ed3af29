"""What every handler does first (find the context and caller, check scopes, read JSON),
and last: note what the request did in its log entry (`note`), and answer once the work
is committed, or lose the answer after it (`deliver`)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from importer.sandbox.auth import Caller
from importer.sandbox.config import SCOPE_MANAGE
from importer.sandbox.context import SandboxContext
from importer.sandbox.faults import cut_connection
from importer.sandbox.middleware import CALLER_KEY, ENTRY_KEY
from importer.sandbox.responses import JSON_TYPE, ApiProblem, FieldError, not_found
from importer.sandbox.state import RequestEntry


def context_of(request: Request) -> SandboxContext:
    """The sandbox context the app was built with."""
    context: SandboxContext = request.app.state.sandbox
    return context


def entry_of(request: Request) -> RequestEntry | None:
    """This request's log entry."""
    entry: RequestEntry | None = request.scope.get(ENTRY_KEY)
    return entry


def authorize(request: Request, *scopes: str) -> Caller:
    """The caller, once it is known to hold `phonenumber.manage` or one of `scopes`."""
    caller: Caller = request.scope[CALLER_KEY]
    if not caller.partner.external_dids_enabled:
        detail = "the partner is not enabled for External DIDs: contact CarrierX support"
        raise ApiProblem(403, "permission denied", [FieldError(None, detail)])
    needed = frozenset({SCOPE_MANAGE, *scopes})
    if not caller.has_any(needed):
        status = context_of(request).config.missing_scope_status
        detail = "the token lacks one of the scopes: " + ", ".join(sorted(needed))
        raise ApiProblem(status, "permission denied", [FieldError(None, detail)])
    return caller


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: 415 without a JSON content type, 400 if malformed."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_TYPE:
        detail = "send the body as Content-Type: application/json"
        raise ApiProblem(415, "unsupported media type", [FieldError(None, detail)])
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "malformed JSON", [FieldError(None, "cannot parse body")]) from None
    if not isinstance(body, dict):
        raise ApiProblem(
            422, "object validation error", [FieldError(None, "body must be an object")]
        )
    return body


def own_record(context: SandboxContext, caller: Caller, sid: str) -> dict[str, Any]:
    """The caller's record with this sid; another partner's record is a 404 too."""
    record = context.state.get(sid)
    if record is None or record["partner_sid"] != caller.partner.partner_sid:
        raise not_found(sid)
    return record


def note(request: Request, record: dict[str, Any], *, applied: bool = False) -> None:
    """Log which record (sid and number) the request was about, and if it changed it."""
    entry = entry_of(request)
    if entry is not None:
        entry["external_did_sid"] = record.get("external_did_sid") or entry["external_did_sid"]
        entry["phonenumber"] = record.get("phonenumber") or entry["phonenumber"]
        entry["applied"] = entry["applied"] or applied


async def deliver(request: Request, response: Response) -> Response:
    """`response` once the request's writes are committed (see `SandboxState.written`),
    or, for a lost answer drawn for this method, the work kept (a write
    applied) and the answer lost: a 5xx (`lose_answer_status`), a cut connection, or
    the answer `lose_answer_delay_s` late."""
    context = context_of(request)
    await context.state.written()
    config = context.config
    if request.method not in config.lose_answer_methods or not context.faults.lose_answer():
        return response
    entry = entry_of(request)
    if config.lose_answer_status is not None:
        _fault(entry, "lost_answer_status")
        raise ApiProblem(config.lose_answer_status, "internal error (injected after commit)")
    if config.lose_answer_delay_s is None:
        _fault(entry, "lost_answer_cut")
        return CutConnection()
    _fault(entry, "lost_answer_delayed")
    await context.faults.sleep(config.lose_answer_delay_s)
    return response


def _fault(entry: RequestEntry | None, fault: str) -> None:
    if entry is not None:
        entry["fault"] = fault


class CutConnection(Response):
    """A 'response' that closes the client's connection without answering."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await cut_connection(scope, receive)
