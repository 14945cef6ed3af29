"""The hostile-server fixture (tests/hostile_server.py): answers as scripted, records, stops."""

from __future__ import annotations

import socket
import time

import httpx
from hostile_server import API, Drip, HostileFactory, HostileServer, Redirect, Reply

from importer.send.client import retry_after

PATH = f"{API}/phonenumber/external_dids"
STOP_WITHIN_S = 2.0


def test_the_base_url_is_loopback_and_ends_in_core_v2(hostile: HostileFactory) -> None:
    """`base_url` is what ApiSettings.base_url takes: http://127.0.0.1:<port>/core/v2."""
    server = hostile()
    assert server.base_url == f"http://127.0.0.1:{server.port}/core/v2"
    assert server.port > 0


def test_an_unscripted_route_answers_404_with_an_error_body(hostile: HostileFactory) -> None:
    """A request no route matches gets a CarrierX-style 404, and is still recorded."""
    server = hostile()
    response = httpx.get(f"{server.base_url}/nowhere", timeout=5)
    assert response.status_code == 404
    assert response.json()["message"] == "no item error"
    assert [seen.path for seen in server.requests] == [f"{API}/nowhere"]


def test_a_reply_arrives_as_scripted(hostile: HostileFactory) -> None:
    """A 429 with Retry-After: 3600 and a body comes back exactly so."""
    server = hostile({("POST", PATH): Reply(429, b"slow down", {"Retry-After": "3600"})})
    response = httpx.post(f"{server.origin}{PATH}", json={}, timeout=5)
    assert (response.status_code, response.content) == (429, b"slow down")
    assert retry_after(response) == 3600


def test_a_redirect_carries_its_location(hostile: HostileFactory) -> None:
    """Redirect answers its status, the Location header and an empty body."""
    server = hostile({("POST", PATH): Redirect("http://127.0.0.1:1/elsewhere", status=308)})
    response = httpx.post(f"{server.origin}{PATH}", json={}, timeout=5)
    assert response.status_code == 308
    assert response.headers["Location"] == "http://127.0.0.1:1/elsewhere"
    assert response.content == b""


def test_a_sequence_is_answered_in_turn_and_its_last_answer_repeats(
    hostile: HostileFactory,
) -> None:
    """[429, 200] answers 429, then 200, then 200 again."""
    script = [Reply(429, headers={"Retry-After": "1"}), Reply(200, b"{}")]
    server = hostile({("GET", PATH): script})
    statuses = [httpx.get(f"{server.origin}{PATH}", timeout=5).status_code for _ in range(3)]
    assert statuses == [429, 200, 200]


def test_requests_are_recorded_with_method_path_query_headers_and_body(
    hostile: HostileFactory,
) -> None:
    """Each request read is kept: method, path, query, lower-cased headers, body."""
    server = hostile({("POST", PATH): Reply(200, b"{}")})
    httpx.post(f"{server.origin}{PATH}?force=true", json={"phonenumber": "1"}, timeout=5)
    [seen] = server.wait_for(1)
    assert (seen.method, seen.path, seen.query) == ("POST", PATH, "force=true")
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {"phonenumber": "1"}


def test_a_drip_sends_the_head_at_once(hostile: HostileFactory) -> None:
    """Drip's status line and headers come at once (Content-Length is the whole body's)."""
    server = hostile({("GET", PATH): Drip(b"0123456789", every=0.5)})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = _read_until(conn, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 10\r\n" in head


def test_stop_ends_an_answer_still_dripping() -> None:
    """stop() cancels a drip in progress, hangs up on its client, and joins its thread."""
    server = HostileServer({("GET", PATH): Drip(b"x" * 100, every=1.0)}).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            server.wait_for(1)
            started = time.monotonic()
            server.stop()
            assert time.monotonic() - started < STOP_WITHIN_S
            assert b"Connection: close" in _read_until(conn, b"\x00never")  # ends at hang-up
    finally:
        server.stop()


def _read_until(conn: socket.socket, marker: bytes, limit: int = 64 * 1024) -> bytes:
    """Bytes from `conn` up to `marker` (or the peer's hang-up); at most `limit` bytes."""
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
