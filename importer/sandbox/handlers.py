"""The External DID endpoints: register, list, get, update (PATCH/PUT) and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from importer.sandbox import messaging
from importer.sandbox.auth import Caller
from importer.sandbox.config import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SCOPE_CREATE,
    SCOPE_DELETE,
    SCOPE_READ,
    SCOPE_UPDATE,
)
from importer.sandbox.context import SandboxContext
from importer.sandbox.filters import FilterError, parse_filter, parse_order, sort_records
from importer.sandbox.handling import authorize, context_of, deliver, json_body, note, own_record
from importer.sandbox.numbers import derived_fields
from importer.sandbox.responses import ApiProblem, FieldError, invalid, json_response
from importer.sandbox.validation import check_register, check_update

Record = dict[str, Any]
T = TypeVar("T")


async def register(request: Request) -> Response:
    """POST /phonenumber/external_dids: 200 + the new object."""
    context = context_of(request)
    caller = authorize(request, SCOPE_CREATE)
    clean = check_register(await json_body(request), caller, context.config)
    note(request, {"phonenumber": clean["phonenumber"]})
    _refuse_duplicate(context, caller, clean["phonenumber"])
    record = _new_record(context, caller, clean)
    context.state.put(record, messaging.initial(context.config, record))
    note(request, record, applied=True)
    return await deliver(request, json_response(record))


async def list_dids(request: Request) -> Response:
    """GET /phonenumber/external_dids: a page of the caller's records."""
    context = context_of(request)
    caller = authorize(request, SCOPE_READ)
    messaging.settle_all(context)
    query = request.query_params
    limit, offset = _page_params(query.get("limit"), query.get("offset"), context)
    order = _parsed("order", parse_order, query["order"]) if query.get("order") else None
    records = _matching(context, caller, query.get("filter"))
    if order is not None:
        records = sort_records(records, order)
    return await deliver(request, json_response(_page(request, records, limit, offset, context)))


async def get_did(request: Request) -> Response:
    """GET /phonenumber/external_dids/{sid}."""
    context = context_of(request)
    caller = authorize(request, SCOPE_READ)
    messaging.settle_all(context)
    record = own_record(context, caller, request.path_params["sid"])
    note(request, record)
    return await deliver(request, json_response(record))


async def update_did(request: Request) -> Response:
    """PATCH or PUT /phonenumber/external_dids/{sid}: 200 + the updated object."""
    context = context_of(request)
    caller = authorize(request, SCOPE_UPDATE)
    record = own_record(context, caller, request.path_params["sid"])
    note(request, record)
    changes = check_update(await json_body(request), record, context.config)
    updated = _apply(record, changes, context, replace=request.method == "PUT")
    context.state.put(updated)
    note(request, updated, applied=True)
    return await deliver(request, json_response(updated))


async def delete_did(request: Request) -> Response:
    """DELETE /phonenumber/external_dids/{sid}: 204."""
    context = context_of(request)
    caller = authorize(request, SCOPE_DELETE)
    record = own_record(context, caller, request.path_params["sid"])
    context.state.delete(record["external_did_sid"])
    note(request, record, applied=True)
    return await deliver(request, Response(status_code=204))


def _refuse_duplicate(context: SandboxContext, caller: Caller, digits: str) -> None:
    existing = context.state.find_number(digits)
    if existing is None:
        return
    own = existing["partner_sid"] == caller.partner.partner_sid
    reference = existing["external_did_sid"] if own else None
    message = "phonenumber is already registered" + ("" if own else " by another partner")
    error = FieldError("phonenumber", message, reference)
    status = context.config.duplicate_status
    summary = "conflict" if status == 409 else "object validation error"
    raise ApiProblem(status, summary, [error])


def _new_record(context: SandboxContext, caller: Caller, clean: Record) -> Record:
    record = derived_fields(clean["phonenumber"]) | {
        "active_capabilities": clean["capabilities"],
        "attributes": clean.get("attributes") or {},
        "callback_url": clean.get("callback_url"),
        "campaign_sid": None,
        "capabilities": clean["capabilities"],
        "classification_sid": None,
        "external_did_sid": context.state.new_sid(),
        "name": clean.get("name") or context.state.next_name(),
        "partner_sid": caller.partner.partner_sid,
        "phonenumber": clean["phonenumber"],
        "status": "assigned",
        "string_key_1": clean.get("string_key_1"),
        "string_key_2": clean.get("string_key_2"),
        "underlying_carrier_sid": clean["underlying_carrier_sid"],
    }
    return dict(sorted(record.items()))


def _apply(record: Record, changes: Record, context: SandboxContext, *, replace: bool) -> Record:
    updated = dict(record)
    if replace and context.config.put_semantics == "replace":
        updated |= {"attributes": {}, "callback_url": None}
        updated |= {"string_key_1": None, "string_key_2": None}
    attributes = changes.pop("attributes", None)
    if attributes is not None:
        merge = context.config.attributes_patch == "merge" and not replace
        updated["attributes"] = (record["attributes"] | attributes) if merge else attributes
    updated |= {key: value for key, value in changes.items() if key != "name" or value}
    return updated


def _page_params(
    limit_text: str | None, offset_text: str | None, context: SandboxContext
) -> tuple[int, int]:
    limit = _int_param("limit", limit_text, DEFAULT_LIMIT, minimum=1)
    offset = _int_param("offset", offset_text, 0, minimum=0)
    if limit > MAX_LIMIT and context.config.limit_over_max == "reject":
        raise invalid(FieldError("limit", f"limit must be at most {MAX_LIMIT}"))
    return min(limit, MAX_LIMIT), offset


def _int_param(name: str, text: str | None, default: int, *, minimum: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise invalid(FieldError(name, f"{name} must be an integer of at least {minimum}"))
    return value


def _matching(context: SandboxContext, caller: Caller, filter_text: str | None) -> list[Record]:
    partner_sid = caller.partner.partner_sid
    if not filter_text:
        return list(context.state.partner_records(partner_sid))
    extended = context.config.extended_filter_ops
    condition = _parsed(
        "filter", lambda text: parse_filter(text, extended_ops=extended), filter_text
    )
    numbers = condition.phonenumbers
    if numbers is not None:  # the indexed fast path, in the order the numbers were asked
        found = (context.state.find_number(number) for number in dict.fromkeys(numbers))
        records = [record for record in found if record is not None]
    else:
        records = context.state.live_records()
    return [r for r in records if r["partner_sid"] == partner_sid and condition.matches(r)]


def _parsed(parameter: str, parse: Callable[[str], T], text: str) -> T:
    """`parse(text)`, a FilterError becoming a 422 that names the query parameter."""
    try:
        return parse(text)
    except FilterError as error:
        raise invalid(FieldError(parameter, str(error))) from None


def _page(
    request: Request, records: list[Record], limit: int, offset: int, context: SandboxContext
) -> dict[str, Any]:
    items = records[offset : offset + limit]
    has_more = offset + len(items) < len(records)
    pagination: dict[str, str] = {}
    if has_more:
        pagination["next"] = _page_url(request, limit, offset + limit)
    if offset > 0:
        pagination["previous"] = _page_url(request, limit, max(0, offset - limit))
    return {
        "count": len(items),
        "has_more": has_more,
        "items": items,
        "limit": limit,
        "offset": offset,
        "pagination": pagination,
        "total": len(records) if context.config.list_total == "count" else None,
    }


def _page_url(request: Request, limit: int, offset: int) -> str:
    params = dict(request.query_params) | {"limit": str(limit), "offset": str(offset)}
    return str(request.url.replace(query=urlencode(params)))
