"""SMS/MMS enablement of an External DID: POST/GET .../{sid}/messaging.

[doc]: body `enabled` (bool), `type` (a2p/p2p), `campaign_sid`, `p2p_nnid`; query
`force=true`; the status goes `in_progress` → `enabled` / `disabled` / `failed`.
[assumed, switchable]: the change settles `messaging_settle_s` seconds after the POST
(seen by the next read), and ends `failed` when `messaging_outcome="failed"`; a second
change while one is in progress is a 409 unless `force=true`; asking for the state the
number is already in is a no-op unless forced. A new number starts `enabled` (or
`disabled`, per `initial_messaging`). Enabled: `active_capabilities = capabilities`;
disabled or failed: 0.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from importer.sandbox.config import SCOPE_READ, SandboxConfig
from importer.sandbox.context import SandboxContext
from importer.sandbox.handling import authorize, context_of, json_body, own_record
from importer.sandbox.responses import ApiProblem, FieldError, invalid, json_response

Record = dict[str, Any]
_CHANGED_AT = "changed_at"
_TYPES = ("a2p", "p2p")


def initial(config: SandboxConfig, record: Record) -> Record:
    """The messaging state of a freshly registered number."""
    enabled = config.initial_messaging == "enabled"
    return {
        "campaign_sid": None,
        "enabled": enabled,
        "external_did_sid": record["external_did_sid"],
        "p2p_nnid": None,
        "status": "enabled" if enabled else "disabled",
        "type": None,
        _CHANGED_AT: time.time(),
    }


def public(messaging: Record) -> Record:
    """The enablement object as the API shows it."""
    return {key: value for key, value in messaging.items() if key != _CHANGED_AT}


def settle_all(context: SandboxContext) -> None:
    """Finish every `in_progress` change whose settle time has passed."""
    now = time.time()
    for sid in context.state.pending_messaging():
        messaging, record = context.state.messaging(sid), context.state.get(sid)
        if messaging is None or record is None:
            continue
        if now - messaging[_CHANGED_AT] >= context.config.messaging_settle_s:
            _finish(context, dict(record), dict(messaging))


async def change(request: Request) -> Response:
    """POST .../{sid}/messaging: start enabling or disabling; 200 + `in_progress`."""
    context = context_of(request)
    caller = authorize(request)
    settle_all(context)
    record = own_record(context, caller, request.path_params["sid"])
    wanted = _check(await json_body(request))
    current = context.state.messaging(record["external_did_sid"]) or initial(context.config, record)
    forced = request.query_params.get("force", "").lower() in ("true", "1", "yes")
    if current["status"] == "in_progress" and not forced:
        detail = "a messaging change is in progress: retry later or use force=true"
        raise ApiProblem(409, "conflict", [FieldError(None, detail, record["external_did_sid"])])
    if _already(current, wanted) and not forced:
        return json_response(public(current))
    started = current | wanted | {"status": "in_progress", _CHANGED_AT: time.time()}
    context.state.put(record, started)
    await context.state.written()
    return json_response(public(started))


async def show(request: Request) -> Response:
    """GET .../{sid}/messaging: the enablement object."""
    context = context_of(request)
    caller = authorize(request, SCOPE_READ)
    settle_all(context)
    record = own_record(context, caller, request.path_params["sid"])
    current = context.state.messaging(record["external_did_sid"]) or initial(context.config, record)
    return json_response(public(current))


def _check(body: Record) -> Record:
    errors = []
    if not isinstance(body.get("enabled"), bool):
        errors.append(FieldError("enabled", "enabled must be true or false"))
    if body.get("type") is not None and body["type"] not in _TYPES:
        errors.append(FieldError("type", "type must be 'a2p' or 'p2p'"))
    for key in ("campaign_sid", "p2p_nnid"):
        if body.get(key) is not None and not isinstance(body[key], str):
            errors.append(FieldError(key, f"{key} must be a string or null"))
    if errors:
        raise invalid(*errors)
    wanted = {key: body[key] for key in ("type", "campaign_sid", "p2p_nnid") if key in body}
    return wanted | {"enabled": body["enabled"]}


def _already(current: Record, wanted: Record) -> bool:
    same_status = current["status"] == ("enabled" if wanted["enabled"] else "disabled")
    return same_status and all(current.get(key) == value for key, value in wanted.items())


def _finish(context: SandboxContext, record: Record, messaging: Record) -> None:
    failed = context.config.messaging_outcome == "failed"
    enabled = messaging["enabled"] and not failed
    messaging["status"] = "failed" if failed else ("enabled" if enabled else "disabled")
    record["active_capabilities"] = record["capabilities"] if enabled else 0
    if enabled and messaging.get("campaign_sid") is not None:
        record["campaign_sid"] = messaging["campaign_sid"]
    context.state.put(record, messaging)
