"""`plan`, `apply` and `delete` on the command line, against the embedded sandbox."""

from __future__ import annotations

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
