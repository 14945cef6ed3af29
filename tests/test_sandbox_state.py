"""Sandbox state, admin view, persistence and server lifecycle."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from importer.errors import ConfigError
from importer.sandbox import DEFAULT_TOKEN, SandboxConfig, SandboxServer, create_app

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/phonenumber/external_dids"
ROOT = Path(__file__).resolve().parent.parent


def register(server: SandboxServer, number: str = "12059051025") -> httpx.Response:
    """Register one number on `server` as partner-a."""
    return httpx.post(
        server.base_url + COLLECTION,
        json={"phonenumber": number, "capabilities": 3},
        headers={"Authorization": f"Bearer {server.token}"},
    )


def test_server_urls_and_token(sandbox: SandboxServer) -> None:
    """base_url ends in /core/v2 on a loopback port; token is partner-a's first token."""
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}/core/v2"
    assert sandbox.token == DEFAULT_TOKEN
    assert sandbox.port > 0


def test_start_is_fast_and_stop_is_idempotent() -> None:
    """A server starts in well under a second; stop() twice is harmless."""
    started = time.perf_counter()
    with SandboxServer() as server:
        assert time.perf_counter() - started < 1
        assert register(server).status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + COLLECTION)


def test_port_in_use_is_a_config_error(sandbox: SandboxServer) -> None:
    """A second server on a busy port raises ConfigError naming the address."""
    with pytest.raises(ConfigError, match=f"127.0.0.1:{sandbox.port}"):
        SandboxServer(port=sandbox.port)


def test_start_twice_is_an_error(sandbox: SandboxServer) -> None:
    """A server cannot be started twice."""
    with pytest.raises(RuntimeError):
        sandbox.start()


def test_state_records_and_requests(sandbox: SandboxServer) -> None:
    """state.records holds every record, state.requests every request with its outcome."""
    register(sandbox)
    register(sandbox)
    httpx.get(sandbox.base_url + COLLECTION)
    assert [r["phonenumber"] for r in sandbox.state.records] == ["12059051025"]
    log = [(e["method"], e["status"], e["partner"]) for e in sandbox.state.requests]
    assert log == [("POST", 200, "partner-a"), ("POST", 422, "partner-a"), ("GET", 401, None)]
    assert sandbox.state.requests[0]["body"] == '{"phonenumber":"12059051025","capabilities":3}'


def test_state_copies_cannot_change_the_server(sandbox: SandboxServer) -> None:
    """Mutating what state.records returns does not change the served record."""
    register(sandbox)
    sandbox.state.records[0]["name"] = "hacked"
    assert sandbox.state.records[0]["name"] == "External DID 102505"


def test_unfiltered_list_follows_every_write(sandbox: SandboxServer) -> None:
    """The partner's records kept for the pages of a listing are made again after each
    create, update, delete and reset: a page never shows the account as it was."""
    auth = {"Authorization": f"Bearer {sandbox.token}"}

    def listed() -> list[tuple[str, str]]:
        page = httpx.get(sandbox.base_url + COLLECTION, params={"limit": 1000}, headers=auth)
        return [(item["phonenumber"], item["name"]) for item in page.json()["items"]]

    first = register(sandbox).json()["external_did_sid"]
    assert listed() == [("12059051025", "External DID 102505")]
    register(sandbox, "12059051026")
    assert [number for number, _ in listed()] == ["12059051025", "12059051026"]
    url = f"{sandbox.base_url}{COLLECTION}/{first}"
    assert httpx.patch(url, json={"name": "Renamed"}, headers=auth).status_code == 200
    assert listed()[0] == ("12059051025", "Renamed")
    assert httpx.delete(url, headers=auth).status_code == 204
    assert [number for number, _ in listed()] == ["12059051026"]
    sandbox.state.reset()
    assert listed() == []


def test_reset_forgets_everything(sandbox: SandboxServer) -> None:
    """state.reset() empties records and the request log, and restarts generated names."""
    register(sandbox)
    sandbox.state.reset()
    assert (sandbox.state.records, sandbox.state.requests) == ([], [])
    assert register(sandbox).json()["name"] == "External DID 102505"


def test_admin_views_list_requests_and_records(sandbox: SandboxServer) -> None:
    """GET /_sandbox/requests and /_sandbox/state show the log and the records, no auth."""
    register(sandbox)
    requests = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()["requests"]
    state = httpx.get(f"{sandbox.root_url}/_sandbox/state").json()
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 200)]
    assert [r["phonenumber"] for r in state["records"]] == ["12059051025"]


def test_admin_view_is_read_only(sandbox: SandboxServer) -> None:
    """The admin view refuses writes."""
    assert httpx.post(f"{sandbox.root_url}/_sandbox/state").status_code == 405


def test_request_log_limit_keeps_the_latest(make_sandbox: SandboxFactory) -> None:
    """With request_log_limit=3 only the last 3 requests are kept."""
    server = make_sandbox(request_log_limit=3)
    for n in range(5):
        register(server, f"1205905{1000 + n}")
    assert [entry["seq"] for entry in server.state.requests] == [3, 4, 5]


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    """With state_file the records, names and deletions persist across restarts."""
    config = SandboxConfig(state_file=tmp_path / "sandbox.sqlite")
    with SandboxServer(config) as first:
        sid = register(first).json()["external_did_sid"]
        register(first, "12059051026")
        headers = {"Authorization": f"Bearer {first.token}"}
        assert (
            httpx.delete(f"{first.base_url}{COLLECTION}/{sid}", headers=headers).status_code == 204
        )
    with SandboxServer(config) as second:
        assert [r["phonenumber"] for r in second.state.records] == ["12059051026"]
        third = register(second, "12059051027").json()
        assert third["name"] == "External DID 102507"
        assert third["external_did_sid"] != sid
        assert register(second, "12059051026").status_code == 422


def _register_named(server: SandboxServer, number: str) -> httpx.Response:
    return httpx.post(
        server.base_url + COLLECTION,
        json={"phonenumber": number, "capabilities": 3, "name": f"Named {number}"},
        headers={"Authorization": f"Bearer {server.token}"},
    )


def test_a_restart_never_hands_out_a_sid_a_record_holds(tmp_path: Path) -> None:
    """Named records (no generated name moves the seed) registered across restarts keep
    distinct sids: a reused sid overwrote the earlier number's record."""
    config = SandboxConfig(state_file=tmp_path / "sandbox.sqlite")
    numbers = ["12059051025", "12059051026", "12059051027"]
    for number in numbers:
        with SandboxServer(config) as server:
            assert _register_named(server, number).status_code == 200
    with SandboxServer(config) as server:
        records = server.state.records
    assert sorted(r["phonenumber"] for r in records) == numbers
    assert len({r["external_did_sid"] for r in records}) == len(numbers)


def test_memory_state_is_forgotten_on_restart() -> None:
    """Without state_file a new server starts empty."""
    with SandboxServer() as first:
        register(first)
    with SandboxServer() as second:
        assert second.state.records == []


def test_seeded_sids_reproduce() -> None:
    """Two servers with the same seed hand out the same sids in the same order."""
    sids = []
    for _ in range(2):
        with SandboxServer(SandboxConfig(seed=3)) as server:
            sids.append(register(server).json()["external_did_sid"])
    assert sids[0] == sids[1]


def test_create_app_serves_in_process() -> None:
    """create_app() is a plain ASGI app: httpx's ASGI transport can drive it."""
    app = create_app(SandboxConfig())
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    body = {"phonenumber": "12059051025", "capabilities": 3}

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/core/v2") as api:
            return await api.post(COLLECTION, json=body, headers=headers)

    assert asyncio.run(call()).status_code == 200


def test_serve_prints_url_and_stops_on_sigint() -> None:
    """serve() calls on_ready(base_url, token) once listening and exits cleanly on Ctrl-C."""
    code = (
        "from importer.sandbox import SandboxConfig, serve\n"
        "def ready(url, token):\n"
        "    print(url, token, flush=True)\n"
        "serve(SandboxConfig(), port=0, on_ready=ready)\n"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        base_url, token = process.stdout.readline().split()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base_url + COLLECTION, headers=headers).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0


def test_request_log_names_the_number_and_sid_of_every_call(sandbox: SandboxServer) -> None:
    """Each logged request says its method, path, status, record sid, number, and whether
    it changed a record: refused and unknown-sid calls are logged as not applied."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers) as api:
        sid = api.post(COLLECTION, json={"phonenumber": "12059051025", "capabilities": 3})
        sid = sid.json()["external_did_sid"]
        api.post(COLLECTION, json={"phonenumber": "12059051025", "capabilities": 3})
        api.patch(f"{COLLECTION}/{sid}", json={"name": "n"})
        api.patch(f"{COLLECTION}/{sid}", json={"capabilities": 27})
        api.get(f"{COLLECTION}/{sid}")
        api.delete(f"{COLLECTION}/{sid}")
        api.delete(f"{COLLECTION}/{sid}")
        api.get(COLLECTION)
    number = "12059051025"
    expected = [
        ("POST", COLLECTION, 200, sid, number, True),
        ("POST", COLLECTION, 422, None, number, False),
        ("PATCH", f"{COLLECTION}/{sid}", 200, sid, number, True),
        ("PATCH", f"{COLLECTION}/{sid}", 422, sid, number, False),
        ("GET", f"{COLLECTION}/{sid}", 200, sid, number, False),
        ("DELETE", f"{COLLECTION}/{sid}", 204, sid, number, True),
        ("DELETE", f"{COLLECTION}/{sid}", 404, sid, None, False),
        ("GET", COLLECTION, 200, None, None, False),
    ]
    fields = ("method", "path", "status", "external_did_sid", "phonenumber", "applied")

    def seen(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [tuple(e[f] for f in fields) for e in entries]

    assert seen([dict(e) for e in sandbox.state.requests]) == [
        (m, "/core/v2" + p, *rest) for m, p, *rest in expected
    ]
    admin = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()["requests"]
    assert seen(admin) == seen([dict(e) for e in sandbox.state.requests])
    writes = sandbox.state.applied_writes()
    assert [e["method"] for e in writes[number]] == ["POST", "PATCH", "DELETE"]


def test_applied_writes_show_a_second_write(sandbox: SandboxServer) -> None:
    """applied_writes groups the writes that changed a record by number: two PATCHes of
    one number show as two entries, so a campaign can tell a write was repeated."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers) as api:
        sid = register(sandbox).json()["external_did_sid"]
        register(sandbox, "12059051026")
        api.patch(f"{COLLECTION}/{sid}", json={"name": "a"})
        api.patch(f"{COLLECTION}/{sid}", json={"name": "a"})
    writes = sandbox.state.applied_writes()
    assert {number: len(entries) for number, entries in writes.items()} == {
        "12059051025": 3,
        "12059051026": 1,
    }
