"""`plan` (and `run`'s drift warning) against the running sandbox: every action, the
changes, --prune, a saved plan and when it is refused."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from account_samples import seed_account
from conftest import SandboxFactory

from importer.api import export_account
from importer.config import Settings, build_settings
from importer.errors import ConfigError, ImporterError
from importer.journal import iter_history
from importer.models import RowResult, Status
from importer.plan.saved import read_plan
from importer.run import Command, Hooks, Run, RunOutcome, sync
from importer.sandbox import SandboxServer
from importer.signals import StopSwitch

COLLECTION = "/phonenumber/external_dids"
A = "Phone Number,Capabilities,Callback URL,Name\n12059051025,3,https://a.example.com/sms,Alpha\n"
B = "Phone Number,Capabilities,Callback URL,Name\n12059051025,27,https://b.example.com/sms,Beta\n"
ACCOUNT = (
    "Phone Number,Capabilities,Callback URL,Name\n"
    "12059051025,3,https://a.example.com/sms,Alpha\n"
    "12059051026,3,https://a.example.com/sms,Gamma\n"
    "12059051027,3,https://a.example.com/sms,Delta\n"
)
SHEET = (
    "Phone Number,Capabilities,Callback URL,Name\n"
    "12059051025,3,https://a.example.com/sms,Alpha\n"  # unchanged
    "12059051026,3,https://b.example.com/sms,Gamma\n"  # callback changes
    "12059051028,3,https://a.example.com/sms,Eta\n"  # new
)


def settings_for(server: SandboxServer, tmp_path: Path, **sections: object) -> Settings:
    """Settings for the sandbox, reports and journal in tmp_path."""
    api = {"base_url": server.base_url, "token": server.token, "backoff_base": 0.0}
    flags: dict[str, object] = {"api": api, "report": {"report_dir": tmp_path}}
    return build_settings(flags | sections)  # type: ignore[arg-type]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def execute(path: Path, settings: Settings, command: Command, **hooks: object) -> RunOutcome:
    return Run(path, settings, command, Hooks(**hooks)).execute()  # type: ignore[arg-type]


def by_number(outcome: RunOutcome) -> dict[str, RowResult]:
    return {r.normalized_phonenumber or "": r for r in outcome.results}


@pytest.fixture
def account(sandbox: SandboxServer, tmp_path: Path) -> Settings:
    """Three numbers registered through `run`."""
    settings = settings_for(sandbox, tmp_path)
    assert execute(write(tmp_path, "account.csv", ACCOUNT), settings, Command.RUN).exit_code == 0
    return settings


def writes(server: SandboxServer) -> list[str]:
    return [r["method"] for r in server.state.requests if r["method"] != "GET"]


def test_run_flags_a_drifted_already_registered_row(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The issue's reproduction: the second run's row is already_registered, but the record
    holds other capabilities, callback and name: remote.differs names them, exit 1."""
    settings = settings_for(sandbox, tmp_path)
    assert execute(write(tmp_path, "a.csv", A), settings, Command.RUN).exit_code == 0
    outcome = execute(write(tmp_path, "b.csv", B), settings, Command.RUN)
    assert outcome.exit_code == 1
    (row,) = outcome.results
    assert row.status is Status.ALREADY_REGISTERED
    (issue,) = [i for i in row.issues if i.code == "remote.differs"]
    assert "capabilities: 3 → 27" in issue.message
    assert "callback_url: https://a.example.com/sms → https://b.example.com/sms" in issue.message
    assert "name: Alpha → Beta" in issue.message


def test_run_of_an_unchanged_sheet_ends_well(account: Settings, tmp_path: Path) -> None:
    """No drift, no warning: a second run of the same sheet exits 0."""
    outcome = execute(write(tmp_path, "again.csv", ACCOUNT), account, Command.RUN)
    assert outcome.exit_code == 0
    assert not any(r.issues for r in outcome.results)


def test_plan_gives_every_row_its_action_and_sends_no_write(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """unchanged / would_update (the callback, field by field) / would_register; read-only."""
    before = writes(sandbox)
    outcome = execute(write(tmp_path, "sheet.csv", SHEET), account, Command.PLAN)
    rows = by_number(outcome)
    assert rows["12059051025"].status is Status.UNCHANGED
    update = rows["12059051026"]
    assert update.status is Status.WOULD_UPDATE
    assert update.planned is not None
    assert update.planned.body == {"callback_url": "https://b.example.com/sms"}
    assert rows["12059051028"].status is Status.WOULD_REGISTER
    assert outcome.exit_code == 0
    assert outcome.summary.mode == "plan"
    assert writes(sandbox) == before


def test_a_capability_change_is_blocked_without_allow_replace(
    account: Settings, tmp_path: Path
) -> None:
    """capabilities cannot be patched: blocked (exit 1, plan.blocked), or would_replace."""
    sheet = write(tmp_path, "b.csv", B)
    blocked = execute(sheet, account, Command.PLAN)
    (row,) = blocked.results
    assert row.status is Status.BLOCKED
    assert [i.code for i in row.issues] == ["plan.blocked"]
    assert blocked.exit_code == 1
    allowed = account.model_copy(
        update={"plan": account.plan.model_copy(update={"allow_replace": True})}
    )
    (row,) = execute(sheet, allowed, Command.PLAN).results
    assert row.status is Status.WOULD_REPLACE
    assert row.planned is not None
    assert row.planned.body is not None
    assert row.planned.body["capabilities"] == 27
    assert row.planned.body["name"] == "Beta"
    assert [i.code for i in row.issues] == ["plan.messaging_lost"]  # sandbox: enabled at birth


def test_prune_lists_the_numbers_the_sheet_does_not_hold(account: Settings, tmp_path: Path) -> None:
    """--prune: the account's other number becomes would_delete, on a row of its own."""
    pruning = account.model_copy(update={"plan": account.plan.model_copy(update={"prune": True})})
    outcome = execute(write(tmp_path, "sheet.csv", SHEET), pruning, Command.PLAN)
    deletes = [r for r in outcome.results if r.status is Status.WOULD_DELETE]
    assert [r.normalized_phonenumber for r in deletes] == ["12059051027"]
    assert deletes[0].row.number < 0
    assert deletes[0].external_did_sid is not None
    assert outcome.summary.counts["would_delete"] == 1


def test_a_saved_plan_names_what_it_relies_on(account: Settings, tmp_path: Path) -> None:
    """plan --out: the input's sha256, and each write's action and record fingerprint."""
    out = tmp_path / "plan.json"
    saving = account.model_copy(update={"plan": account.plan.model_copy(update={"out": out})})
    execute(write(tmp_path, "sheet.csv", SHEET), saving, Command.PLAN)
    plan = read_plan(out)
    actions = {a.phonenumber: a for a in plan.actions}
    assert set(actions) == {"12059051026", "12059051028"}
    assert actions["12059051026"].action == "would_update"
    assert actions["12059051026"].fingerprint
    assert actions["12059051028"].fingerprint is None
    assert plan.counts == {"unchanged": 1, "would_update": 1, "would_register": 1}
    assert json.loads(out.read_text())["format"] == "did-import-plan/1"


def _saved(account: Settings, tmp_path: Path) -> Path:
    out = tmp_path / "plan.json"
    saving = account.model_copy(update={"plan": account.plan.model_copy(update={"out": out})})
    execute(write(tmp_path, "sheet.csv", SHEET), saving, Command.PLAN)
    return out


def test_a_saved_plan_is_refused_once_the_input_changed(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """apply PLAN.json of an edited sheet: exit 2, nothing sent."""
    out = _saved(account, tmp_path)
    write(tmp_path, "sheet.csv", SHEET + "12059051029,3,,Theta\n")
    before = writes(sandbox)
    with pytest.raises(ConfigError, match="the input changed since the plan was made"):
        execute(out, account, Command.APPLY, yes=True)
    assert writes(sandbox) == before


def test_a_saved_plan_is_refused_once_a_record_moved(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A record the plan will change was edited since: exit 2 naming it, nothing sent."""
    out = _saved(account, tmp_path)
    record = next(r for r in sandbox.state.records if r["phonenumber"] == "12059051026")
    answer = httpx.patch(
        f"{sandbox.base_url}{COLLECTION}/{record['external_did_sid']}",
        json={"name": "Edited elsewhere"},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert answer.status_code == 200
    before = writes(sandbox)
    with pytest.raises(ConfigError, match=r"account changed since the plan.*\+12059051026"):
        execute(out, account, Command.APPLY, yes=True)
    assert writes(sandbox) == before


def test_a_destructive_apply_without_yes_or_terminal_sends_nothing(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A replace needs --yes (or a prompt): without either, exit 2 before any write."""
    allowed = account.model_copy(
        update={"plan": account.plan.model_copy(update={"allow_replace": True})}
    )
    before = writes(sandbox)
    with pytest.raises(ConfigError, match="confirm with --yes") as caught:
        execute(write(tmp_path, "b.csv", B), allowed, Command.APPLY)
    assert caught.value.exit_code == 2
    with pytest.raises(ConfigError, match="not confirmed"):
        execute(write(tmp_path, "b.csv", B), allowed, Command.APPLY, confirm=lambda _: False)
    assert writes(sandbox) == before


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_export_plans_every_row_unchanged(
    sandbox: SandboxServer, tmp_path: Path, suffix: str
) -> None:
    """The account exported, then planned (with --prune): nothing to do, nothing to delete."""
    seed_account(sandbox, 40)
    settings = settings_for(sandbox, tmp_path)
    exported = export_account(settings, tmp_path / f"account{suffix}").path
    pruning = settings.model_copy(update={"plan": settings.plan.model_copy(update={"prune": True})})
    outcome = execute(exported, pruning, Command.PLAN)
    assert {r.status for r in outcome.results} == {Status.UNCHANGED}
    assert len(outcome.results) == 40
    assert outcome.exit_code == 0


def test_export_edit_plan_apply_round_trips(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Export, change one callback cell, plan (one would_update), apply (one PATCH of that
    field only), plan again: everything unchanged, and the account holds the new value."""
    path = export_account(account, tmp_path / "account.xlsx").path
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    column = header.index("callback_url") + 1
    sheet.cell(row=3, column=column, value="https://c.example.com/sms")
    number = str(sheet.cell(row=3, column=header.index("phonenumber") + 1).value).lstrip("+")
    book.save(path)
    rows = by_number(execute(path, account, Command.PLAN))
    assert [n for n, r in rows.items() if r.status is Status.WOULD_UPDATE] == [number]
    before = len(writes(sandbox))
    applied = execute(path, account, Command.APPLY)
    assert applied.exit_code == 0
    assert by_number(applied)[number].status is Status.UPDATED
    patches = [r for r in sandbox.state.requests if r["method"] == "PATCH"]
    assert len(writes(sandbox)) == before + 1
    assert json.loads(patches[-1]["body"] or "{}") == {"callback_url": "https://c.example.com/sms"}
    again = execute(path, account, Command.PLAN)
    assert {r.status for r in again.results} == {Status.UNCHANGED}
    held = {r["phonenumber"]: r["callback_url"] for r in sandbox.state.records}
    assert held[number] == "https://c.example.com/sms"


def test_a_plan_is_listed_in_history(account: Settings, tmp_path: Path) -> None:
    """plan leaves a finished `plan` line with its counts in the journal's history."""
    execute(write(tmp_path, "sheet.csv", SHEET), account, Command.PLAN)
    journal = tmp_path / "journal.sqlite"
    (latest, *_) = iter_history(journal, 5)
    assert latest.operation == "plan"
    assert latest.status == "finished"
    assert latest.counts == {"unchanged": 1, "would_update": 1, "would_register": 1}


def test_a_saved_plan_stopped_half_way_resumes_with_each_write_once(
    account: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """apply PLAN.json stopped after its first write, then again: not refused as stale
    (the journal settles what the first run wrote), and every planned write lands once."""
    header = SHEET.split("\n", maxsplit=1)[0] + "\n"
    updates = "".join(f"1205905103{i},3,https://b.example.com/sms,U{i}\n" for i in range(6))
    before = updates.replace("https://b.", "https://a.")
    base = execute(write(tmp_path, "base.csv", header + before), account, Command.RUN)
    assert base.exit_code == 0
    out = tmp_path / "plan.json"
    saving = account.model_copy(update={"plan": account.plan.model_copy(update={"out": out})})
    execute(
        write(tmp_path, "sheet.csv", SHEET.split("\n", maxsplit=1)[0] + "\n" + updates),
        saving,
        Command.PLAN,
    )
    switch = StopSwitch()
    limited = account.model_copy(update={"api": account.api.model_copy(update={"concurrency": 1})})
    first = execute(
        out,
        limited,
        Command.APPLY,
        yes=True,
        stop=switch,
        on_result=lambda _: switch.request("test"),
    )
    assert first.exit_code == 4
    done = [r for r in first.results if r.status is Status.UPDATED]
    assert 1 <= len(done) < 6
    second = execute(out, account, Command.APPLY, yes=True)
    assert second.exit_code == 0
    assert {r.status for r in second.results} == {Status.UPDATED}
    patched = Counter(
        r["phonenumber"] for r in sandbox.state.requests if r["method"] == "PATCH" and r["applied"]
    )
    assert sorted(patched.values()) == [1] * 6


def test_a_replace_warns_of_messaging_and_enable_messaging_turns_it_on_again(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """The old record had messaging on: the plan warns (plan.messaging_lost); apply with
    --enable-messaging replaces it and enables messaging on the new record."""
    server = make_sandbox(initial_messaging="disabled")
    settings = settings_for(server, tmp_path)
    execute(write(tmp_path, "a.csv", A), settings, Command.RUN)
    (record,) = server.state.records
    answer = httpx.post(
        f"{server.base_url}{COLLECTION}/{record['external_did_sid']}/messaging",
        json={"enabled": True, "type": "p2p"},
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert answer.status_code == 200
    plan = settings.plan.model_copy(update={"allow_replace": True})
    api = settings.api.model_copy(update={"enable_messaging": "p2p"})
    chosen = settings.model_copy(update={"plan": plan, "api": api})
    (planned,) = execute(write(tmp_path, "b.csv", B), chosen, Command.PLAN).results
    assert [i.code for i in planned.issues] == ["plan.messaging_lost"]
    (applied,) = execute(write(tmp_path, "b.csv", B), chosen, Command.APPLY, yes=True).results
    assert applied.status is Status.REPLACED
    assert applied.extra.get("messaging") == "enabled"
    (new,) = server.state.records
    assert new["external_did_sid"] == applied.external_did_sid != record["external_did_sid"]
    assert new["active_capabilities"] == 27


def test_prune_lists_the_account_while_the_file_is_read(
    account: Settings, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--prune: the account's first page is asked before the file's rows reach the plan
    (the listing runs in a thread beside the read); an unusable file still exits 2."""
    pruning = account.model_copy(update={"plan": account.plan.model_copy(update={"prune": True})})
    rows = "".join(f"+1205906{i:04d},3,https://a.example.com/sms,R{i}\n" for i in range(3000))
    sheet = write(tmp_path, "big.csv", SHEET + rows)
    planned_at: list[float] = []
    real = sync.plan_account

    def timed(*args: Any, **kwargs: Any) -> Any:
        planned_at.append(time.time())
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "plan_account", timed)
    before = len(sandbox.state.requests)
    outcome = execute(sheet, pruning, Command.PLAN)
    listing = [r for r in sandbox.state.requests[before:] if r["method"] == "GET"]
    assert listing[0]["time"] < planned_at[0]
    assert outcome.summary.counts["would_delete"] == 1
    with pytest.raises(ImporterError) as caught:
        execute(tmp_path / "missing.csv", pruning, Command.PLAN)
    assert caught.value.exit_code == 2
