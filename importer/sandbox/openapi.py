"""The OpenAPI 3.0 description of what the sandbox serves (GET /_sandbox/openapi.json).

Paths are relative to the server URL `/core/v2`; both spellings of the collection
(`external_dids`, `external-dids`) are described. Every operation lists the error
statuses the sandbox may answer, each with the CarrierX error body.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_NULLABLE_STRING: Schema = {"type": "string", "nullable": True}
_SID: Schema = {"type": "string", "format": "uuid"}
_PHONENUMBER: Schema = {"type": "string", "pattern": "^[1-9][0-9]{7,14}$"}
_MASK: Schema = {"type": "integer", "minimum": 1, "maximum": 31}
_ERROR_STATUSES = {
    "400": "malformed JSON",
    "401": "missing or bad credentials",
    "403": "missing scope, or the partner lacks External DIDs",
    "404": "unknown sid or path",
    "409": "conflict (duplicate, with duplicate_status=409; messaging change in progress)",
    "415": "the body is not sent as application/json",
    "422": "object validation error",
    "429": "rate limit exceeded; see Retry-After (seconds)",
    "500": "injected server error",
    "503": "injected unavailability",
}
_READ_ERRORS = ("401", "403", "404", "422", "429", "500", "503")
_WRITE_ERRORS = ("400", "401", "403", "404", "409", "415", "422", "429", "500", "503")

_WRITABLE: Schema = {
    "attributes": {"type": "object", "nullable": True, "additionalProperties": True},
    "callback_url": {"type": "string", "nullable": True, "format": "uri"},
    "name": _NULLABLE_STRING,
    "string_key_1": _NULLABLE_STRING,
    "string_key_2": _NULLABLE_STRING,
    "underlying_carrier_sid": {"type": "string", "nullable": True},
}
_OBJECT_FIELDS: Schema = {
    "active_capabilities": {"type": "integer"},
    "attributes": {"type": "object", "additionalProperties": True},
    "callback_url": _NULLABLE_STRING,
    "campaign_sid": _NULLABLE_STRING,
    "capabilities": _MASK,
    "classification_sid": _NULLABLE_STRING,
    "country_code": _NULLABLE_STRING,
    "external_did_sid": _SID,
    "in_country_format": _NULLABLE_STRING,
    "international_format": _NULLABLE_STRING,
    "lata": _NULLABLE_STRING,
    "locality": _NULLABLE_STRING,
    "lrn_sid": _NULLABLE_STRING,
    "name": {"type": "string"},
    "ocn": _NULLABLE_STRING,
    "ocn_block": _NULLABLE_STRING,
    "partner_sid": {"type": "string"},
    "phonenumber": _PHONENUMBER,
    "state": _NULLABLE_STRING,
    "status": {"type": "string", "enum": ["assigned"]},
    "string_key_1": _NULLABLE_STRING,
    "string_key_2": _NULLABLE_STRING,
    "underlying_carrier_sid": {"type": "string"},
}
_SCHEMAS: Schema = {
    "ExternalDid": {
        "type": "object",
        "properties": _OBJECT_FIELDS,
        "required": sorted(_OBJECT_FIELDS),
        "additionalProperties": False,
    },
    "RegisterBody": {
        "type": "object",
        "properties": {"phonenumber": _PHONENUMBER, "capabilities": _MASK} | _WRITABLE,
        "required": ["phonenumber", "capabilities"],
    },
    "UpdateBody": {"type": "object", "properties": {"capabilities": _MASK} | _WRITABLE},
    "Page": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "has_more": {"type": "boolean"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ExternalDid"}},
            "limit": {"type": "integer", "minimum": 0, "maximum": 1000},
            "offset": {"type": "integer", "minimum": 0},
            "pagination": {
                "type": "object",
                "properties": {"next": {"type": "string"}, "previous": {"type": "string"}},
            },
            "total": {"type": "integer", "nullable": True},
        },
        "required": ["count", "has_more", "items", "limit", "offset", "pagination", "total"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": _NULLABLE_STRING,
                        "message": {"type": "string"},
                        "reference_sid": _NULLABLE_STRING,
                    },
                    "required": ["field", "message", "reference_sid"],
                },
            },
        },
        "required": ["message", "errors"],
    },
    "Messaging": {
        "type": "object",
        "properties": {
            "campaign_sid": _NULLABLE_STRING,
            "enabled": {"type": "boolean"},
            "external_did_sid": _SID,
            "p2p_nnid": _NULLABLE_STRING,
            "status": {"type": "string", "enum": ["in_progress", "enabled", "disabled", "failed"]},
            "type": {"type": "string", "nullable": True, "enum": ["a2p", "p2p", None]},
        },
        "required": ["enabled", "external_did_sid", "status"],
    },
    "MessagingBody": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "type": {"type": "string", "enum": ["a2p", "p2p"]},
            "campaign_sid": _NULLABLE_STRING,
            "p2p_nnid": _NULLABLE_STRING,
        },
        "required": ["enabled"],
    },
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the sandbox's API."""
    paths: dict[str, Any] = {}
    for spelling in ("external_dids", "external-dids"):
        base = f"/phonenumber/{spelling}"
        paths[base] = _collection(spelling)
        paths[base + "/{sid}"] = _item(spelling)
        paths[base + "/{sid}/messaging"] = _messaging(spelling)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "did-import CarrierX sandbox",
            "version": "2",
            "description": "The External DID part of the CarrierX Core API, as served locally.",
        },
        "servers": [{"url": "/core/v2"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_OK_PAGE = ("200", "Page")
_OK_OBJECT = ("200", "ExternalDid")
_OK_MESSAGING = ("200", "Messaging")
_NO_CONTENT = ("204", None)


def _collection(spelling: str) -> dict[str, Any]:
    query = [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}),
        _query("filter", {"type": "string"}),
        _query("order", {"type": "string"}),
        _query("with_related", {"type": "boolean"}),
    ]
    return {
        "get": _operation(f"list_{spelling}", query, None, result=_OK_PAGE, errors=_READ_ERRORS),
        "post": _operation(
            f"register_{spelling}", [], "RegisterBody", result=_OK_OBJECT, errors=_WRITE_ERRORS
        ),
    }


def _item(spelling: str) -> dict[str, Any]:
    sid = [_sid_parameter()]
    read, write = {"errors": _READ_ERRORS}, {"errors": _WRITE_ERRORS}
    return {
        "get": _operation(f"get_{spelling}", sid, None, result=_OK_OBJECT, **read),
        "patch": _operation(f"patch_{spelling}", sid, "UpdateBody", result=_OK_OBJECT, **write),
        "put": _operation(f"put_{spelling}", sid, "UpdateBody", result=_OK_OBJECT, **write),
        "delete": _operation(f"delete_{spelling}", sid, None, result=_NO_CONTENT, **read),
    }


def _messaging(spelling: str) -> dict[str, Any]:
    sid = [_sid_parameter()]
    post_params = [*sid, _query("force", {"type": "boolean"})]
    return {
        "get": _operation(
            f"get_messaging_{spelling}", sid, None, result=_OK_MESSAGING, errors=_READ_ERRORS
        ),
        "post": _operation(
            f"change_messaging_{spelling}",
            post_params,
            "MessagingBody",
            result=_OK_MESSAGING,
            errors=_WRITE_ERRORS,
        ),
    }


def _operation(
    operation_id: str,
    parameters: list[Schema],
    body: str | None,
    *,
    result: tuple[str, str | None],
    errors: tuple[str, ...],
) -> dict[str, Any]:
    success, schema = result
    responses: dict[str, Any] = {success: _response("success", schema)}
    for status in errors:
        responses[status] = _response(_ERROR_STATUSES[status], "Error")
    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "parameters": parameters,
        "responses": responses,
    }
    if body is not None:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def _response(description: str, schema: str | None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return {"description": description, "content": content}


def _query(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _sid_parameter() -> Schema:
    return {"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}
