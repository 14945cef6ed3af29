"""The sandbox's OpenAPI description is served and holds: schemathesis fuzzes every operation.

Every generated request (valid or not, any token state the schema allows) must get an
answer the description documents: a listed status, JSON where JSON is promised, a body
matching its schema, no 5xx (faults are off), and Retry-After on 429.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from importer.sandbox import DEFAULT_TOKEN, SandboxServer
from importer.sandbox.openapi import openapi_document

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_sandbox() -> Iterator[SandboxServer]:
    """One sandbox for the whole fuzz run, with a few records to hit."""
    with SandboxServer() as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        for n in range(3):
            body = {"phonenumber": f"1205905{1000 + n}", "capabilities": 3}
            httpx.post(server.base_url + "/phonenumber/external_dids", json=body, headers=headers)
        yield server


def test_openapi_document_is_served(fuzzed_sandbox: SandboxServer) -> None:
    """GET /_sandbox/openapi.json returns the same document the module builds."""
    response = httpx.get(f"{fuzzed_sandbox.root_url}/_sandbox/openapi.json")
    assert response.json() == openapi_document()


def test_openapi_describes_every_route() -> None:
    """Each collection spelling has list/register, get/patch/put/delete and messaging."""
    paths = openapi_document()["paths"]
    for spelling in ("external_dids", "external-dids"):
        base = f"/phonenumber/{spelling}"
        assert set(paths[base]) == {"get", "post"}
        assert set(paths[base + "/{sid}"]) == {"get", "patch", "put", "delete"}
        assert set(paths[base + "/{sid}/messaging"]) == {"get", "post"}


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_answer_matches_the_description(
    case: schemathesis.Case, fuzzed_sandbox: SandboxServer
) -> None:
    """Generated requests get documented statuses and bodies, and never a 5xx."""
    case.call_and_validate(
        base_url=fuzzed_sandbox.base_url,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        checks=CHECKS,
    )
