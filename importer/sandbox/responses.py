"""JSON answers and the CarrierX error body, for handlers and raw ASGI layers alike.

Error body [doc for 404, assumed elsewhere]:
`{"message": "<summary>", "errors": [{"field", "message", "reference_sid"}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Send

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class FieldError:
    """One entry of the error body's `errors` list."""

    field: str | None
    message: str
    reference_sid: str | None = None

    def as_json(self) -> dict[str, str | None]:
        """The JSON form CarrierX uses."""
        return {"field": self.field, "message": self.message, "reference_sid": self.reference_sid}


class ApiProblem(Exception):
    """Raised by a handler to answer with an error body; the app turns it into JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Iterable[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The error body."""
        return {"message": self.message, "errors": [error.as_json() for error in self.errors]}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    return Response(_dumps(body), status, headers, JSON_TYPE)


def problem_response(problem: ApiProblem) -> Response:
    """The JSON response for an `ApiProblem`."""
    return json_response(problem.body(), problem.status, problem.headers or None)


async def send_problem(send: Send, problem: ApiProblem) -> None:
    """Answer an `ApiProblem` straight through ASGI (for the middleware layers)."""
    body = _dumps(problem.body())
    headers = [(b"content-type", JSON_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(key.lower().encode(), value.encode()) for key, value in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def not_found(sid: str | None = None) -> ApiProblem:
    """The documented 404: "no item error" / "cannot find item by sid"."""
    detail = "cannot find item by sid" if sid is not None else "cannot find the requested path"
    return ApiProblem(404, "no item error", [FieldError(None, detail)])


def invalid(*errors: FieldError) -> ApiProblem:
    """A 422 object-validation failure."""
    return ApiProblem(422, "object validation error", errors)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
