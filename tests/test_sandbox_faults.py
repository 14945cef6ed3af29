"""Fault injection, seen by a real httpx client: latency, 429, 5xx, cuts, lost answers."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from importer.sandbox import SandboxConfig, SandboxServer
from importer.sandbox.faults import Faults, TokenBucket

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/phonenumber/external_dids"


def client(server: SandboxServer, timeout: float = 10) -> httpx.Client:
    """An httpx client on `server` with partner-a's token."""
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=timeout)


def register(api: httpx.Client, n: int = 0) -> httpx.Response:
    """Register a distinct valid number per n."""
    return api.post(COLLECTION, json={"phonenumber": f"1205905{1000 + n}", "capabilities": 3})


def test_faults_are_off_by_default(sandbox: SandboxServer) -> None:
    """With the default config 50 requests all succeed and no fault is logged."""
    with client(sandbox) as api:
        statuses = {register(api, n).status_code for n in range(50)}
    assert statuses == {200}
    assert {entry["fault"] for entry in sandbox.state.requests} == {None}


def test_fixed_latency_delays_every_answer(make_sandbox: SandboxFactory) -> None:
    """latency_ms delays each answer by about that much."""
    server = make_sandbox(latency_ms=150)
    with client(server) as api:
        started = time.perf_counter()
        api.get(COLLECTION)
        assert time.perf_counter() - started >= 0.14


@pytest.mark.parametrize("distribution", ["uniform", "exponential"])
def test_latency_distribution_is_seeded(distribution: str) -> None:
    """The same seed draws the same latencies; jitter spreads them."""
    config = SandboxConfig(latency_ms=20, latency_jitter_ms=10, latency_distribution=distribution)
    drawn, again = Faults(config), Faults(config)
    series = [drawn.decide().latency_s for _ in range(20)]
    assert series == [again.decide().latency_s for _ in range(20)]
    assert len(set(series)) > 1
    assert all(latency >= 0 for latency in series)


def test_burst_over_rate_limit_gets_429_with_retry_after(make_sandbox: SandboxFactory) -> None:
    """Under rate_limit=50 a burst of 500 gets 429s carrying Retry-After in whole seconds."""
    server = make_sandbox(rate_limit=50)
    started = time.perf_counter()
    with client(server) as api:
        responses = [api.get(COLLECTION) for _ in range(500)]
    elapsed = time.perf_counter() - started
    limited = [r for r in responses if r.status_code == 429]
    assert 500 - len(limited) <= 50 + 50 * elapsed + 1
    assert {r.status_code for r in responses} == {200, 429}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    assert limited[0].json()["message"] == "too many requests"
    faults = [entry["fault"] for entry in server.state.requests]
    assert faults.count("rate_limited") == len(limited)


@pytest.mark.parametrize("header", [True, False])
def test_retry_after_header_switch(make_sandbox: SandboxFactory, header: bool) -> None:
    """429 carries Retry-After, or not, per retry_after_header [assumed: may carry it]."""
    server = make_sandbox(rate_limit=1, retry_after_header=header)
    with client(server) as api:
        api.get(COLLECTION)
        response = api.get(COLLECTION)
    assert response.status_code == 429
    assert ("Retry-After" in response.headers) is header


def test_token_bucket_refills_at_the_rate() -> None:
    """After the burst is spent, one request per 1/rate seconds is let through."""
    bucket = TokenBucket(10)
    assert all(bucket.take() is None for _ in range(10))
    wait = bucket.take()
    assert wait is not None
    assert 0 < wait <= 0.1
    time.sleep(0.11)
    assert bucket.take() is None


def test_fail_rate_answers_500_or_503(make_sandbox: SandboxFactory) -> None:
    """fail_rate=1 answers every request with an injected 500 or 503 and creates nothing."""
    server = make_sandbox(fail_rate=1.0)
    with client(server) as api:
        statuses = {register(api, n).status_code for n in range(20)}
    assert statuses == {500, 503}
    assert server.state.records == []


def test_drop_rate_cuts_the_connection(make_sandbox: SandboxFactory) -> None:
    """drop_rate=1 closes the connection without an answer: the client sees a transport error."""
    server = make_sandbox(drop_rate=1.0)
    for _ in range(20):
        with client(server) as api, pytest.raises(httpx.RemoteProtocolError):
            register(api)
    assert server.state.records == []
    assert server.state.requests[0]["fault"] == "dropped"


def test_lost_answer_cut_commits_then_cuts(make_sandbox: SandboxFactory) -> None:
    """lose_answer_rate=1: the number is created, then the connection is cut."""
    server = make_sandbox(lose_answer_rate=1.0)
    with client(server) as api, pytest.raises(httpx.TransportError):
        register(api)
    (record,) = server.state.records
    (entry,) = server.state.requests
    assert (entry["fault"], entry["external_did_sid"]) == (
        "lost_answer_cut",
        record["external_did_sid"],
    )


@pytest.mark.parametrize("status", [500, 503, 504])
def test_lost_answer_status_commits_then_answers_5xx(
    make_sandbox: SandboxFactory, status: int
) -> None:
    """With lose_answer_status the number is created but the answer is that 5xx."""
    server = make_sandbox(lose_answer_rate=1.0, lose_answer_status=status)
    with client(server) as api:
        assert register(api).status_code == status
    assert len(server.state.records) == 1
    assert server.state.requests[0]["fault"] == "lost_answer_status"


def test_lost_answer_delay_outlives_the_client_timeout(make_sandbox: SandboxFactory) -> None:
    """With lose_answer_delay_s the answer comes after the client's timeout; the record exists."""
    server = make_sandbox(lose_answer_rate=1.0, lose_answer_delay_s=5)
    with client(server, timeout=0.3) as api, pytest.raises(httpx.ReadTimeout):
        register(api)
    assert len(server.state.records) == 1
    with client(server) as api:
        page = api.get(COLLECTION, params={"filter": 'phonenumber eq "12059051000"'}).json()
    assert page["count"] == 1


def test_lost_answers_do_not_touch_other_calls(make_sandbox: SandboxFactory) -> None:
    """Only a committed register loses its answer; list and get answer normally."""
    server = make_sandbox(lose_answer_rate=1.0)
    with client(server) as api:
        assert api.get(COLLECTION).status_code == 200


def test_same_seed_reproduces_the_same_faults(make_sandbox: SandboxFactory) -> None:
    """Two servers with the same seed inject the same faults on the same request sequence."""

    def run(seed: int) -> list[int | str]:
        server = make_sandbox(fail_rate=0.3, drop_rate=0.2, seed=seed)
        outcomes: list[int | str] = []
        with client(server) as api:
            for n in range(40):
                try:
                    outcomes.append(register(api, n).status_code)
                except httpx.TransportError:
                    outcomes.append("cut")
        return outcomes

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert {"cut", 200} <= set(first)
    assert {500, 503} & set(first)


def test_admin_view_is_never_faulted(make_sandbox: SandboxFactory) -> None:
    """The /_sandbox admin view is exempt from faults and not logged."""
    server = make_sandbox(fail_rate=1.0, drop_rate=1.0)
    response = httpx.get(f"{server.root_url}/_sandbox/requests")
    assert response.status_code == 200
    assert response.json() == {"requests": []}


def test_stop_wakes_requests_sleeping_in_latency(make_sandbox: SandboxFactory) -> None:
    """Stopping the server does not wait for requests delayed by injected latency."""
    server = make_sandbox(lose_answer_rate=1.0, lose_answer_delay_s=30)
    with client(server, timeout=0.2) as api, pytest.raises(httpx.ReadTimeout):
        register(api)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2


def test_client_hanging_up_mid_body_is_quiet(sandbox: SandboxServer) -> None:
    """A client that disconnects while sending its body logs no traceback; serving goes on."""
    import logging
    import socket
    from urllib.parse import urlsplit

    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("uvicorn.error").addHandler(handler)

    url = urlsplit(sandbox.base_url)
    request = (
        f"POST {url.path}/phonenumber/external_dids HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {sandbox.token}\r\nContent-Type: application/json\r\n"
        'Content-Length: 500\r\n\r\n{"phonenumber":'
    )
    with socket.create_connection((url.hostname, url.port)) as raw:
        raw.sendall(request.encode())
    time.sleep(0.3)
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    answer = httpx.get(f"{sandbox.base_url}/phonenumber/external_dids", headers=headers)
    assert answer.status_code == 200
    logging.getLogger("uvicorn.error").removeHandler(handler)
    assert not [r for r in logged if r.exc_info], "a traceback was logged"


# -- every method -------------------------------------------------------------------------

SID = "00000000-0000-4000-8000-000000000001"
CALLS: dict[str, tuple[str, str, dict[str, object] | None]] = {
    "GET list": ("GET", COLLECTION, None),
    "GET one": ("GET", f"{COLLECTION}/{SID}", None),
    "PATCH": ("PATCH", f"{COLLECTION}/{SID}", {"name": "changed"}),
    "PUT": ("PUT", f"{COLLECTION}/{SID}", {"name": "changed"}),
    "DELETE": ("DELETE", f"{COLLECTION}/{SID}", None),
    "POST": ("POST", COLLECTION, {"phonenumber": "12059051777", "capabilities": 3}),
}


def seeded(**switches: object) -> Callable[[SandboxFactory], SandboxServer]:
    """A sandbox with `switches` holding the sample record number 1 (sid `SID`)."""
    from account_samples import account_record

    def start(make_sandbox: SandboxFactory) -> SandboxServer:
        server = make_sandbox(**switches)
        server.state.put(account_record(1))
        return server

    return start


def send(server: SandboxServer, call: str) -> httpx.Response:
    method, path, body = CALLS[call]
    with client(server) as api:
        return api.request(method, path, json=body)


def untouched(server: SandboxServer) -> bool:
    """The sample record is as seeded and nothing else was created."""
    from account_samples import account_record

    return server.state.records == [account_record(1)]


@pytest.mark.parametrize("call", CALLS)
def test_5xx_on_every_method_changes_nothing(make_sandbox: SandboxFactory, call: str) -> None:
    """fail_rate answers any method 500/503 before it is handled: nothing changes."""
    server = seeded(fail_rate=1.0)(make_sandbox)
    assert send(server, call).status_code in (500, 503)
    assert untouched(server)
    (entry,) = server.state.requests
    assert (entry["method"], entry["fault"], entry["applied"]) == (CALLS[call][0], "failed", False)


@pytest.mark.parametrize("call", CALLS)
def test_429_on_every_method_carries_retry_after(make_sandbox: SandboxFactory, call: str) -> None:
    """Over the rate limit any method gets 429 with Retry-After, and changes nothing."""
    server = seeded(rate_limit=1)(make_sandbox)
    with client(server) as api:
        api.get("/phonenumber/external_dids")  # takes the one token of this second
    response = send(server, call)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert untouched(server)
    assert server.state.requests[-1]["fault"] == "rate_limited"


@pytest.mark.parametrize("call", CALLS)
def test_dropped_connection_on_every_method(make_sandbox: SandboxFactory, call: str) -> None:
    """drop_rate cuts any method's connection before it is handled: nothing changes."""
    server = seeded(drop_rate=1.0)(make_sandbox)
    with pytest.raises(httpx.TransportError):
        send(server, call)
    assert untouched(server)
    assert server.state.requests[-1]["fault"] == "dropped"


WRITES = {"PATCH": "changed", "PUT": "changed", "DELETE": None, "POST": "created"}


@pytest.mark.parametrize("call", WRITES)
@pytest.mark.parametrize(
    ("switches", "fault"),
    [({}, "lost_answer_cut"), ({"lose_answer_status": 502}, "lost_answer_status")],
)
def test_lost_answer_on_every_write_applies_it(
    make_sandbox: SandboxFactory, call: str, switches: dict[str, object], fault: str
) -> None:
    """lose_answer_rate applies the write (update, delete, create), then loses the answer."""
    server = seeded(lose_answer_rate=1.0, **switches)(make_sandbox)
    try:
        assert send(server, call).status_code == 502
    except httpx.TransportError:
        assert fault == "lost_answer_cut"
    records = {r["phonenumber"]: r for r in server.state.records}
    if call == "DELETE":
        assert records == {}
    elif call == "POST":
        assert "12059051777" in records
    else:
        assert records["12059050001"]["name"] == "changed"
    entry = server.state.requests[-1]
    assert (entry["method"], entry["fault"], entry["applied"]) == (CALLS[call][0], fault, True)


@pytest.mark.parametrize("call", ["GET list", "GET one"])
def test_lost_answer_on_reads_only_when_listed(make_sandbox: SandboxFactory, call: str) -> None:
    """Reads lose their answer only when GET is in lose_answer_methods."""
    server = seeded(lose_answer_rate=1.0, lose_answer_status=503)(make_sandbox)
    assert send(server, call).status_code == 200
    listed = seeded(lose_answer_rate=1.0, lose_answer_status=503, lose_answer_methods={"GET"})
    server = listed(make_sandbox)
    assert send(server, call).status_code == 503
    assert server.state.requests[-1]["fault"] == "lost_answer_status"
