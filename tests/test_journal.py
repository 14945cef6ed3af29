"""The journal: row states, resume decisions, restored outcomes, and history."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from importer.errors import ConfigError, JournalBusy
from importer.journal import (
    SCHEMA_VERSION,
    Journal,
    RowState,
    RunJournal,
    RunStatus,
    format_history,
    iter_history,
    payload_hash,
)
from importer.models import Planned, RawRow, RowResult, Status
from importer.send.operations import register

FILE = Path("numbers.csv")
SHA = "ab" * 32
BASE = "http://api.test/core/v2"


def row(i: int, capabilities: int = 3) -> RowResult:
    digits = f"1205905{i:04d}"
    return RowResult(
        row=RawRow(i + 2, (digits,)),
        status=Status.WOULD_REGISTER,
        payload={"phonenumber": digits, "capabilities": capabilities},
        normalized_phonenumber=digits,
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite") as opened:
        yield opened


def start(
    journal: Journal, rows: list[RowResult], *, fresh: bool = False, operation: str = "register"
) -> RunJournal:
    return journal.start_run(FILE, SHA, BASE, rows, fresh=fresh, operation=operation)


def states(journal: Journal, operation: str = "register") -> dict[int, str]:
    cursor = journal.db.execute(
        "select row_number, state from rows where operation = ? order by row_number", (operation,)
    )
    return dict(cursor.fetchall())


def registered(result: RowResult, sid: str) -> RowResult:
    return replace(result, status=Status.REGISTERED, external_did_sid=sid, attempts=1)


def test_journal_is_wal_and_holds_every_sendable_row(journal: Journal) -> None:
    """The file is in WAL mode; each would_register row starts pending, others are not kept."""
    invalid = RowResult(row=RawRow(99, ("x",)), status=Status.INVALID)
    start(journal, [row(0), row(1), invalid])
    assert journal.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert states(journal) == {2: "pending", 3: "pending"}


def test_row_moves_pending_sending_done(journal: Journal) -> None:
    """`sending` is recorded before a POST; `done`, with its sid and outcome, goes in with
    the next commit (the next row's `sending`), not a statement of its own."""
    run = start(journal, [row(0), row(1)])
    run.sending(2, 1)
    assert states(journal) == {2: RowState.SENDING, 3: RowState.PENDING}
    run.settled(registered(row(0), "sid-0"))
    assert states(journal)[2] == RowState.SENDING
    run.sending(3, 1)
    state, sid, attempts = journal.db.execute(
        "select state, sid, attempts from rows where row_number = 2"
    ).fetchone()
    assert (state, sid, attempts) == ("done", "sid-0", 1)


def test_failed_row_is_failed_and_not_attempted_stays_pending(journal: Journal) -> None:
    """A failed row is `failed` with its last error; a row never sent stays `pending`."""
    run = start(journal, [row(0), row(1)])
    issue = register.API_FAILED.issue(attempts=2, detail="HTTP 503")
    run.settled(replace(row(0), status=Status.FAILED, attempts=2, issues=(issue,)))
    run.settled(replace(row(1), status=Status.NOT_ATTEMPTED))
    run.write_outcomes()
    assert states(journal) == {2: "failed", 3: "pending"}
    error = journal.db.execute("select last_error from rows where row_number = 2").fetchone()
    assert "HTTP 503" in error[0]


def test_unfinished_run_is_resumed(journal: Journal) -> None:
    """After a run that never finished: done rows come back, sent rows are to reconcile."""
    rows = [row(i) for i in range(4)]
    first = start(journal, rows)
    first.settled(registered(rows[0], "sid-0"))
    first.sending(3, 1)  # row(1): POST out, then the process died
    issue = register.API_FAILED.issue(attempts=1, detail="timeout")
    first.settled(replace(rows[2], status=Status.FAILED, attempts=1, issues=(issue,)))
    second = start(journal, rows)
    assert second.resumed_from == first.run_id
    assert set(second.finished_rows) == {2}
    restored = second.finished_rows[2]
    assert (restored.status, restored.external_did_sid) == (Status.REGISTERED, "sid-0")
    assert restored.extra["from_journal"] is True
    assert second.reconcile == frozenset({3, 4})


@pytest.mark.parametrize("status", [RunStatus.STOPPED, RunStatus.RUNNING])
def test_stopped_or_crashed_runs_resume(journal: Journal, status: RunStatus) -> None:
    """A run stopped (exit 3/4) or still marked running (killed) is resumed."""
    first = start(journal, [row(0)])
    first.settled(registered(row(0), "sid-0"))
    if status is RunStatus.STOPPED:
        first.finish(status=status, counts={}, exit_code=4, report=None)
    assert set(start(journal, [row(0)]).finished_rows) == {2}


def test_finished_run_starts_fresh(journal: Journal) -> None:
    """After a run that finished, the same file starts over: nothing is skipped."""
    first = start(journal, [row(0)])
    first.settled(registered(row(0), "sid-0"))
    first.finish(status=RunStatus.FINISHED, counts={"registered": 1}, exit_code=0, report=None)
    second = start(journal, [row(0)])
    assert second.resumed_from is None
    assert second.finished_rows == {}
    assert states(journal) == {2: "pending"}


def test_fresh_discards_an_unfinished_run(journal: Journal) -> None:
    """fresh=True ignores what an unfinished run journaled."""
    first = start(journal, [row(0)])
    first.sending(2, 1)
    second = start(journal, [row(0)], fresh=True)
    assert (second.finished_rows, second.reconcile) == ({}, frozenset())


def test_edited_row_is_treated_as_new(journal: Journal) -> None:
    """A row whose payload changed since it was journaled is sent as a new row."""
    first = start(journal, [row(0)])
    first.settled(registered(row(0), "sid-0"))
    second = start(journal, [row(0, capabilities=24)])
    assert second.finished_rows == {}
    assert states(journal) == {2: "pending"}


def test_other_base_url_is_another_run(journal: Journal) -> None:
    """An unfinished run against the sandbox is never resumed against another API."""
    first = start(journal, [row(0)])
    first.settled(registered(row(0), "sid-0"))
    other = journal.start_run(FILE, SHA, "https://api.carrierx.com/core/v2", [row(0)], fresh=False)
    assert other.finished_rows == {}


def test_payload_hash_ignores_key_order() -> None:
    """The same payload in another key order hashes the same; another value does not."""
    assert payload_hash({"a": 1, "b": 2}) == payload_hash({"b": 2, "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})


def test_history_lists_runs_newest_first(tmp_path: Path) -> None:
    """history() and format_history() show each run with its status, exit code and counts."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        first = start(journal, [row(0)])
        first.finish(status=RunStatus.STOPPED, counts={"failed": 1}, exit_code=4, report=None)
        second = start(journal, [row(0)])
        report = tmp_path / "r.xlsx"
        second.finish(
            status=RunStatus.FINISHED, counts={"registered": 1}, exit_code=0, report=report
        )
    lines = format_history(iter_history(path, 10))
    assert len(lines) == 2
    assert "finished" in lines[0]
    assert f"resumes #{first.run_id}" in lines[0]
    assert "1 registered" in lines[0]
    assert str(report) in lines[0]
    assert "stopped" in lines[1]
    assert "exit 4" in lines[1]


def test_history_of_a_missing_journal_is_empty(tmp_path: Path) -> None:
    """No journal file yet: no runs, and a friendly line instead of a table."""
    assert format_history(iter_history(tmp_path / "absent.sqlite", 5)) == [
        "no runs in the journal yet"
    ]


def test_unopenable_journal_is_a_config_error(tmp_path: Path) -> None:
    """A journal path that cannot be opened is exit 2 naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot open the journal"):
        Journal(blocker / "journal.sqlite")


def test_journal_writes_survive_without_close(tmp_path: Path) -> None:
    """Each write is committed at once: another connection sees it before close()."""
    journal = Journal(tmp_path / "j.sqlite")
    run = start(journal, [row(0)])
    run.sending(2, 1)
    other = sqlite3.connect(tmp_path / "j.sqlite")
    assert other.execute("select state from rows").fetchone() == ("sending",)
    other.close()
    journal.close()


def test_settled_outcomes_ride_on_the_next_commit(tmp_path: Path) -> None:
    """An outcome is committed with the next `sending`, or at close: never lost on a clean end."""
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    run = start(journal, [row(0), row(1)])
    run.settled(registered(row(0), "sid-0"))
    other = sqlite3.connect(path)
    assert other.execute("select state from rows where row_number = 2").fetchone() == ("pending",)
    run.sending(3, 1)
    assert other.execute("select state from rows where row_number = 2").fetchone() == ("done",)
    run.settled(registered(row(1), "sid-1"))
    journal.close()
    assert other.execute("select state from rows where row_number = 3").fetchone() == ("done",)
    other.close()


def test_journal_failure_mid_run_is_a_one_line_config_error(tmp_path: Path) -> None:
    """A write the journal cannot make stops the run with a one-line error naming the file."""
    journal = Journal(tmp_path / "j.sqlite")
    run = start(journal, [row(0)])
    journal.db.close()
    with pytest.raises(ConfigError, match=r"j\.sqlite: cannot use the journal"):
        run.sending(2, 1)
    journal.close()


# -- the operation -------------------------------------------------------------------


def test_another_operation_does_not_resume_an_unfinished_run(journal: Journal) -> None:
    """A `delete` run on a file whose `register` run did not finish starts afresh."""
    first = start(journal, [row(0), row(1)])
    first.settled(registered(row(0), "sid-0"))
    first.sending(3, 1)
    delete = start(journal, [row(0), row(1)], operation="delete")
    assert (delete.resumed_from, delete.finished_rows, delete.reconcile) == (None, {}, frozenset())
    assert states(journal, "delete") == {2: "pending", 3: "pending"}


def test_each_operation_resumes_its_own_run_and_rows(journal: Journal) -> None:
    """Rows journaled for one operation are kept apart from another's, and each resumes its own."""
    register = start(journal, [row(0)])
    register.settled(registered(row(0), "sid-0"))
    delete = start(journal, [row(0)], operation="delete")
    delete.sending(2, 1)
    assert (states(journal), states(journal, "delete")) == ({2: "done"}, {2: "sending"})
    again = start(journal, [row(0)])
    assert again.resumed_from == register.run_id
    assert (set(again.finished_rows), again.reconcile) == ({2}, frozenset())
    delete_again = start(journal, [row(0)], operation="delete")
    assert delete_again.resumed_from == delete.run_id
    assert (delete_again.finished_rows, delete_again.reconcile) == ({}, frozenset({2}))


def test_history_shows_each_run_s_operation(tmp_path: Path) -> None:
    """`history` records and lines say which operation each run was."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        start(journal, [row(0)])
        start(journal, [row(0)], operation="delete")
    records = list(iter_history(path, 10))
    assert [record.operation for record in records] == ["delete", "register"]
    lines = format_history(records)
    assert re.search(r"  delete +running ", lines[0]), lines[0]
    assert re.search(r"  register  running ", lines[1]), lines[1]


# -- a journal written before the operation existed ----------------------------------

SCHEMA_0 = """
create table runs (
    run_id integer primary key autoincrement, file text not null, sha256 text not null,
    base_url text not null, started_at text not null, finished_at text, status text not null,
    counts text, report_path text, exit_code integer, resumed_from integer, pid integer
);
create index runs_by_file on runs (sha256, base_url, run_id);
create table rows (
    sha256 text not null, base_url text not null, row_number integer not null,
    payload_hash text not null, phonenumber text, state text not null, sid text,
    attempts integer not null default 0, last_error text, outcome text, run_id integer,
    updated_at text, primary key (sha256, base_url, row_number)
) without rowid;
"""
"""The journal's tables as did-import wrote them before `operation` (schema 0)."""


OUTCOME_0 = (
    '{"status": "registered", "external_did_sid": "sid-0", "http_status": 200, "attempts": 1,'
    ' "issues": [], "extra": {}}'
)
"""Row 2's outcome as schema 0 stored it."""


def schema_0_journal(path: Path) -> None:
    """A schema-0 journal holding an unfinished run: row 2 done, row 3 sent, row 4 never."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_0)
    db.execute(
        "insert into runs (file, sha256, base_url, started_at, status, pid)"
        " values (?, ?, ?, '2025-06-01T09:30:00.000+00:00', 'running', 4242)",
        (str(FILE), SHA, BASE),
    )
    rows = [(2, "done", 1, OUTCOME_0), (3, "sending", 1, None), (4, "pending", 0, None)]
    db.executemany(
        "insert into rows (sha256, base_url, row_number, payload_hash, state, attempts, outcome,"
        " run_id) values (?, ?, ?, ?, ?, ?, ?, 1)",
        [(SHA, BASE, n, payload_hash(row(n - 2).payload), *rest) for n, *rest in rows],
    )
    db.commit()
    db.close()


def test_a_schema_0_journal_is_migrated_and_resumed(tmp_path: Path) -> None:
    """An old journal gains `operation` (all `register`, in the rows' key) and its run resumes."""
    path = tmp_path / "old.sqlite"
    schema_0_journal(path)
    with Journal(path) as journal:
        assert journal.db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
        keys = journal.db.execute("select name from pragma_table_info('rows') where pk > 0")
        assert {name for (name,) in keys} == {"sha256", "base_url", "operation", "row_number"}
        assert states(journal) == {2: "done", 3: "sending", 4: "pending"}
        resumed = start(journal, [row(0), row(1), row(2)])
        assert resumed.resumed_from == 1
        assert resumed.finished_rows[2].external_did_sid == "sid-0"
        assert resumed.reconcile == frozenset({3})
    assert [record.operation for record in iter_history(path, 5)] == ["register", "register"]


def test_a_migrated_journal_does_not_resume_the_old_run_for_another_operation(
    tmp_path: Path,
) -> None:
    """After the migration, the old unfinished run is a `register` run: `delete` starts afresh."""
    path = tmp_path / "old.sqlite"
    schema_0_journal(path)
    with Journal(path) as journal:
        delete = start(journal, [row(0)], operation="delete")
        assert (delete.resumed_from, delete.finished_rows) == (None, {})


def test_a_journal_from_a_newer_did_import_is_refused(tmp_path: Path) -> None:
    """A journal of a later schema is exit 2 naming it, and is left as it is."""
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match=r"new\.sqlite: written by a newer did-import"):
        Journal(path)


# -- one run at a time ----------------------------------------------------------------


def lock_text(path: Path) -> str:
    return path.with_name(f"{path.name}.lock").read_text(encoding="utf-8")


def test_a_second_run_on_a_held_journal_is_busy(tmp_path: Path) -> None:
    """While a run holds the journal, another raises JournalBusy (exit 5), naming the holder."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as holder, Journal(path) as other:
        start(holder, [row(0)])
        pid, started = lock_text(path).split()
        with pytest.raises(JournalBusy) as caught:
            start(other, [row(0)])
        assert caught.value.exit_code == 5
        assert str(caught.value) == f"another run (pid {pid}, started {started}) holds {path}"
        assert int(pid) == os.getpid()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", started)
        assert len(holder.history()) == 1  # the busy run journaled nothing


def test_history_reads_while_a_run_holds_the_journal(tmp_path: Path) -> None:
    """`history` takes no lock: it lists the runs while another run holds the journal."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as holder:
        start(holder, [row(0)])
        assert [record.status for record in iter_history(path, 5)] == ["running"]
        assert format_history(iter_history(path, 5))[0].startswith("#1 ")


def test_closing_the_journal_lets_the_next_run_in(tmp_path: Path) -> None:
    """The lock is held until the journal closes; then the next run takes it."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as first:
        start(first, [row(0)])
        start(first, [row(1)])  # the same journal object may start runs again
    with Journal(path) as second:
        assert start(second, [row(0)]).resumed_from is not None


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    """A lock file naming a process that no longer exists does not block: the run takes it."""
    path = tmp_path / "j.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    path.with_name("j.sqlite.lock").write_text(
        f"{dead.stdout.strip()} 2025-06-01T09:30:00+00:00\n", encoding="utf-8"
    )
    with Journal(path) as journal:
        start(journal, [row(0)])
        assert lock_text(path).split()[0] == str(os.getpid())


# -- planned writes (apply, delete) ----------------------------------------------------
RECORD = {"external_did_sid": "sid-old", "phonenumber": "12059050000", "capabilities": 3}


def planned_row(status: Status, number: int = 2, **payload: object) -> RowResult:
    """Row `number` of a plan: `status`, against RECORD (a prune row when `number` < 0)."""
    body = {"name": "Beta"} if status is Status.WOULD_UPDATE else {"capabilities": 27}
    return RowResult(
        row=RawRow(number, ()),
        status=status,
        payload=None if number < 0 else {"phonenumber": "12059050000", **payload},
        normalized_phonenumber="12059050000",
        planned=Planned(record=RECORD, body=body),
    )


def columns(journal: Journal, number: int) -> tuple[str, str | None, str | None]:
    return journal.db.execute(
        "select state, step, sid from rows where operation = 'apply' and row_number = ?",
        (number,),
    ).fetchone()


def test_every_planned_write_is_journaled_with_its_action_and_sid(journal: Journal) -> None:
    """update, replace and a prune delete (row -1) start pending, with their action as the
    step and the planned sid; an unchanged row is not journaled."""
    rows = [
        planned_row(Status.WOULD_UPDATE, 2),
        planned_row(Status.WOULD_REPLACE, 3),
        planned_row(Status.WOULD_DELETE, -1),
        planned_row(Status.UNCHANGED, 4),
    ]
    start(journal, rows, operation="apply")
    assert states(journal, "apply") == {-1: "pending", 2: "pending", 3: "pending"}
    assert columns(journal, 2) == ("pending", "update", "sid-old")
    assert columns(journal, 3) == ("pending", "replace", "sid-old")
    assert columns(journal, -1) == ("pending", "delete", "sid-old")


def test_stepped_is_committed_at_once_and_comes_back_on_resume(tmp_path: Path) -> None:
    """`stepped(row, deleted)` is on disk before the next write (another connection sees it);
    the resumed run carries it in `steps` and reconciles the row."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        run = start(journal, [planned_row(Status.WOULD_REPLACE)], operation="apply")
        run.sending(2, 1)
        run.stepped(2, "deleted")
        seen = sqlite3.connect(path).execute("select step from rows").fetchone()
        assert seen == ("deleted",)
    with Journal(path) as journal:
        again = start(journal, [planned_row(Status.WOULD_REPLACE)], operation="apply")
        assert (again.steps, again.reconcile) == ({2: "deleted"}, frozenset({2}))


def test_a_done_row_gets_its_outcome_back_whatever_it_is_planned_now(journal: Journal) -> None:
    """A row journaled `updated` and planned `unchanged` now is reported `updated`."""
    first = start(journal, [planned_row(Status.WOULD_UPDATE)], operation="apply")
    first.settled(replace(planned_row(Status.WOULD_UPDATE), status=Status.UPDATED, attempts=1))
    again = start(journal, [planned_row(Status.UNCHANGED)], operation="apply")
    assert again.finished_rows[2].status is Status.UPDATED
    assert again.reconcile == frozenset()


@pytest.mark.parametrize(
    ("planned_as", "now", "reported"),
    [
        (Status.WOULD_UPDATE, Status.UNCHANGED, Status.UPDATED),
        (Status.WOULD_REPLACE, Status.UNCHANGED, Status.REPLACED),
        (Status.WOULD_DELETE, Status.NOT_FOUND, Status.DELETED),
    ],
)
def test_a_sent_row_whose_new_plan_finds_it_done_is_reported_done(
    journal: Journal, planned_as: Status, now: Status, reported: Status
) -> None:
    """Journaled `sending`, planned unchanged (or not_found) now: its write landed; reported
    with its journaled action, reconciled, and journaled done."""
    first = start(journal, [planned_row(planned_as)], operation="apply")
    first.sending(2, 1)
    new_record = {**RECORD, "external_did_sid": "sid-new"}
    row = replace(planned_row(now), planned=Planned(record=new_record))
    again = start(journal, [row], operation="apply")
    done = again.finished_rows[2]
    assert (done.status, done.extra["reconciled"]) == (reported, True)
    if reported is Status.REPLACED:
        assert (done.external_did_sid, done.extra["old_external_did_sid"]) == ("sid-new", "sid-old")
    assert states(journal, "apply") == {2: "done"}


def test_a_replace_left_after_its_delete_gets_its_plan_back(journal: Journal) -> None:
    """Sent as a replace, planned would_register now (the number is absent): the resumed row
    is the journaled replace (its record and body), reconciled with its step."""
    first = start(journal, [planned_row(Status.WOULD_REPLACE)], operation="apply")
    first.sending(2, 1)
    first.stepped(2, "deleted")
    now = replace(planned_row(Status.WOULD_REGISTER), planned=Planned())
    again = start(journal, [now], operation="apply")
    back = again.reworked[2]
    assert back.status is Status.WOULD_REPLACE
    assert back.planned is not None
    assert (back.planned.sid, back.planned.body) == ("sid-old", {"capabilities": 27})
    assert (again.reconcile, again.steps) == (frozenset({2}), {2: "deleted"})


def test_a_schema_1_journal_gains_step_and_plan(tmp_path: Path) -> None:
    """A journal of schema 1 (no `step`, `plan`) is brought to 2; its unfinished run resumes."""
    path = tmp_path / "v1.sqlite"
    with Journal(path) as journal:
        run = start(journal, [row(0)])
        run.sending(2, 1)
    db = sqlite3.connect(path)
    db.executescript(
        "create table rows_copy as select sha256, base_url, operation, row_number,"
        " payload_hash, phonenumber, state, sid, attempts, last_error, outcome, run_id,"
        " updated_at from rows; drop table rows; alter table rows_copy rename to rows;"
        " pragma user_version = 1;"
    )
    db.close()
    with Journal(path) as journal:
        assert journal.db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION == 2
        names = {n for (n,) in journal.db.execute("select name from pragma_table_info('rows')")}
        assert {"step", "plan"} <= names
        again = start(journal, [row(0)])
        assert (again.reconcile, again.steps) == (frozenset({2}), {2: "register"})
