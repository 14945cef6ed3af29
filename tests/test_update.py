"""The update operation: one PATCH with the differing fields, never a second after an
unknown outcome whose change landed; refusals and a vanished record are per-row data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from planned_rows import apply, digits, held, planned, pruned, put, settings_for, writes
from pydantic import SecretStr

from importer.config import ApiSettings
from importer.models import Planned, RowResult, Status
from importer.sandbox import READ_ONLY_TOKEN, SandboxServer
from importer.send import send_changes
from importer.send.client import make_client
from importer.send.operations import change

SandboxFactory = Callable[..., SandboxServer]


def test_patch_sends_only_the_differing_fields(sandbox: SandboxServer) -> None:
    """A changed callback and name: one PATCH with those two fields; the sid is kept."""
    record = put(sandbox, 0, callback_url="https://a.example.com", name="Alpha")
    row = planned(0, record, callback_url="https://b.example.com", name="Beta")
    assert row.status is Status.WOULD_UPDATE
    [result] = apply(sandbox, [row]).results
    assert (result.status, result.external_did_sid) == (Status.UPDATED, record["external_did_sid"])
    now = held(sandbox)[digits(0)]
    assert (now["callback_url"], now["name"]) == ("https://b.example.com", "Beta")
    [patch] = writes(sandbox, "PATCH")
    assert patch["status"] == 200


def test_lost_answer_is_reconciled_without_a_second_patch(make_sandbox: SandboxFactory) -> None:
    """Every PATCH answer lost (cut after commit): each row is updated, reconciled, one PATCH."""
    server = make_sandbox()
    records = [put(server, i, name=f"Old {i}") for i in range(5)]
    server.stop()
    faulty = make_sandbox(state_file=None, lose_answer_rate=1.0)
    for record in records:
        faulty.state.put(record)
    rows = [planned(i, records[i], name=f"New {i}") for i in range(5)]
    results = apply(faulty, rows).results
    assert {r.status for r in results} == {Status.UPDATED}
    assert all(r.extra.get("reconciled") for r in results)
    assert len(writes(faulty, "PATCH")) == 5
    assert {held(faulty)[digits(i)]["name"] for i in range(5)} == {f"New {i}" for i in range(5)}


def test_record_deleted_since_the_plan_fails_apply_gone(sandbox: SandboxServer) -> None:
    """A 404 on PATCH: failed apply.gone, whose hint says to plan again."""
    record = put(sandbox, 0)
    sandbox.state.delete(record["external_did_sid"])
    [result] = apply(sandbox, [planned(0, record, name="Beta")]).results
    assert result.status is Status.FAILED
    assert [i.code for i in result.issues] == [change.APPLY_GONE.code]
    assert "plan again" in (result.issues[0].hint or "")


def test_refused_patch_is_rejected_with_the_api_field(sandbox: SandboxServer) -> None:
    """A 422 (a capabilities change slipped into a PATCH): rejected apply.rejected, field named."""
    record = put(sandbox, 0)
    row = planned(0, record, name="Beta")
    body = {"name": "Beta", "capabilities": 27}
    row = RowResult(**{**_fields(row), "planned": Planned(record=record, body=body)})
    [result] = apply(sandbox, [row]).results
    assert result.status is Status.REJECTED
    assert (result.issues[0].code, result.issues[0].field) == ("apply.rejected", "capabilities")


def test_resumed_row_already_as_wanted_sends_no_patch(sandbox: SandboxServer) -> None:
    """A row an unfinished run may have sent, found as wanted: updated, reconciled, no PATCH."""
    record = put(sandbox, 0, name="Beta")
    row = planned(0, {**record, "name": "Alpha"}, name="Beta")
    [result] = apply(sandbox, [row], reconcile=frozenset({row.row.number})).results
    assert (result.status, result.extra.get("reconciled")) == (Status.UPDATED, True)
    assert writes(sandbox, "PATCH") == []


def _fields(row: RowResult) -> dict[str, Any]:
    return {name: getattr(row, name) for name in RowResult.__slots__ if name != "__weakref__"}


# -- a precise answer sequence (httpx.MockTransport) ----------------------------------
def run_mock(
    handler: Callable[[httpx.Request], httpx.Response], rows: list[RowResult], **changes: Any
) -> Any:
    settings = ApiSettings(
        base_url="http://api.test/core/v2",
        token=SecretStr("t"),
        backoff_base=0.0,
        backoff_max=0.0,
    ).model_copy(update=changes)

    async def go() -> Any:
        async with make_client(settings, transport=httpx.MockTransport(handler)) as client:
            return await send_changes(rows, client, settings)

    return asyncio.run(go())


def test_503_then_lookup_shows_it_done_sends_one_patch() -> None:
    """PATCH answered 503 (it landed): the lookup finds the body's values; no second PATCH."""
    record = {
        "external_did_sid": "sid-1",
        "phonenumber": digits(0),
        "name": "Alpha",
        "capabilities": 3,
    }
    current = dict(record)
    patches: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            patches.append(dict(current))
            current["name"] = "Beta"
            return httpx.Response(503, json={"message": "lost"})
        return httpx.Response(200, json={"items": [current], "has_more": False})

    batch = run_mock(handler, [planned(0, record, name="Beta")])
    [result] = batch.results
    assert (result.status, result.extra.get("reconciled")) == (Status.UPDATED, True)
    assert len(patches) == 1


def test_503_then_lookup_shows_it_not_done_sends_again() -> None:
    """PATCH answered 503 without landing: the lookup finds the old values; PATCH again."""
    record = {
        "external_did_sid": "sid-1",
        "phonenumber": digits(0),
        "name": "Alpha",
        "capabilities": 3,
    }
    answers = iter([503, 200])
    patches = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            patches.append(request)
            status = next(answers)
            return httpx.Response(status, json={**record, "name": "Beta"})
        return httpx.Response(200, json={"items": [record], "has_more": False})

    [result] = run_mock(handler, [planned(0, record, name="Beta")]).results
    assert (result.status, result.extra.get("reconciled")) == (Status.UPDATED, None)
    assert len(patches) == 2


def test_settings_helper_is_the_sandbox_s(sandbox: SandboxServer) -> None:
    """The helper's settings point at the sandbox (a guard for the tests above)."""
    assert settings_for(sandbox).base_url == sandbox.base_url


def test_unanswered_lookups_hold_the_row_for_the_second_pass() -> None:
    """PATCH lost (503), then its lookup unanswered (503 twice, out of attempts): the row is
    held for the second pass, whose lookup finds the change done; one PATCH in all."""
    record = {"external_did_sid": "sid-1", "phonenumber": digits(0), "name": "Alpha"}
    current = {**record, "capabilities": 3}
    lookups = iter([503, 503])
    patches = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            patches.append(request)
            current["name"] = "Beta"
            return httpx.Response(503, json={"message": "lost"})
        if request.url.params.get("limit") == "1" and "filter" in request.url.params:
            status = next(lookups, 200)
            if status != 200:
                return httpx.Response(status, json={"message": "busy"})
        return httpx.Response(200, json={"items": [current], "has_more": False})

    [result] = run_mock(handler, [planned(0, current, name="Beta")], max_attempts=2).results
    assert (result.status, result.extra.get("reconciled")) == (Status.UPDATED, True)
    assert len(patches) == 1


def test_a_refused_token_stops_the_run_and_leaves_the_rest_not_attempted(
    sandbox: SandboxServer,
) -> None:
    """A token that may read but not write: the first PATCH is refused (403), the run stops,
    the later planned writes are not_attempted with apply.not_attempted."""
    first, second = put(sandbox, 0), put(sandbox, 1)
    rows = [planned(0, first, name="Beta"), pruned(1, second)]
    batch = apply(sandbox, rows, token=SecretStr(READ_ONLY_TOKEN), concurrency=1)
    assert batch.stopped_by is not None
    update, delete = batch.results
    assert (update.status, update.issues[0].code) == (Status.FAILED, "apply.auth_refused")
    assert (delete.status, delete.issues[0].code) == (Status.NOT_ATTEMPTED, "apply.not_attempted")
    assert held(sandbox)[digits(0)]["name"] == first["name"]
