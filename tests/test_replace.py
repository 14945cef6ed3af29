"""The replace operation: DELETE then POST, journaled as two steps; a run killed between
them registers the number on resume; a refused POST registers the old record back; and
a fault mix over a few hundred planned writes does every one exactly once."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from planned_rows import apply, digits, held, planned, pruned, put, put_many, writes

from importer.journal import Journal
from importer.journal.plans import OLD_SID, STEP_DELETED
from importer.models import Planned, Status
from importer.run.session import resumed
from importer.sandbox import DEFAULT_CARRIER_SID, SandboxServer
from importer.send.operations import replace

SandboxFactory = Callable[..., SandboxServer]
SHA = "cd" * 32


def test_replace_gives_old_and_new_sid_and_keeps_other_fields(sandbox: SandboxServer) -> None:
    """Capabilities 3 → 27: deleted and registered again; the name the sheet does not set
    is kept; the row names the old sid and the new."""
    record = put(sandbox, 0, name="Keep me", callback_url="https://a.example.com")
    row = planned(0, record, capabilities=27)
    assert row.status is Status.WOULD_REPLACE
    [result] = apply(sandbox, [row]).results
    assert result.status is Status.REPLACED
    now = held(sandbox)[digits(0)]
    assert (now["capabilities"], now["name"]) == (27, "Keep me")
    assert now["callback_url"] == "https://a.example.com"
    assert result.external_did_sid == now["external_did_sid"] != record["external_did_sid"]
    assert result.extra[OLD_SID] == record["external_did_sid"]
    assert [len(writes(sandbox, m)) for m in ("DELETE", "POST")] == [1, 2]  # put + replace


def test_step_deleted_is_journaled_before_the_post(sandbox: SandboxServer) -> None:
    """The journal hears `stepped(row, deleted)` after the DELETE and before the POST."""
    record = put(sandbox, 0)
    calls: list[tuple[str, int]] = []

    class Log:
        def sending(self, row_number: int, attempts: int) -> None:
            calls.append(("sending", len(writes(sandbox, "POST"))))

        def sending_rows(self, marks: list[tuple[int, int]]) -> None:
            for row_number, attempts in marks:
                self.sending(row_number, attempts)

        def stepped(self, row_number: int, step: str) -> None:
            calls.append((step, len(writes(sandbox, "DELETE"))))

        def settled(self, result: object) -> None:
            calls.append(("settled", len(writes(sandbox, "POST"))))

    apply(sandbox, [planned(0, record, capabilities=27)], journal=Log())
    assert calls == [("sending", 1), (STEP_DELETED, 1), ("sending", 1), ("settled", 2)]


def test_killed_between_the_steps_registers_the_number_on_resume(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A run killed after the DELETE (journal step `deleted`, no POST): the new plan finds the
    number absent (would_register); the resumed run gives the row its replace back and
    registers it with the journaled body (the old name kept), one POST, reported replaced."""
    record = put(sandbox, 0, name="Keep me")
    row = planned(0, record, capabilities=27)
    with Journal(tmp_path / "j.sqlite") as journal:
        first = journal.start_run(Path("f.csv"), SHA, sandbox.base_url, [row], fresh=False)
        first.sending(row.row.number, 1)
        sandbox.state.delete(record["external_did_sid"])  # the DELETE landed …
        first.stepped(row.row.number, STEP_DELETED)  # … and the kill came here
    posts = len(writes(sandbox, "POST"))
    replanned = planned(0, None, capabilities=27)
    assert replanned.status is Status.WOULD_REGISTER
    with Journal(tmp_path / "j.sqlite") as journal:
        second = journal.start_run(Path("f.csv"), SHA, sandbox.base_url, [replanned], fresh=False)
        assert second.steps == {row.row.number: STEP_DELETED}
        rows = resumed([replanned], second)
        assert rows[0].status is Status.WOULD_REPLACE
        [result] = apply(
            sandbox, rows, journal=second, reconcile=second.reconcile, steps=second.steps
        ).results
    assert (result.status, result.extra[OLD_SID]) == (Status.REPLACED, record["external_did_sid"])
    now = held(sandbox)[digits(0)]
    assert (now["capabilities"], now["name"]) == (27, "Keep me")
    assert len(writes(sandbox, "POST")) == posts + 1
    assert writes(sandbox, "DELETE") == []


def test_a_resumed_run_finishes_half_done_replaces_before_any_other_write(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The numbers a kill left deleted are registered first on resume, before the new
    numbers of the same run: their absence ends as soon as the resumed run writes."""
    record = put(sandbox, 0)
    row = planned(0, record, capabilities=27)
    with Journal(tmp_path / "j.sqlite") as journal:
        first = journal.start_run(Path("f.csv"), SHA, sandbox.base_url, [row], fresh=False)
        first.sending(row.row.number, 1)
        sandbox.state.delete(record["external_did_sid"])
        first.stepped(row.row.number, STEP_DELETED)
    fresh = [planned(n, None) for n in range(1, 6)]
    replanned = [planned(0, None, capabilities=27), *fresh]
    with Journal(tmp_path / "j.sqlite") as journal:
        second = journal.start_run(Path("f.csv"), SHA, sandbox.base_url, replanned, fresh=False)
        rows = resumed(replanned, second)
        apply(sandbox, rows, journal=second, reconcile=second.reconcile, steps=second.steps)
    posts = [entry["phonenumber"] for entry in writes(sandbox, "POST")]
    assert posts[-6] == digits(0)
    assert sorted(posts[-5:]) == [digits(n) for n in range(1, 6)]


def test_resumed_replace_already_done_sends_nothing(sandbox: SandboxServer) -> None:
    """Resumed with the number held under a new sid with the body's values: replaced,
    reconciled, no write at all."""
    record = put(sandbox, 0)
    row = planned(0, record, capabilities=27)
    sandbox.state.delete(record["external_did_sid"])
    new = put(sandbox, 0, capabilities=27, name=record["name"])
    [result] = apply(sandbox, [row], reconcile=frozenset({row.row.number})).results
    assert (result.status, result.external_did_sid) == (Status.REPLACED, new["external_did_sid"])
    assert result.extra.get("reconciled") is True
    assert (writes(sandbox, "DELETE"), len(writes(sandbox, "POST"))) == ([], 2)


def test_refused_post_registers_the_old_record_back(sandbox: SandboxServer) -> None:
    """The POST after the DELETE is refused (an unknown carrier): the old record's fields are
    registered back; the row is failed apply.replace_restored with the restored sid."""
    record = put(sandbox, 0, name="Keep me")
    row = planned(0, record, underlying_carrier_sid="00000000-0000-4000-8000-000000000000")
    [result] = apply(sandbox, [row]).results
    assert result.status is Status.FAILED
    assert [i.code for i in result.errors] == [replace.APPLY_REPLACE_RESTORED.code]
    now = held(sandbox)[digits(0)]
    assert (now["name"], now["underlying_carrier_sid"]) == ("Keep me", DEFAULT_CARRIER_SID)
    assert result.external_did_sid == now["external_did_sid"]
    assert result.extra[OLD_SID] == record["external_did_sid"]


def test_post_and_restore_both_refused_say_the_number_is_lost(sandbox: SandboxServer) -> None:
    """When registering the old record back is refused too: failed apply.replace_lost."""
    record = put(sandbox, 0)
    row = planned(0, record, capabilities=27)
    old = {**record, "underlying_carrier_sid": "00000000-0000-4000-8000-000000000000"}
    body = {**(row.planned.body if row.planned else {}), "capabilities": 7}  # voice: refused
    row = dataclasses.replace(row, planned=Planned(record=old, body=body))
    [result] = apply(sandbox, [row]).results
    assert result.status is Status.FAILED
    assert [i.code for i in result.errors] == [replace.APPLY_REPLACE_LOST.code]
    assert digits(0) not in held(sandbox)


def test_fault_mix_does_every_write_once(make_sandbox: SandboxFactory) -> None:
    """14 % faults (8 % 5xx, 2 % drops, 4 % lost answers) over 320 planned writes (80 each of
    register, update, replace, delete): every row ends as planned, the account equals the
    plan, and no number got a second write after its change landed."""
    maker = make_sandbox()
    records = put_many(maker, range(240), name="Old {i}")
    server = make_sandbox(fail_rate=0.08, drop_rate=0.02, lose_answer_rate=0.04, seed=5)
    for record in records:
        server.state.put(record)
    rows = [planned(i, None, name=f"New {i}") for i in range(240, 320)]
    rows += [planned(i, records[i], name=f"New {i}") for i in range(80)]
    rows += [planned(i, records[i], capabilities=27) for i in range(80, 160)]
    rows += [pruned(i - 159, records[i]) for i in range(160, 240)]
    batch = apply(server, rows, concurrency=16, max_attempts=10)
    assert batch.stopped_by is None
    wanted = [Status.REGISTERED] * 80 + [Status.UPDATED] * 80 + [Status.REPLACED] * 80
    assert [r.status for r in batch.results] == wanted + [Status.DELETED] * 80
    now = held(server)
    assert set(now) == {digits(i) for i in range(160)} | {digits(i) for i in range(240, 320)}
    assert all(now[digits(i)]["name"] == f"New {i}" for i in [*range(80), *range(240, 320)])
    assert all(now[digits(i)]["capabilities"] == 27 for i in range(80, 160))
    lost = Counter(e["method"] for e in server.state.requests if e["fault"] == "lost_answer_cut")
    assert min(lost["POST"], lost["PATCH"], lost["DELETE"]) > 0
    faults = Counter(entry["fault"] for entry in server.state.requests)
    assert min(faults["failed"], faults["dropped"]) > 0
    _no_second_write(server)
    applied = {n: [e["method"] for e in w] for n, w in server.state.applied_writes().items()}
    expected = {digits(i): ["POST"] for i in range(240, 320)}
    expected |= {digits(i): ["PATCH"] for i in range(80)}
    expected |= {digits(i): ["DELETE", "POST"] for i in range(80, 160)}
    expected |= {digits(i): ["DELETE"] for i in range(160, 240)}
    assert applied == expected


def _no_second_write(server: SandboxServer) -> None:
    """Per sid, at most one write that changed something (answered 2xx or lost after the
    commit); a DELETE of a sid never follows its own landed DELETE; one POST per number."""
    landed: Counter[tuple[str, str]] = Counter()
    for entry in server.state.requests:
        changed = entry["fault"] and entry["fault"].startswith("lost_answer")
        if entry["method"] in ("PATCH", "DELETE") and (changed or entry["status"] in (200, 204)):
            landed[(entry["method"], entry["external_did_sid"])] += 1
        if entry["method"] in ("PATCH", "DELETE") and entry["status"] == 404:
            raise AssertionError(f"a write to a sid already gone: {entry}")
        if entry["method"] == "POST" and entry["status"] in (409, 422):
            raise AssertionError(f"a number registered twice: {entry}")
    assert set(landed.values()) == {1}
