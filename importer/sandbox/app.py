"""The sandbox as an ASGI application: routes, error bodies and the admin view.

API paths live under `/core/v2` (both `external_dids` and `external-dids` spellings);
the read-only admin view lives under `/_sandbox` and skips auth, faults and logging.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from importer.sandbox import handlers, messaging
from importer.sandbox.config import SandboxConfig
from importer.sandbox.context import SandboxContext
from importer.sandbox.faults import TRANSPORT_KEY, transport_of
from importer.sandbox.handling import context_of
from importer.sandbox.middleware import ADMIN_PREFIX, SandboxMiddleware
from importer.sandbox.openapi import openapi_document
from importer.sandbox.responses import (
    ApiProblem,
    FieldError,
    json_response,
    not_found,
    problem_response,
)
from importer.sandbox.state import SandboxState

API_PREFIX = "/core/v2"
SPELLINGS = ("external_dids", "external-dids")


class SandboxApp(Starlette):
    """Starlette, plus the uvicorn transport stored in the scope (to cut connections)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[TRANSPORT_KEY] = transport_of(send)
        await super().__call__(scope, receive, send)


def create_app(config: SandboxConfig, *, state: SandboxState | None = None) -> Starlette:
    """The sandbox application for this configuration (and, optionally, shared state)."""
    context = SandboxContext.build(config, state)
    app = SandboxApp(
        routes=api_routes() + admin_routes(),
        middleware=[Middleware(SandboxMiddleware, context=context)],
        exception_handlers={
            ApiProblem: _problem,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
        },
    )
    app.state.sandbox = context
    return app


def api_routes() -> list[BaseRoute]:
    """The External DID routes, under both spellings of the collection."""
    routes: list[BaseRoute] = []
    for spelling in SPELLINGS:
        base = f"{API_PREFIX}/phonenumber/{spelling}"
        routes += [
            Route(base, handlers.register, methods=["POST"]),
            Route(base, handlers.list_dids, methods=["GET"]),
            Route(base + "/{sid}", handlers.get_did, methods=["GET"]),
            Route(base + "/{sid}", handlers.update_did, methods=["PATCH", "PUT"]),
            Route(base + "/{sid}", handlers.delete_did, methods=["DELETE"]),
            Route(base + "/{sid}/messaging", messaging.change, methods=["POST"]),
            Route(base + "/{sid}/messaging", messaging.show, methods=["GET"]),
        ]
    return routes


def admin_routes() -> list[BaseRoute]:
    """The read-only admin view: request log, records, OpenAPI description."""
    return [
        Route(ADMIN_PREFIX + "/requests", _admin_requests, methods=["GET"]),
        Route(ADMIN_PREFIX + "/state", _admin_state, methods=["GET"]),
        Route(ADMIN_PREFIX + "/openapi.json", _openapi, methods=["GET"]),
    ]


async def _admin_requests(request: Request) -> Response:
    return json_response({"requests": context_of(request).state.requests})


async def _admin_state(request: Request) -> Response:
    return json_response(context_of(request).state.snapshot())


async def _openapi(request: Request) -> Response:
    return json_response(openapi_document())


async def _problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    return problem_response(error)


async def _client_gone(request: Request, error: Exception) -> Response:
    """The client hung up while sending its body: nobody to answer, nothing to log."""
    return Response(status_code=400)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return problem_response(not_found())
    detail = FieldError(None, f"{request.method} is not allowed on {request.url.path}")
    return problem_response(ApiProblem(error.status_code, "method not allowed", [detail]))
