"""The delete operation: 204 deleted, 404 not_found (ends well), and an unknown outcome
reconciled by a lookup, never a second DELETE for a number already gone."""

from __future__ import annotations

from collections.abc import Callable

from planned_rows import apply, digits, held, pruned, put, writes

from importer.models import Planned, RawRow, RowResult, Status
from importer.sandbox import SandboxServer

SandboxFactory = Callable[..., SandboxServer]


def test_prune_rows_are_deleted(sandbox: SandboxServer) -> None:
    """Three prune rows (negative row numbers): each deleted with its sid; the account empty."""
    records = [put(sandbox, i) for i in range(3)]
    results = apply(sandbox, [pruned(n + 1, r) for n, r in enumerate(records)]).results
    assert [r.status for r in results] == [Status.DELETED] * 3
    assert [r.external_did_sid for r in results] == [r["external_did_sid"] for r in records]
    assert [r.row.number for r in results] == [-1, -2, -3]
    assert held(sandbox) == {}


def test_record_already_gone_is_not_found(sandbox: SandboxServer) -> None:
    """A 404 on DELETE: not_found, which ends well; nothing else is sent."""
    record = put(sandbox, 0)
    sandbox.state.delete(record["external_did_sid"])
    [result] = apply(sandbox, [pruned(1, record)]).results
    assert result.status is Status.NOT_FOUND
    assert result.status.ended_well
    assert [e["status"] for e in writes(sandbox, "DELETE")] == [404]


def test_lost_answers_are_reconciled_with_one_delete_each(make_sandbox: SandboxFactory) -> None:
    """Every DELETE answer lost after the commit: each row deleted (reconciled), one DELETE."""
    maker, server = make_sandbox(), make_sandbox(lose_answer_rate=1.0)
    records = [put(maker, i) for i in range(4)]  # made without faults, then held here
    for record in records:
        server.state.put(record)
    results = apply(server, [pruned(n + 1, r) for n, r in enumerate(records)]).results
    assert {r.status for r in results} == {Status.DELETED}
    assert all(r.extra.get("reconciled") for r in results)
    assert len(writes(server, "DELETE")) == 4
    assert held(server) == {}


def test_listed_number_without_a_planned_record_is_looked_up(sandbox: SandboxServer) -> None:
    """`delete FILE` rows planned without a record: held → deleted; absent → not_found."""
    record = put(sandbox, 0)

    def listed(i: int) -> RowResult:
        return RowResult(
            row=RawRow(i + 2, (digits(i),)),
            status=Status.WOULD_DELETE,
            normalized_phonenumber=digits(i),
            planned=Planned(),
        )

    first, second = apply(sandbox, [listed(0), listed(1)]).results
    assert (first.status, first.external_did_sid) == (Status.DELETED, record["external_did_sid"])
    assert second.status is Status.NOT_FOUND
    assert len(writes(sandbox, "DELETE")) == 1


def test_resumed_delete_of_a_gone_number_sends_nothing(sandbox: SandboxServer) -> None:
    """A row an unfinished run may have sent, now absent: deleted, reconciled, no DELETE."""
    record = put(sandbox, 0)
    sandbox.state.delete(record["external_did_sid"])
    [result] = apply(sandbox, [pruned(1, record)], reconcile=frozenset({-1})).results
    assert (result.status, result.extra.get("reconciled")) == (Status.DELETED, True)
    assert writes(sandbox, "DELETE") == []
