"""The sandbox's messaging enablement endpoint (POST/GET .../{sid}/messaging), over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from importer.sandbox import READ_ONLY_TOKEN, SandboxServer

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/phonenumber/external_dids"


def client(server: SandboxServer, token: str | None = None) -> httpx.Client:
    """An httpx client on `server` with a Bearer token (partner-a's by default)."""
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=10)


def registered(api: httpx.Client, capabilities: int = 27) -> str:
    """Register the sample number; return its messaging URL."""
    body = {"phonenumber": "12059051025", "capabilities": capabilities}
    sid = api.post(COLLECTION, json=body).json()["external_did_sid"]
    return f"{COLLECTION}/{sid}/messaging"


def record_of(api: httpx.Client, messaging_url: str) -> dict[str, Any]:
    """The External DID object behind a messaging URL."""
    body: dict[str, Any] = api.get(messaging_url.removesuffix("/messaging")).json()
    return body


@pytest.mark.parametrize(("initial", "enabled"), [("enabled", True), ("disabled", False)])
def test_initial_messaging_switch(
    make_sandbox: SandboxFactory, initial: str, enabled: bool
) -> None:
    """A new number's messaging starts enabled or disabled per initial_messaging."""
    server = make_sandbox(initial_messaging=initial)
    with client(server) as api:
        url = registered(api)
        state = api.get(url).json()
        assert (state["status"], state["enabled"]) == (initial, enabled)
        assert record_of(api, url)["active_capabilities"] == 27


def test_disable_goes_in_progress_then_disabled(sandbox_client: httpx.Client) -> None:
    """POST answers in_progress; the next read shows disabled and active_capabilities 0."""
    url = registered(sandbox_client)
    started = sandbox_client.post(url, json={"enabled": False})
    assert (started.status_code, started.json()["status"]) == (200, "in_progress")
    assert sandbox_client.get(url).json()["status"] == "disabled"
    assert record_of(sandbox_client, url)["active_capabilities"] == 0


def test_enable_sets_campaign_and_active_capabilities(make_sandbox: SandboxFactory) -> None:
    """Enabling a2p with a campaign ends enabled, with active_capabilities = capabilities."""
    server = make_sandbox(initial_messaging="disabled")
    with client(server) as api:
        url = registered(api, capabilities=3)
        body = {"enabled": True, "type": "a2p", "campaign_sid": "camp-1"}
        assert api.post(url, json=body).json()["status"] == "in_progress"
        state = api.get(url).json()
        record = record_of(api, url)
    assert (state["status"], state["type"], state["campaign_sid"]) == ("enabled", "a2p", "camp-1")
    assert (record["active_capabilities"], record["campaign_sid"]) == (3, "camp-1")


@pytest.mark.parametrize(("forced", "status"), [(False, 409), (True, 200)])
def test_change_while_in_progress_needs_force(
    make_sandbox: SandboxFactory, forced: bool, status: int
) -> None:
    """A second change while one is in progress is 409 unless force=true."""
    server = make_sandbox(messaging_settle_s=60)
    with client(server) as api:
        url = registered(api)
        api.post(url, json={"enabled": False})
        params = {"force": "true"} if forced else {}
        response = api.post(url, json={"enabled": True}, params=params)
        assert api.get(url).json()["status"] == "in_progress"
    assert response.status_code == status


@pytest.mark.parametrize(("forced", "status"), [(False, "enabled"), (True, "in_progress")])
def test_asking_for_the_current_state_is_a_noop_unless_forced(
    sandbox_client: httpx.Client, forced: bool, status: str
) -> None:
    """Enabling an enabled number changes nothing; with force=true it is redone."""
    url = registered(sandbox_client)
    params = {"force": "true"} if forced else {}
    assert (
        sandbox_client.post(url, json={"enabled": True}, params=params).json()["status"] == status
    )


@pytest.mark.parametrize(("outcome", "final"), [("success", "disabled"), ("failed", "failed")])
def test_messaging_outcome_switch(make_sandbox: SandboxFactory, outcome: str, final: str) -> None:
    """The change ends as asked, or 'failed', per messaging_outcome."""
    server = make_sandbox(messaging_outcome=outcome)
    with client(server) as api:
        url = registered(api)
        api.post(url, json={"enabled": False})
        assert api.get(url).json()["status"] == final


@pytest.mark.parametrize(
    "body",
    [{}, {"enabled": "yes"}, {"enabled": True, "type": "x"}, {"enabled": True, "p2p_nnid": 5}],
)
def test_bad_messaging_bodies_are_422(sandbox_client: httpx.Client, body: dict[str, Any]) -> None:
    """A missing or non-boolean enabled, an unknown type, a non-string id is 422."""
    assert sandbox_client.post(registered(sandbox_client), json=body).status_code == 422


def test_messaging_needs_manage_scope_and_own_record(sandbox: SandboxServer) -> None:
    """A read-only token can read but not change messaging; unknown sids are 404."""
    with client(sandbox) as manager:
        url = registered(manager)
    with client(sandbox, READ_ONLY_TOKEN) as reader:
        assert reader.get(url).status_code == 200
        assert reader.post(url, json={"enabled": False}).status_code == 403
        assert reader.get(f"{COLLECTION}/nope/messaging").status_code == 404


def test_messaging_state_is_in_the_admin_view(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    """The admin state view shows each record's messaging state."""
    url = registered(sandbox_client)
    sandbox_client.post(url, json={"enabled": False})
    state = httpx.get(f"{sandbox.root_url}/_sandbox/state").json()
    (messaging,) = state["messaging"].values()
    assert messaging["status"] == "in_progress"


def test_change_settles_after_messaging_settle_s(make_sandbox: SandboxFactory) -> None:
    """With messaging_settle_s the status stays in_progress that long, then becomes enabled."""
    server = make_sandbox(initial_messaging="disabled", messaging_settle_s=0.3)
    with client(server) as api:
        url = registered(api)
        api.post(url, json={"enabled": True, "type": "p2p", "p2p_nnid": "nnid-1"})
        assert api.get(url).json()["status"] == "in_progress"
        time.sleep(0.35)
        listed = api.get(COLLECTION).json()["items"][0]
        assert api.get(url).json()["status"] == "enabled"
    assert listed["active_capabilities"] == 27
