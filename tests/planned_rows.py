"""Planned rows for the update, replace and delete tests: records put in a sandbox, rows
planned against them as the planner would (`importer.plan.changes`), and a runner of
`send_changes` on a real client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from importer.config import ApiSettings
from importer.models import Planned, RawRow, RowResult, Status
from importer.plan.changes import action_of, differences, patch_body, replacement_body
from importer.sandbox import SandboxServer
from importer.send import Batch, send_changes
from importer.send.client import make_client
from importer.send.executor import RowLog

COLLECTION = "/phonenumber/external_dids"


def digits(i: int) -> str:
    """A number the sandbox accepts (Birmingham, AL: 1205905xxxx)."""
    return f"1205905{i:04d}"


def put(server: SandboxServer, i: int, **fields: Any) -> dict[str, Any]:
    """Register number `i` straight on the sandbox (capabilities 3 unless given): its record."""
    [record] = put_many(server, [i], **fields)
    return record


def put_many(server: SandboxServer, indexes: Iterable[int], **fields: Any) -> list[dict[str, Any]]:
    """Register each number of `indexes` on one client; a `{i}` in a field's text is `i`."""
    headers = {"Authorization": f"Bearer {server.token}"}
    records = []
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        for i in indexes:
            values = {k: v.format(i=i) if isinstance(v, str) else v for k, v in fields.items()}
            body = {"phonenumber": digits(i), "capabilities": 3, **values}
            response = client.post(COLLECTION, json=body)
            response.raise_for_status()
            records.append(response.json())
    return records


def planned(i: int, record: Mapping[str, Any] | None, **wanted: Any) -> RowResult:
    """Row `i` of a sheet setting `wanted`, planned against `record` as the planner does."""
    payload = {"phonenumber": digits(i), "capabilities": 3, **wanted}
    fields = {name: value for name, value in payload.items() if name != "phonenumber"}
    if record is None:
        plan = Planned()
    else:
        changes = differences(fields, record)
        plan = Planned(record=record, changes=changes)
    status = action_of(plan, allow_replace=True)
    if status is Status.WOULD_UPDATE:
        plan = Planned(record=record, changes=plan.changes, body=patch_body(plan))
    elif status is Status.WOULD_REPLACE and record is not None:
        body = replacement_body(fields, record)
        plan = Planned(record=record, changes=plan.changes, body=body)
    return RowResult(
        row=RawRow(i + 2, (digits(i),)),
        status=status,
        payload=payload,
        normalized_phonenumber=digits(i),
        planned=plan,
    )


def pruned(n: int, record: Mapping[str, Any]) -> RowResult:
    """A `--prune` row: the account's record the sheet does not hold (row number -n)."""
    return RowResult(
        row=RawRow(-n, ()),
        status=Status.WOULD_DELETE,
        normalized_phonenumber=str(record["phonenumber"]),
        planned=Planned(record=record),
    )


def settings_for(server: SandboxServer, **changes: Any) -> ApiSettings:
    """Settings on `server` with short waits."""
    return ApiSettings(
        base_url=server.base_url,
        token=SecretStr(server.token),
        timeout=5,
        backoff_base=0.001,
        backoff_max=0.05,
    ).model_copy(update=changes)


def apply(
    server: SandboxServer,
    rows: list[RowResult],
    *,
    journal: RowLog | None = None,
    reconcile: frozenset[int] = frozenset(),
    steps: Mapping[int, str] | None = None,
    **changes: Any,
) -> Batch[RowResult]:
    """`send_changes` of `rows` on `server`."""
    settings = settings_for(server, **changes)

    async def go() -> Batch[RowResult]:
        async with make_client(settings) as client:
            return await send_changes(
                rows, client, settings, journal=journal, reconcile=reconcile, steps=steps
            )

    return asyncio.run(go())


def writes(server: SandboxServer, method: str) -> list[dict[str, Any]]:
    """The sandbox's log entries of `method` requests."""
    return [entry for entry in server.state.requests if entry["method"] == method]


def held(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """The sandbox's records by number."""
    return {record["phonenumber"]: record for record in server.state.records}
