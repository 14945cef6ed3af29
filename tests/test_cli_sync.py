"""`plan`, `apply` and `delete` on the command line, against the embedded sandbox."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from importer.cli import app, sandbox_port

ACCOUNT = (
    "Phone Number,Capabilities,Callback URL,Name\n"
    "12059051025,3,https://a.example.com/sms,Alpha\n"
    "12059051026,3,https://a.example.com/sms,Gamma\n"
)
SHEET = (
    "Phone Number,Capabilities,Callback URL,Name\n"
    "12059051025,27,https://a.example.com/sms,Alpha\n"
    "12059051027,3,https://a.example.com/sms,New\n"
)
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def sandboxed(tmp_path: Path, *args: str) -> tuple[int, str]:
    return invoke(*args, "--sandbox", "--sandbox-state", str(tmp_path / "state.sqlite"))


def test_the_embedded_sandbox_port_is_the_same_for_one_state_file(tmp_path: Path) -> None:
    """One state file, one base URL: the journal and saved plans can name the API by it."""
    assert sandbox_port(tmp_path / "a.sqlite") == sandbox_port(tmp_path / "a.sqlite")
    assert 20_000 <= sandbox_port(tmp_path / "a.sqlite") < 40_000


def test_plan_save_then_apply_the_saved_plan(tmp_path: Path) -> None:
    """plan --prune --allow-replace --out, apply PLAN.json: refused without --yes (exit 2,
    nothing sent: a second plan still plans the same), done with it, then all unchanged."""
    (tmp_path / "account.csv").write_text(ACCOUNT, encoding="utf-8")
    (tmp_path / "sheet.csv").write_text(SHEET, encoding="utf-8")
    assert sandboxed(tmp_path, "run", str(tmp_path / "account.csv"))[0] == 0
    plan = str(tmp_path / "plan.json")
    code, output = sandboxed(
        tmp_path, "plan", str(tmp_path / "sheet.csv"), "--prune", "--allow-replace", "--out", plan
    )
    assert code == 0
    assert "1 would_register, 1 would_replace, 1 would_delete" in output
    code, output = sandboxed(tmp_path, "apply", plan)
    assert code == 2
    assert "confirm with --yes" in output
    code, output = sandboxed(tmp_path, "apply", plan, "--yes")
    assert code == 0, output
    assert "1 registered, 1 replaced, 1 deleted" in output
    code, output = sandboxed(tmp_path, "plan", str(tmp_path / "sheet.csv"), "--prune")
    assert code == 0
    assert "2 unchanged" in output


def test_delete_lists_absent_numbers_as_not_found(tmp_path: Path) -> None:
    """delete FILE: a number held is deleted, an absent one ends not_found; exit 0."""
    (tmp_path / "account.csv").write_text(ACCOUNT, encoding="utf-8")
    gone = tmp_path / "gone.csv"
    gone.write_text("Phone Number\n12059051025\n12059051099\n", encoding="utf-8")
    assert sandboxed(tmp_path, "run", str(tmp_path / "account.csv"))[0] == 0
    code, output = sandboxed(tmp_path, "delete", str(gone), "--yes")
    assert code == 0, output
    assert "1 deleted, 1 not_found" in output


def _in_terminal(args: list[str], answer: bytes, cwd: Path) -> tuple[int, str]:
    """Run the CLI in a pseudo-terminal; answer its prompt; (exit code, what it showed)."""
    main, child = os.openpty()
    command = [sys.executable, "-m", "importer.cli", *args]
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, cwd=cwd)
    os.close(child)
    shown = b""
    deadline = time.monotonic() + 60
    while b"Go on?" not in shown and time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            shown += os.read(main, 4096)
    os.write(main, answer)
    while process.poll() is None or select.select([main], [], [], 0.2)[0]:
        try:
            chunk = os.read(main, 4096) if select.select([main], [], [], 1)[0] else b""
        except OSError:
            break
        shown += chunk
        if time.monotonic() > deadline:
            process.kill()
    os.close(main)
    return process.wait(timeout=30), shown.decode(errors="replace")


def test_apply_asks_on_a_terminal_and_sends_nothing_on_no(tmp_path: Path) -> None:
    """On a terminal a destructive apply shows what it will write and asks: `n` sends
    nothing (exit 2), `y` carries it out (exit 0)."""
    (tmp_path / "account.csv").write_text(ACCOUNT, encoding="utf-8")
    (tmp_path / "sheet.csv").write_text(SHEET, encoding="utf-8")
    assert sandboxed(tmp_path, "run", str(tmp_path / "account.csv"))[0] == 0
    args = ["apply", "sheet.csv", "--prune", "--allow-replace", "--sandbox"]
    args += ["--sandbox-state", str(tmp_path / "state.sqlite")]
    code, shown = _in_terminal(args, b"n\n", tmp_path)
    assert "apply will register 1, replace 1 (delete, then register again), DELETE 1" in shown
    assert code == 2
    assert "nothing was sent" in shown
    code, shown = _in_terminal(args, b"y\n", tmp_path)
    assert code == 0, shown
    assert "1 registered, 1 replaced, 1 deleted" in shown
