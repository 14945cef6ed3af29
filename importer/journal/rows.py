"""One run's rows in the journal (`RunJournal`): what to skip, what to reconcile, and
the writes (pending, sending, the outcome), as `importer.journal` describes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from importer.journal import plans
from importer.journal.schema import RowState, RunStatus, Transaction, now_text, translated
from importer.models import PLANNED_WRITES, Issue, RowResult, Severity, Status

_DONE_STATUSES = frozenset(
    {
        Status.REGISTERED,
        Status.ALREADY_REGISTERED,
        Status.REJECTED,
        Status.UPDATED,
        Status.REPLACED,
        Status.DELETED,
        Status.NOT_FOUND,
    }
)


class RunJournal:
    """One run's view of the journal: what to skip, what to reconcile, and the writes."""

    def __init__(self, db: sqlite3.Connection, run_id: int, key: tuple[str, str, str]) -> None:
        self.db = db
        self.path: Path | str = "journal"
        self.run_id = run_id
        self.key = key
        """(sha256, base_url, operation): the run's file, API and operation."""
        self.resumed_from: int | None = None
        self.finished_rows: dict[int, RowResult] = {}
        """Rows an earlier run settled (or whose write a new plan finds landed), as they
        ended: the report takes them as they are, nothing is sent for them."""
        self.reconcile: set[int] = set()
        """Rows an earlier run may have sent: looked up before any write (grows with `add`,
        in place: a run sending already holds it)."""
        self.steps: dict[int, str] = {}
        """The journaled step of each row to reconcile (a replace's `deleted`)."""
        self.reworked: dict[int, RowResult] = {}
        """Rows a new plan only registers whose replace an earlier run began: given back
        their journaled replace plan (see `importer.journal.plans`)."""
        self._known: dict[int, dict[str, Any]] = {}
        self._outcomes: list[tuple[Any, ...]] = []
        """Outcomes `settled` holds until the next commit (`_commit`), written then in one
        statement: the same transaction as writing each at once, a tenth of the calls."""

    def load(self, results: Sequence[RowResult], *, resume: bool) -> None:
        """Journal every planned write; on resume, keep what earlier runs learnt."""
        self.begin(resume=resume)
        self.add(results)

    def begin(self, *, resume: bool) -> None:
        """Get ready for the rows: on resume, what earlier runs learnt of them."""
        self._known = self._known_rows() if resume else {}
        self.finished_rows, self.reworked, self.steps = {}, {}, {}
        self.reconcile = set()

    @translated
    def add(self, results: Sequence[RowResult]) -> None:
        """Journal the planned writes of `results` (a chunk, or the whole file) in one
        commit; what an earlier run learnt of them goes to `finished_rows`, `reconcile`,
        `steps` and `reworked`."""
        fresh, reconcile = [], set()
        for result in results:
            entry = self._known.get(result.row.number)
            same = entry is not None and entry["payload_hash"] == plans.digest_of(result)
            if entry is not None and same and entry["state"] != RowState.PENDING:
                if self._resumed(result, entry):
                    reconcile.add(result.row.number)
            elif result.status in PLANNED_WRITES:
                fresh.append(result)
        self.reconcile.update(reconcile)
        self.write_outcomes()  # rows found done above: committed with the new rows
        self._reset(fresh)

    def _resumed(self, result: RowResult, entry: dict[str, Any]) -> bool:
        """Take what the journal knows of a row an earlier run had; True: reconcile it."""
        number, step = result.row.number, entry["step"] or plans.action_of(result)
        if entry["state"] == RowState.DONE and entry["outcome"]:
            self.finished_rows[number] = _restore(result, entry["outcome"])
            return False
        if not (entry["state"] == RowState.SENDING or entry["attempts"]):
            return False
        if result.status is Status.WOULD_REGISTER and entry["plan"] and step != "register":
            self.reworked[number] = plans.replanned(result, entry["plan"])
        elif result.status is Status.WOULD_REPLACE and not entry["plan"]:
            self._keep_plan(result)
        elif result.status not in PLANNED_WRITES:
            done = plans.landed(result, step, entry["sid"])
            if done is not None:
                self.finished_rows[number] = done
                self.settled(done)
            return False
        if step is not None:
            self.steps[number] = step
        return True

    def _known_rows(self) -> dict[int, dict[str, Any]]:
        cursor = self.db.execute(
            "select row_number, payload_hash, state, attempts, outcome, step, sid, plan"
            " from rows where sha256 = ? and base_url = ? and operation = ?",
            self.key,
        )
        names = ("payload_hash", "state", "attempts", "outcome", "step", "sid", "plan")
        return {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor}

    def _reset(self, rows: list[RowResult]) -> None:
        now = now_text()
        with self._transaction():
            self.db.executemany(
                "insert or replace into rows (sha256, base_url, operation, row_number,"
                " payload_hash, phonenumber, state, attempts, run_id, updated_at, step, sid,"
                " plan) values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                [
                    (
                        *self.key,
                        result.row.number,
                        plans.digest_of(result),
                        plans.digits_of(result),
                        RowState.PENDING,
                        self.run_id,
                        now,
                        plans.action_of(result),
                        result.planned.sid if result.planned is not None else None,
                        plans.plan_json(result),
                    )
                    for result in rows
                ],
            )

    def _keep_plan(self, result: RowResult) -> None:
        """A row sent as another action, now a replace: its plan journaled too."""
        self._begin()
        self.db.execute(
            "update rows set plan = ? where sha256 = ? and base_url = ? and operation = ?"
            " and row_number = ?",
            (plans.plan_json(result), *self.key, result.row.number),
        )

    @translated
    def stepped(self, row_number: int, step: str) -> None:
        """A row of several writes finished `step` (a replace's `deleted`): committed at
        once, before its next write leaves."""
        self._begin()
        self.db.execute(
            "update rows set step = ?, updated_at = ? where sha256 = ? and base_url = ?"
            " and operation = ? and row_number = ?",
            (step, now_text(), *self.key, row_number),
        )
        self._commit()

    @translated
    def sending(self, row_number: int, attempts: int) -> None:
        """Mark a row `sending` before its POST leaves: committed at once (with any
        outcomes `settled` wrote since the last commit)."""
        self.sending_rows([(row_number, attempts)])

    @translated
    def sending_rows(self, marks: Sequence[tuple[int, int]]) -> None:
        """Mark rows (row number, attempts) `sending` before their POSTs leave: one commit
        for all of them (a group commit), outcomes `settled` wrote since the last included."""
        self._begin()
        now = now_text()
        self.db.executemany(
            "update rows set state = ?, attempts = ?, run_id = ?, updated_at = ?"
            " where sha256 = ? and base_url = ? and operation = ? and row_number = ?",
            [(RowState.SENDING, tries, self.run_id, now, *self.key, row) for row, tries in marks],
        )
        self._commit()

    @translated
    def settled(self, result: RowResult) -> None:
        """Record a row's final outcome: `done`, or `failed` (a not-attempted row stays).

        Not committed by itself: the next `sending` (or `finish`, or `close`) commits it.
        Lost in a crash, the row is still `sending`, so the next run looks it up: a
        lookup is all it costs, and it halves the commits per row.
        """
        if result.status is Status.NOT_ATTEMPTED:
            return
        state = RowState.DONE if result.status in _DONE_STATUSES else RowState.FAILED
        error = result.errors[-1].message if result.errors else None
        sid, attempts, outcome = result.external_did_sid, result.attempts, _outcome_json(result)
        self._outcomes.append((state, sid, attempts, error, outcome, result.row.number))

    def _commit(self) -> None:
        """Write the outcomes `settled` holds, then commit (a transaction is open)."""
        self.write_outcomes()
        self.db.execute("commit")

    def write_outcomes(self) -> None:
        """Write the outcomes `settled` holds into the open transaction (not committed)."""
        if self._outcomes:
            self._begin()
            now, key = now_text(), self.key
            self.db.executemany(
                "update rows set state = ?, sid = ?, attempts = ?, last_error = ?, outcome = ?,"
                " run_id = ?, updated_at = ? where sha256 = ? and base_url = ?"
                " and operation = ? and row_number = ?",
                [(*kept, self.run_id, now, *key, row) for *kept, row in self._outcomes],
            )
            self._outcomes.clear()

    @translated
    def finish(
        self, *, status: RunStatus, counts: Mapping[str, int], exit_code: int, report: Path | None
    ) -> None:
        """Close the run's line in `runs` (a killed run keeps `running`: it is resumed)."""
        self._begin()
        self.db.execute(
            "update runs set finished_at = ?, status = ?, counts = ?, exit_code = ?,"
            " report_path = ? where run_id = ?",
            (
                now_text(),
                status,
                json.dumps(dict(counts)),
                exit_code,
                str(report) if report else None,
                self.run_id,
            ),
        )
        self._commit()

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("begin")

    def _transaction(self) -> Transaction:
        return Transaction(self.db)


def _outcome_json(result: RowResult) -> str:
    return _OUTCOME_ENCODER.encode(
        {
            "status": result.status.value,
            "external_did_sid": result.external_did_sid,
            "http_status": result.http_status,
            "attempts": result.attempts,
            "issues": [_issue_fields(issue) for issue in result.issues],
            "extra": dict(result.extra),
        }
    )


_OUTCOME_ENCODER = json.JSONEncoder(default=str)
"""`json.dumps(…, default=str)` made once (`dumps` makes an encoder a call when given one)."""


def _issue_fields(issue: Issue) -> dict[str, Any]:
    """An issue's fields, as `dataclasses.asdict` gives them (without its deep copies)."""
    return {name: getattr(issue, name) for name in _ISSUE_FIELDS}


_ISSUE_FIELDS = tuple(field.name for field in fields(Issue))


def _restore(result: RowResult, outcome: str) -> RowResult:
    """The validated row with the outcome an earlier run journaled."""
    saved = json.loads(outcome)
    issues = tuple(
        Issue(**{**issue, "severity": Severity(issue["severity"])}) for issue in saved["issues"]
    )
    return replace(
        result,
        status=Status(saved["status"]),
        external_did_sid=saved["external_did_sid"],
        http_status=saved["http_status"],
        attempts=saved["attempts"],
        issues=issues,
        extra={**saved["extra"], "from_journal": True},
    )
