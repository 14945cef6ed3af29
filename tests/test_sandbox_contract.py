"""The sandbox against carrierx-api.md, over real HTTP: connection, auth, object, register.

Each test pins one row of the contract; [assumed] rows run under both settings of their
switch. Where each row of carrierx-api.md is exercised:

- Connection: base URL (test_sandbox_state), Bearer/Basic, 401, 415, 400, scopes → 403
  (switch 401), 200 on create / 204 on delete, 404 path: here. 429 + Retry-After, 5xx,
  lost answers ("no idempotency"): test_sandbox_faults.
- Error body, object fields and defaults, capability bits: here.
- Endpoints: register (here); list, get, PATCH/PUT, DELETE with both spellings:
  test_sandbox_endpoints; messaging with force and in_progress → enabled:
  test_sandbox_messaging. List envelope: test_sandbox_endpoints. Filter language and
  order: test_sandbox_filters.
- Registration failures table (duplicate 422/409, capabilities, prefixes, missing and
  unknown carrier, partner not enabled, bad token): here.
- OpenAPI description and its fuzzing: test_sandbox_openapi.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from importer.sandbox import (
    CREATE_ONLY_TOKEN,
    DEFAULT_CARRIER_SID,
    DELETE_ONLY_TOKEN,
    PARTNER_B_TOKEN,
    READ_ONLY_TOKEN,
    Partner,
    SandboxConfig,
    SandboxServer,
)

SandboxFactory = Callable[..., SandboxServer]

COLLECTION = "/phonenumber/external_dids"
SEED_REQUEST = {
    "phonenumber": "12059051025",
    "capabilities": 3,
    "callback_url": "https://example.com/sms-callback",
    "underlying_carrier_sid": "61ced070-8dad-43b4-b5e6-f7d61f7aeb65",
}
SEED_OBJECT: dict[str, Any] = {
    "active_capabilities": 3,
    "attributes": {},
    "callback_url": "https://example.com/sms-callback",
    "campaign_sid": None,
    "capabilities": 3,
    "classification_sid": None,
    "country_code": "USA",
    "external_did_sid": "8efbf9d0-3872-4f5c-b4b6-e6ba64176f30",
    "in_country_format": None,
    "international_format": None,
    "lata": "476",
    "locality": "BIRMINGHAM",
    "lrn_sid": None,
    "name": "External DID 102505",
    "ocn": "XXXX",
    "ocn_block": "XXXX",
    "partner_sid": "a13c384d-cf78-46fd-ab8b-1056b49291ba",
    "phonenumber": "12059051025",
    "state": "AL",
    "status": "assigned",
    "string_key_1": None,
    "string_key_2": None,
    "underlying_carrier_sid": "61ced070-8dad-43b4-b5e6-f7d61f7aeb65",
}
NUMBER = "12059051025"
OTHER_NUMBER = "12059051026"


def client(server: SandboxServer, token: str | None = None, **kwargs: Any) -> httpx.Client:
    """An httpx client on `server` with a Bearer token (partner-a's by default)."""
    headers = {"Authorization": f"Bearer {token or server.token}"} if token != "" else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=10, **kwargs)


def register(api: httpx.Client, number: str = NUMBER, **fields: Any) -> httpx.Response:
    """POST a register request with capabilities 3 unless overridden."""
    return api.post(COLLECTION, json={"phonenumber": number, "capabilities": 3} | fields)


def error_fields(response: httpx.Response) -> list[str | None]:
    """The `field` of every entry of a CarrierX error body."""
    body = response.json()
    assert set(body) == {"message", "errors"}
    for error in body["errors"]:
        assert set(error) == {"field", "message", "reference_sid"}
    return [error["field"] for error in body["errors"]]


# -- the seed's own sample -------------------------------------------------------------


def test_seed_sample_request_returns_the_sample_object(sandbox_client: httpx.Client) -> None:
    """The register page's curl returns 200 and an object with every field of the sample."""
    response = sandbox_client.post(COLLECTION, json=SEED_REQUEST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(SEED_OBJECT)
    same = ("active_capabilities", "attributes", "callback_url", "capabilities", "country_code")
    same += ("name", "partner_sid", "phonenumber", "status", "underlying_carrier_sid")
    assert {key: body[key] for key in same} == {key: SEED_OBJECT[key] for key in same}


def test_register_derives_fields_from_the_number(sandbox_client: httpx.Client) -> None:
    """country_code is alpha-3 and both formats come from phonenumbers."""
    body = register(sandbox_client, "442079460000").json()
    assert body["country_code"] == "GBR"
    assert body["in_country_format"] == "020 7946 0000"
    assert body["international_format"] == "+44 20 7946 0000"
    assert body["external_did_sid"] != body["partner_sid"]


def test_register_generates_successive_names(sandbox_client: httpx.Client) -> None:
    """Without a name the server generates 'External DID <n>'; a sent name is kept."""
    first = register(sandbox_client).json()
    second = register(sandbox_client, OTHER_NUMBER, name="Front desk").json()
    third = register(sandbox_client, "12059051027").json()
    assert [first["name"], second["name"], third["name"]] == [
        "External DID 102505",
        "Front desk",
        "External DID 102506",
    ]


def test_register_keeps_optional_fields(sandbox_client: httpx.Client) -> None:
    """callback_url, name, attributes, string_key_1/2 are stored as sent [assumed]."""
    sent = {"attributes": {"team": "ops"}, "string_key_1": "a", "string_key_2": "b"}
    body = register(sandbox_client, capabilities=27, **sent).json()
    assert {key: body[key] for key in sent} == sent
    assert body["active_capabilities"] == body["capabilities"] == 27


@pytest.mark.parametrize(("setting", "stored"), [("store", True), ("ignore", False)])
def test_register_optional_fields_switch(
    make_sandbox: SandboxFactory, setting: str, stored: bool
) -> None:
    """Optional register fields are stored, or ignored (set later by PATCH), per the switch."""
    server = make_sandbox(register_optional_fields=setting)
    sent = {"callback_url": "https://a.example/cb", "name": "Desk", "string_key_1": "k"}
    with client(server) as api:
        body = register(api, **sent).json()
    assert ({key: body[key] for key in sent} == sent) is stored
    assert body["name"] == ("Desk" if stored else "External DID 102505")


# -- connection: auth, content type, status codes -------------------------------------


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_missing_or_bad_token_is_401(sandbox: SandboxServer, token: str) -> None:
    """No token or an unknown token gets 401 with the error body, on every endpoint."""
    with client(sandbox, token) as api:
        for response in (register(api), api.get(COLLECTION), api.get(COLLECTION + "/x")):
            assert response.status_code == 401
            assert error_fields(response) == [None]


def test_http_basic_login_is_accepted(sandbox: SandboxServer) -> None:
    """A partner may use HTTP Basic [doc]; a wrong password is 401."""
    good = base64.b64encode(b"partner-a:sandbox-password").decode()
    bad = base64.b64encode(b"partner-a:nope").decode()
    with httpx.Client(base_url=sandbox.base_url) as api:
        assert api.get(COLLECTION, headers={"Authorization": f"Basic {good}"}).status_code == 200
        assert api.get(COLLECTION, headers={"Authorization": f"Basic {bad}"}).status_code == 401


@pytest.mark.parametrize("header", ["Token sandbox-token", "Basic %%%", "Basic", "Bearer"])
def test_unusable_authorization_headers_are_401(sandbox: SandboxServer, header: str) -> None:
    """An unknown scheme, undecodable Basic credentials or an empty Bearer get 401."""
    response = httpx.get(sandbox.base_url + COLLECTION, headers={"Authorization": header})
    assert response.status_code == 401


def test_body_without_json_content_type_is_415(sandbox_client: httpx.Client) -> None:
    """A body sent as anything but application/json is refused with 415 [doc]."""
    response = sandbox_client.post(
        COLLECTION, content=b'{"phonenumber":"12059051025"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert sandbox_client.post(COLLECTION).status_code == 415


def test_malformed_json_is_400(sandbox_client: httpx.Client) -> None:
    """Malformed JSON gets 400 [doc]."""
    headers = {"Content-Type": "application/json"}
    response = sandbox_client.post(COLLECTION, content=b'{"phonenumber": ', headers=headers)
    assert response.status_code == 400
    assert error_fields(response) == [None]


def test_json_that_is_not_an_object_is_422(sandbox_client: httpx.Client) -> None:
    """A JSON array or string as the body is an object validation error."""
    assert sandbox_client.post(COLLECTION, json=[1, 2]).status_code == 422


def test_create_is_200_and_delete_is_204(sandbox_client: httpx.Client) -> None:
    """Create answers 200 (not 201); delete answers 204 with no body [doc]."""
    created = register(sandbox_client)
    assert created.status_code == 200
    deleted = sandbox_client.delete(f"{COLLECTION}/{created.json()['external_did_sid']}")
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_unknown_path_is_404_with_error_body(sandbox_client: httpx.Client) -> None:
    """An unknown path gets 404 with the CarrierX error body."""
    response = sandbox_client.get("/phonenumber/nothing_here")
    assert response.status_code == 404
    assert response.json()["message"] == "no item error"


# -- scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "allowed"),
    [
        (READ_ONLY_TOKEN, {"list", "get"}),
        (CREATE_ONLY_TOKEN, {"register"}),
        (DELETE_ONLY_TOKEN, {"delete"}),
    ],
)
def test_each_scope_allows_only_its_calls(
    sandbox: SandboxServer, token: str, allowed: set[str]
) -> None:
    """read → list/get, create → register, delete → delete [doc]; others get 403 [assumed]."""
    with client(sandbox) as manager:
        sid = register(manager, OTHER_NUMBER).json()["external_did_sid"]
    with client(sandbox, token) as api:
        statuses = {
            "register": register(api).status_code,
            "list": api.get(COLLECTION).status_code,
            "get": api.get(f"{COLLECTION}/{sid}").status_code,
            "delete": api.delete(f"{COLLECTION}/{sid}").status_code,
        }
    assert {call for call, status in statuses.items() if status < 300} == allowed
    assert {status for call, status in statuses.items() if call not in allowed} == {403}


@pytest.mark.parametrize("status", [403, 401])
def test_missing_scope_status_switch(make_sandbox: SandboxFactory, status: int) -> None:
    """missing_scope_status chooses 403 (default) or 401 for a token without the scope."""
    server = make_sandbox(missing_scope_status=status)
    with client(server, READ_ONLY_TOKEN) as api:
        assert register(api).status_code == status


def test_partner_without_external_dids_is_403(make_sandbox: SandboxFactory) -> None:
    """A partner not enabled for External DIDs gets 403 on every call."""
    partner = Partner(
        name="off",
        partner_sid="c0c0c0c0-0000-4000-8000-000000000000",
        tokens={"off-token": frozenset({"phonenumber.manage"})},
        default_carrier_sid=DEFAULT_CARRIER_SID,
        external_dids_enabled=False,
    )
    server = make_sandbox(SandboxConfig(partners=[partner]))
    with client(server) as api:
        assert register(api).status_code == 403
        assert api.get(COLLECTION).status_code == 403


# -- registration failures the client must tell apart ----------------------------------


@pytest.mark.parametrize("status", [422, 409])
def test_duplicate_of_own_number_names_the_existing_sid(
    make_sandbox: SandboxFactory, status: int
) -> None:
    """A number the caller already has is refused (422 or 409) with reference_sid = its sid."""
    server = make_sandbox(duplicate_status=status)
    with client(server) as api:
        sid = register(api).json()["external_did_sid"]
        response = register(api)
    assert response.status_code == status
    assert response.json()["errors"] == [
        {
            "field": "phonenumber",
            "message": "phonenumber is already registered",
            "reference_sid": sid,
        }
    ]


@pytest.mark.parametrize("status", [422, 409])
def test_number_of_another_partner_is_refused_without_its_sid(
    make_sandbox: SandboxFactory, status: int
) -> None:
    """A number registered by another partner is refused and its sid is not revealed."""
    server = make_sandbox(duplicate_status=status)
    with client(server) as api_a:
        register(api_a)
    with client(server, PARTNER_B_TOKEN) as api_b:
        response = register(api_b, underlying_carrier_sid=DEFAULT_CARRIER_SID)
    assert response.status_code == status
    assert response.json()["errors"][0]["reference_sid"] is None
    assert len(server.state.records) == 1


@pytest.mark.parametrize("capabilities", [4, 7, 0, 32, -1, 64, 5, "3", 3.5, True, None], ids=repr)
def test_bad_capabilities_are_422(sandbox_client: httpx.Client, capabilities: object) -> None:
    """Voice, no messaging bit, a mask outside 1..31 or a non-integer is 422 on capabilities."""
    response = sandbox_client.post(
        COLLECTION, json={"phonenumber": NUMBER, "capabilities": capabilities}
    )
    assert response.status_code == 422
    assert error_fields(response) == ["capabilities"]


@pytest.mark.parametrize("capabilities", [1, 2, 3, 8, 16, 24, 27, 31 - 4])
def test_messaging_masks_are_accepted(sandbox_client: httpx.Client, capabilities: int) -> None:
    """Every mask with a messaging bit and no voice bit registers."""
    assert register(sandbox_client, capabilities=capabilities).status_code == 200


def test_number_outside_allowed_prefixes_is_422(make_sandbox: SandboxFactory) -> None:
    """A partner restricted to prefixes gets 422 on phonenumber for other numbers [doc]."""
    partner = Partner(
        name="uk-only",
        partner_sid="d1d1d1d1-0000-4000-8000-000000000000",
        tokens={"uk-token": frozenset({"phonenumber.manage"})},
        default_carrier_sid=DEFAULT_CARRIER_SID,
        allowed_prefixes=("44",),
    )
    server = make_sandbox(SandboxConfig(partners=[partner]))
    with client(server) as api:
        refused = register(api)
        accepted = register(api, "442079460000")
    assert (refused.status_code, error_fields(refused)) == (422, ["phonenumber"])
    assert accepted.status_code == 200


def test_no_carrier_and_no_partner_default_is_422(sandbox: SandboxServer) -> None:
    """Without underlying_carrier_sid and without a partner default, register fails [doc]."""
    with client(sandbox, PARTNER_B_TOKEN) as api:
        response = register(api)
        assert (response.status_code, error_fields(response)) == (422, ["underlying_carrier_sid"])
        assert register(api, underlying_carrier_sid=DEFAULT_CARRIER_SID).status_code == 200


def test_partner_default_carrier_fills_a_missing_carrier(sandbox_client: httpx.Client) -> None:
    """With a default underlying carrier the field may be omitted [doc]."""
    body = register(sandbox_client).json()
    assert body["underlying_carrier_sid"] == DEFAULT_CARRIER_SID


@pytest.mark.parametrize(("carrier_check", "status"), [("known", 422), ("any", 200)])
def test_unknown_carrier_switch(
    make_sandbox: SandboxFactory, carrier_check: str, status: int
) -> None:
    """carrier_check=known refuses an unknown underlying_carrier_sid; any accepts it."""
    server = make_sandbox(carrier_check=carrier_check)
    with client(server) as api:
        response = register(api, underlying_carrier_sid="00000000-0000-4000-8000-000000000000")
    assert response.status_code == status


@pytest.mark.parametrize(
    "number", ["", "abc", "012059051025", "1205905", "1205905102512345", "15555550100", 12059051025]
)
def test_malformed_numbers_are_422(sandbox_client: httpx.Client, number: object) -> None:
    """Non-digits, a leading 0, wrong lengths, invalid or non-string numbers are 422."""
    response = sandbox_client.post(COLLECTION, json={"phonenumber": number, "capabilities": 3})
    assert (response.status_code, error_fields(response)) == (422, ["phonenumber"])


@pytest.mark.parametrize(("number_check", "status"), [("valid", 422), ("possible", 200)])
def test_number_check_switch(make_sandbox: SandboxFactory, number_check: str, status: int) -> None:
    """number_check=valid refuses an unassigned-range number; possible accepts it."""
    server = make_sandbox(number_check=number_check)
    with client(server) as api:
        assert register(api, "15555550100").status_code == status


@pytest.mark.parametrize(("plus_prefix", "status"), [("reject", 422), ("strip", 200)])
def test_plus_prefix_switch(make_sandbox: SandboxFactory, plus_prefix: str, status: int) -> None:
    """A '+' before the number is refused, or stripped, per plus_prefix."""
    server = make_sandbox(plus_prefix=plus_prefix)
    with client(server) as api:
        response = register(api, "+" + NUMBER)
    assert response.status_code == status
    if status == 200:
        assert response.json()["phonenumber"] == NUMBER


@pytest.mark.parametrize(("extra_fields", "status"), [("ignore", 200), ("reject", 422)])
def test_extra_fields_switch(make_sandbox: SandboxFactory, extra_fields: str, status: int) -> None:
    """Unknown or read-only fields in a body are ignored, or refused, per extra_fields."""
    server = make_sandbox(extra_fields=extra_fields)
    with client(server) as api:
        response = register(api, status="disabled", colour="blue")
    assert response.status_code == status
    if status == 422:
        assert error_fields(response) == ["colour", "status"]
    else:
        assert response.json()["status"] == "assigned"


def test_every_problem_of_a_body_is_reported(sandbox: SandboxServer) -> None:
    """A body with several problems lists one error per field."""
    with client(sandbox, PARTNER_B_TOKEN) as api:
        response = api.post(
            COLLECTION,
            json={"phonenumber": "x", "capabilities": 4, "callback_url": "ftp://x", "name": 5},
        )
    assert response.status_code == 422
    assert sorted(map(str, error_fields(response))) == [
        "callback_url",
        "capabilities",
        "name",
        "phonenumber",
        "underlying_carrier_sid",
    ]
