"""The sandbox's list, get, update, delete and messaging endpoints, over real HTTP.

Rows of carrierx-api.md's endpoint table and list envelope; [assumed] rows run under
both settings of their switch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from importer.sandbox import PARTNER_B_TOKEN, SandboxServer

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/phonenumber/external_dids"
NUMBERS = [f"1205905{1000 + n}" for n in range(25)]


def client(server: SandboxServer, token: str | None = None) -> httpx.Client:
    """An httpx client on `server` with a Bearer token (partner-a's by default)."""
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=10)


def register(api: httpx.Client, number: str = NUMBERS[0], **fields: Any) -> dict[str, Any]:
    """Register a number (capabilities 3 unless given); return the object."""
    response = api.post(COLLECTION, json={"phonenumber": number, "capabilities": 3} | fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def filled(sandbox: SandboxServer, sandbox_client: httpx.Client) -> list[dict[str, Any]]:
    """25 numbers registered by partner-a, and one by partner-b."""
    records = [register(sandbox_client, number) for number in NUMBERS]
    with client(sandbox, PARTNER_B_TOKEN) as other:
        register(other, "12059059999", underlying_carrier_sid=records[0]["underlying_carrier_sid"])
    return records


# -- list -------------------------------------------------------------------------------


def test_list_envelope_and_default_limit(
    sandbox_client: httpx.Client, filled: list[dict[str, Any]]
) -> None:
    """The page has count, has_more, items, limit (default 10), offset, pagination, total."""
    page = sandbox_client.get(COLLECTION).json()
    assert set(page) == {"count", "has_more", "items", "limit", "offset", "pagination", "total"}
    assert (page["count"], page["limit"], page["offset"], page["total"]) == (10, 10, 0, 25)
    assert page["has_more"] is True
    assert [item["phonenumber"] for item in page["items"]] == NUMBERS[:10]


def test_list_shows_only_the_callers_records(
    sandbox: SandboxServer, filled: list[dict[str, Any]]
) -> None:
    """Each partner lists its own numbers only."""
    with client(sandbox, PARTNER_B_TOKEN) as other:
        page = other.get(COLLECTION).json()
    assert [item["phonenumber"] for item in page["items"]] == ["12059059999"]


def test_pagination_next_walks_every_record(
    sandbox_client: httpx.Client, filled: list[dict[str, Any]]
) -> None:
    """Following pagination.next (an absolute URL) visits every record once, then stops."""
    seen: list[str] = []
    base = str(sandbox_client.base_url).rstrip("/")
    url: str | None = f"{base}{COLLECTION}?limit=7&filter=status eq assigned"
    while url is not None:
        page = sandbox_client.get(url).json()
        seen += [item["phonenumber"] for item in page["items"]]
        url = page["pagination"].get("next")
        assert url is None or url.startswith("http://127.0.0.1:")
        assert page["has_more"] is (url is not None)
    assert seen == NUMBERS


def test_offset_and_previous_link(
    sandbox_client: httpx.Client, filled: list[dict[str, Any]]
) -> None:
    """offset skips records; a later page links back with pagination.previous."""
    page = sandbox_client.get(COLLECTION, params={"limit": 5, "offset": 20}).json()
    assert [item["phonenumber"] for item in page["items"]] == NUMBERS[20:]
    assert page["has_more"] is False
    assert "offset=15" in page["pagination"]["previous"]


@pytest.mark.parametrize(
    ("limit_over_max", "status", "limit"), [("clamp", 200, 1000), ("reject", 422, None)]
)
def test_limit_over_max_switch(
    make_sandbox: SandboxFactory, limit_over_max: str, status: int, limit: int | None
) -> None:
    """limit above 1000 is clamped to 1000, or refused with 422, per limit_over_max."""
    server = make_sandbox(limit_over_max=limit_over_max)
    with client(server) as api:
        response = api.get(COLLECTION, params={"limit": 5000})
    assert response.status_code == status
    if limit is not None:
        assert response.json()["limit"] == limit


@pytest.mark.parametrize(
    "params", [{"limit": "x"}, {"offset": "-1"}, {"limit": "-5"}, {"limit": "0"}, {"offset": "1.5"}]
)
def test_bad_paging_parameters_are_422(
    sandbox_client: httpx.Client, params: dict[str, str]
) -> None:
    """A non-integer, negative (or zero) limit or offset is a 422 naming the parameter."""
    response = sandbox_client.get(COLLECTION, params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(params))


@pytest.mark.parametrize(("list_total", "total"), [("count", 25), ("null", None)])
def test_list_total_switch(
    make_sandbox: SandboxFactory, list_total: str, total: int | None
) -> None:
    """total is the match count, or null (clients must page by has_more) per list_total."""
    server = make_sandbox(list_total=list_total)
    with client(server) as api:
        for number in NUMBERS:
            register(api, number)
        page = api.get(COLLECTION).json()
    assert (page["total"], page["has_more"]) == (total, True)


def test_with_related_is_accepted(sandbox_client: httpx.Client) -> None:
    """with_related is a documented list parameter and does not break the list."""
    assert sandbox_client.get(COLLECTION, params={"with_related": "true"}).status_code == 200


# -- get --------------------------------------------------------------------------------


def test_get_returns_the_object(sandbox_client: httpx.Client) -> None:
    """GET by sid returns the same object the register answered."""
    created = register(sandbox_client)
    assert sandbox_client.get(f"{COLLECTION}/{created['external_did_sid']}").json() == created


def test_unknown_sid_is_404_with_documented_body(sandbox_client: httpx.Client) -> None:
    """An unknown sid gets 404, message 'no item error', 'cannot find item by sid' [doc]."""
    response = sandbox_client.get(f"{COLLECTION}/8efbf9d0-3872-4f5c-b4b6-e6ba64176f30")
    assert response.status_code == 404
    assert response.json() == {
        "message": "no item error",
        "errors": [{"field": None, "message": "cannot find item by sid", "reference_sid": None}],
    }


def test_another_partners_sid_is_404(sandbox: SandboxServer, sandbox_client: httpx.Client) -> None:
    """A partner cannot read, change or delete another partner's record."""
    sid = register(sandbox_client)["external_did_sid"]
    with client(sandbox, PARTNER_B_TOKEN) as other:
        assert other.get(f"{COLLECTION}/{sid}").status_code == 404
        assert other.patch(f"{COLLECTION}/{sid}", json={"name": "x"}).status_code == 404
        assert other.delete(f"{COLLECTION}/{sid}").status_code == 404


# -- update -----------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(sandbox_client: httpx.Client) -> None:
    """PATCH changes the fields sent and leaves the others as they were [doc]."""
    created = register(sandbox_client, callback_url="https://a.example/cb", string_key_1="k")
    url = f"{COLLECTION}/{created['external_did_sid']}"
    updated = sandbox_client.patch(url, json={"name": "Renamed"}).json()
    assert updated == created | {"name": "Renamed"}


@pytest.mark.parametrize(
    ("attributes_patch", "expected"),
    [("merge", {"a": "1", "b": "2"}), ("replace", {"b": "2"})],
)
def test_attributes_patch_switch(
    make_sandbox: SandboxFactory, attributes_patch: str, expected: dict[str, str]
) -> None:
    """PATCH attributes merge into, or replace, the stored ones per attributes_patch."""
    server = make_sandbox(attributes_patch=attributes_patch)
    with client(server) as api:
        sid = register(api, attributes={"a": "1"})["external_did_sid"]
        updated = api.patch(f"{COLLECTION}/{sid}", json={"attributes": {"b": "2"}}).json()
    assert updated["attributes"] == expected


@pytest.mark.parametrize(
    ("put_semantics", "callback_url"), [("patch", "https://a.example/cb"), ("replace", None)]
)
def test_put_semantics_switch(
    make_sandbox: SandboxFactory, put_semantics: str, callback_url: str | None
) -> None:
    """PUT acts like PATCH, or resets the writable fields it does not send, per put_semantics."""
    server = make_sandbox(put_semantics=put_semantics)
    with client(server) as api:
        sid = register(api, callback_url="https://a.example/cb")["external_did_sid"]
        updated = api.put(f"{COLLECTION}/{sid}", json={"string_key_1": "x"}).json()
    assert (updated["callback_url"], updated["string_key_1"]) == (callback_url, "x")


@pytest.mark.parametrize(("capabilities_change", "status"), [("reject", 422), ("ignore", 200)])
def test_capabilities_change_switch(
    make_sandbox: SandboxFactory, capabilities_change: str, status: int
) -> None:
    """Changing capabilities is refused with 422 [doc: not allowed], or silently ignored."""
    server = make_sandbox(capabilities_change=capabilities_change)
    with client(server) as api:
        sid = register(api)["external_did_sid"]
        response = api.patch(f"{COLLECTION}/{sid}", json={"capabilities": 24})
        unchanged = api.patch(f"{COLLECTION}/{sid}", json={"capabilities": 3})
        stored = api.get(f"{COLLECTION}/{sid}").json()
    assert response.status_code == status
    assert unchanged.status_code == 200
    assert stored["capabilities"] == 3


def test_patch_validates_fields(sandbox_client: httpx.Client) -> None:
    """PATCH refuses an unknown carrier, a new number and badly typed fields with 422."""
    sid = register(sandbox_client)["external_did_sid"]
    body = {"underlying_carrier_sid": "nope", "phonenumber": NUMBERS[1], "attributes": [1]}
    response = sandbox_client.patch(f"{COLLECTION}/{sid}", json=body)
    assert response.status_code == 422
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["attributes", "phonenumber", "underlying_carrier_sid"]


def test_patch_needs_json(sandbox_client: httpx.Client) -> None:
    """PATCH without a JSON content type is 415, with malformed JSON 400."""
    sid = register(sandbox_client)["external_did_sid"]
    url = f"{COLLECTION}/{sid}"
    assert sandbox_client.patch(url, content=b"name=x").status_code == 415
    bad = sandbox_client.patch(url, content=b"{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400


# -- delete -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["external_dids", "external-dids"])
def test_delete_under_both_spellings(sandbox_client: httpx.Client, spelling: str) -> None:
    """DELETE answers 204 under external_dids and external-dids; the number can return."""
    sid = register(sandbox_client)["external_did_sid"]
    assert sandbox_client.delete(f"/phonenumber/{spelling}/{sid}").status_code == 204
    assert sandbox_client.get(f"{COLLECTION}/{sid}").status_code == 404
    assert sandbox_client.delete(f"/phonenumber/{spelling}/{sid}").status_code == 404
    register(sandbox_client)


def test_hyphen_spelling_serves_every_call(sandbox_client: httpx.Client) -> None:
    """The external-dids spelling also registers, lists and reads."""
    created = sandbox_client.post(
        "/phonenumber/external-dids", json={"phonenumber": NUMBERS[0], "capabilities": 3}
    ).json()
    assert sandbox_client.get("/phonenumber/external-dids").json()["count"] == 1
    assert (
        sandbox_client.get(f"/phonenumber/external-dids/{created['external_did_sid']}").json()
        == created
    )


def test_wrong_method_is_405(sandbox_client: httpx.Client) -> None:
    """A known path with a method it does not serve gets 405 with the error body."""
    response = sandbox_client.put(COLLECTION, json={})
    assert response.status_code == 405
    assert set(response.json()) == {"message", "errors"}
