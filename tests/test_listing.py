"""The listing operation: the whole account, page by page, against the running sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from account_samples import account_record, seed_account
from pydantic import SecretStr

from importer.config import ApiSettings
from importer.errors import ApiError, ApiUnreachableError, AuthError, ConfigError, RunStopped
from importer.sandbox import SandboxServer
from importer.send import Executor
from importer.send.operations.listing import Page, list_account, list_records
from importer.send.remote import WriteRefusedError, read_only_client
from importer.send.retry import RetryPolicy
from importer.signals import StopSwitch

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/core/v2/phonenumber/external_dids"


def api(server: SandboxServer, **changes: Any) -> ApiSettings:
    """Settings pointing at `server` with partner-a's token."""
    return ApiSettings(base_url=server.base_url, token=SecretStr(server.token), **changes)


def list_quickly(server: SandboxServer, **changes: Any) -> list[dict[str, Any]]:
    """`list_records` on an executor whose retry policy never sleeps."""
    settings = api(server, **changes)

    async def go() -> list[dict[str, Any]]:
        async with read_only_client(settings) as client:
            policy = RetryPolicy.from_settings(settings).without_waits()
            return await list_records(Executor(client, settings, policy=policy))

    return asyncio.run(go())


def gets(server: SandboxServer) -> list[dict[str, Any]]:
    return [dict(e) for e in server.state.requests if e["method"] == "GET"]


@pytest.mark.parametrize(("list_total", "total"), [("null", None), ("count", 2500)])
def test_pages_over_a_thousand_records_by_has_more(
    make_sandbox: SandboxFactory, list_total: str, total: int | None
) -> None:
    """2,500 records come back whole and in order, in three 1,000-record pages followed by
    `pagination.next`, whether `total` is a count or null; another partner's are not listed."""
    server = make_sandbox(list_total=list_total)
    seeded = seed_account(server, 2500)
    pages: list[Page] = []
    records = list_account(api(server), on_page=pages.append)
    assert records == seeded
    assert [(p.number, len(p.items), p.seen, p.total) for p in pages] == [
        (1, 1000, 1000, total),
        (2, 1000, 2000, total),
        (3, 500, 2500, total),
    ]
    queries = [entry["query"] for entry in gets(server)]
    assert queries == ["limit=1000", "limit=1000&offset=1000", "limit=1000&offset=2000"]


def test_an_empty_account_is_one_page(sandbox: SandboxServer) -> None:
    """An account with no records lists as [] after one request."""
    pages: list[Page] = []
    assert list_account(api(sandbox), on_page=pages.append) == []
    assert [(p.number, p.seen) for p in pages] == [(1, 0)]
    assert len(gets(sandbox)) == 1


def test_keep_false_only_streams(make_sandbox: SandboxFactory) -> None:
    """With keep=False the records reach on_page only; the returned list is empty."""
    server = make_sandbox()
    seeded = seed_account(server, 1200)
    streamed: list[dict[str, Any]] = []
    assert list_account(api(server), on_page=lambda p: streamed.extend(p.items), keep=False) == []
    assert streamed == seeded


FAULTS = {
    "5xx": {"fail_rate": 0.5},
    "429": {"fail_rate": 0.5, "fail_statuses": (429,)},
    "dropped": {"drop_rate": 0.5},
    "lost answers": {"lose_answer_rate": 0.5, "lose_answer_methods": {"GET"}},
    "mix": {"fail_rate": 0.3, "drop_rate": 0.2, "fail_statuses": (429, 500, 502, 503)},
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_faults_during_listing_are_retried(make_sandbox: SandboxFactory, faults: dict) -> None:
    """Pages answered 5xx/429, cut, or lost are sent again: the result is complete and in
    order, every page read exactly once successfully."""
    server = make_sandbox(seed=1, list_total="null", **faults)
    seeded = seed_account(server, 5500)
    assert list_quickly(server, max_attempts=30) == seeded
    entries = gets(server)
    assert any(entry["fault"] for entry in entries), "no fault was injected"
    answered = [e["query"] for e in entries if e["status"] == 200 and not e["fault"]]
    assert sorted(set(answered)) == sorted(answered)
    assert len(answered) == 6


def test_429_waits_its_retry_after(make_sandbox: SandboxFactory) -> None:
    """A page refused with 429 + Retry-After is sent again after the wait, by the one policy."""
    server = make_sandbox(rate_limit=1)
    seeded = seed_account(server, 1500)
    assert list_account(api(server)) == seeded
    faults = [e["fault"] for e in gets(server)]
    assert "rate_limited" in faults
    assert faults.count(None) == 2


def test_retry_after_longer_than_max_wait_stops(make_sandbox: SandboxFactory) -> None:
    """A page whose Retry-After is longer than max_wait is not waited for: ApiError."""
    server = make_sandbox(rate_limit=1)
    seed_account(server, 1500)
    with pytest.raises(ApiError, match="longer than --max-wait"):
        list_account(api(server, max_wait=0.5))


def test_refused_token_stops_with_auth_error(sandbox: SandboxServer) -> None:
    """A 401 stops the listing at once with AuthError (exit 3), nothing retried."""
    settings = api(sandbox).model_copy(update={"token": SecretStr("wrong")})
    with pytest.raises(AuthError) as caught:
        list_account(settings)
    assert caught.value.exit_code == 3
    assert len(gets(sandbox)) == 1


def test_unreachable_api_is_api_unreachable(sandbox: SandboxServer) -> None:
    """Nothing listening: ApiUnreachableError naming the base URL, after the attempts."""
    settings = api(sandbox, max_attempts=2, backoff_base=0, backoff_max=0)
    sandbox.stop()
    with pytest.raises(ApiUnreachableError, match="cannot reach"):
        list_account(settings)


def test_out_of_attempts_is_an_api_error(make_sandbox: SandboxFactory) -> None:
    """A page that never gets a usable answer ends the listing with an ApiError."""
    server = make_sandbox(fail_rate=1.0)
    with pytest.raises(ApiError, match="no usable answer after retries"):
        list_quickly(server, max_attempts=3)
    assert len(gets(server)) == 3


def test_stop_request_stops_the_listing(make_sandbox: SandboxFactory) -> None:
    """A stop request (SIGINT/SIGTERM) before the listing ends it with RunStopped (exit 4)."""
    server = make_sandbox()
    seed_account(server, 10)
    switch = StopSwitch()
    switch.request("SIGTERM")
    with pytest.raises(RunStopped):
        list_account(api(server), stop=switch)


def test_no_token_is_a_config_error() -> None:
    """Without a token nothing is sent: ConfigError (exit 2)."""
    with pytest.raises(ConfigError, match="needs an API token"):
        list_account(ApiSettings(base_url="http://127.0.0.1:9/core/v2"))


def scripted(pages: list[dict[str, Any]]) -> httpx.MockTransport:
    """A transport answering each GET with the next of `pages`."""
    answers = iter(pages)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("following", "message"),
    [
        ("https://elsewhere.example/core/v2/phonenumber/external_dids?offset=1", "leaves the API"),
        ("/core/v2/phonenumber/external_dids?offset=1", "not an absolute URL"),
    ],
)
def test_next_page_outside_the_api_is_refused(following: str, message: str) -> None:
    """A pagination.next elsewhere (the token would follow it) is never requested."""
    page = {"items": [account_record(1)], "has_more": True, "pagination": {"next": following}}
    settings = ApiSettings(base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"))
    with pytest.raises(ApiError, match=message):
        list_account(settings, transport=scripted([page]))


def test_next_page_coming_round_again_is_refused() -> None:
    """A pagination.next already followed would loop for ever: refused."""
    again = "http://127.0.0.1:9/core/v2/phonenumber/external_dids?limit=1000&offset=1000"
    page = {"items": [], "has_more": True, "pagination": {"next": again}}
    settings = ApiSettings(base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"))
    with pytest.raises(ApiError, match="comes round again"):
        list_account(settings, transport=scripted([page, page]))


def test_page_without_items_is_refused() -> None:
    """An answer that is not a list page stops the listing with a one-line ApiError."""
    settings = ApiSettings(base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"))
    with pytest.raises(ApiError, match="no 'items'"):
        list_account(settings, transport=scripted([{"records": []}]))


def test_listing_client_is_read_only() -> None:
    """The listing's client refuses a write before it reaches the network."""
    settings = ApiSettings(base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"))

    async def post() -> None:
        async with read_only_client(settings, transport=scripted([])) as client:
            await client.post(COLLECTION, json={})

    with pytest.raises(WriteRefusedError):
        asyncio.run(post())
