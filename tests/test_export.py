"""`did-import export` and `export_account`: the account in the template's layout, and
back through `validate` unchanged, against the running sandbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from account_samples import EDITABLE, editable, seed_account
from pydantic import SecretStr
from typer.testing import CliRunner

from importer.api import export_account, validate_file
from importer.cli import app
from importer.cli.export import _progress
from importer.config import ApiSettings, ReportSettings, Settings
from importer.errors import ApiError, AuthError, ConfigError, RunStopped
from importer.models import Status
from importer.reporter.export import (
    EXPORT_COLUMNS,
    READ_ONLY_COLUMNS,
    default_export_path,
    export_cells,
    export_format,
)
from importer.sandbox import SandboxConfig, SandboxServer
from importer.send.operations.listing import Page
from importer.signals import StopSwitch

SandboxFactory = Callable[..., SandboxServer]
FORMATS = ["xlsx", "csv"]


def settings_for(server: SandboxServer, **api: Any) -> Settings:
    """Settings on `server` with partner-a's token; quick backoff for the fault tests."""
    token = SecretStr(server.token)
    quick = {"backoff_base": 0.01, "backoff_max": 0.05} | api
    return Settings(api=ApiSettings(base_url=server.base_url, token=token, **quick))


def leftovers(folder: Path) -> list[Path]:
    """Temporary files or folders an export left behind."""
    return [path for path in folder.iterdir() if path.name.startswith(".")]


@pytest.fixture
def account(make_sandbox: SandboxFactory) -> tuple[SandboxServer, list[dict[str, Any]]]:
    """A sandbox holding 1,234 varied records (two pages), its `total` null."""
    server = make_sandbox(list_total="null")
    return server, seed_account(server, 1234)


@pytest.mark.parametrize("kind", FORMATS)
def test_export_round_trips_through_validate(
    account: tuple[SandboxServer, list[dict[str, Any]]], tmp_path: Path, kind: str
) -> None:
    """Every exported row validates, and its payload is the record's editable fields."""
    server, records = account
    out = tmp_path / f"account.{kind}"
    outcome = export_account(settings_for(server), out)
    assert (outcome.path, outcome.records, outcome.format) == (out, 1234, kind)
    checked = validate_file(out, Settings(report=ReportSettings(report_dir=tmp_path / "r")))
    assert checked.summary.counts.get(Status.WOULD_REGISTER.value) == 1234
    assert checked.exit_code == 0
    assert [result.payload for result in checked.results] == [editable(r) for r in records]


def test_xlsx_is_text_only_in_the_template_layout(
    account: tuple[SandboxServer, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The workbook's Numbers sheet has the template's columns then the read-only ones;
    every cell is a string (no number, formula or link), the phone number `+<digits>`."""
    server, records = account
    out = tmp_path / "account.xlsx"
    export_account(settings_for(server), out)
    book = openpyxl.load_workbook(out, read_only=True)
    rows = list(book["Numbers"].iter_rows())
    book.close()
    assert tuple(cell.value for cell in rows[0]) == EXPORT_COLUMNS
    assert EXPORT_COLUMNS[len(EDITABLE) :] == READ_ONLY_COLUMNS
    cells = [cell for row in rows[1:] for cell in row if cell.value is not None]
    assert {cell.data_type for cell in cells} == {"s"}
    first = {column: cell.value for column, cell in zip(EXPORT_COLUMNS, rows[1], strict=False)}
    assert first["phonenumber"] == "+" + records[0]["phonenumber"]
    assert first["external_did_sid"] == records[0]["external_did_sid"]
    assert (first["status"], first["country_code"]) == ("assigned", "USA")
    assert first["active_capabilities"] == str(records[0]["active_capabilities"])


def test_cells_of_a_record() -> None:
    """Null is an empty cell, attributes are JSON ({} when empty), numbers are text."""
    record = {"phonenumber": "442071838750", "capabilities": 27, "attributes": {}, "lata": None}
    cells = dict(zip(EXPORT_COLUMNS, export_cells(record), strict=True))
    assert cells["phonenumber"] == "+442071838750"
    assert (cells["capabilities"], cells["attributes"], cells["lata"]) == ("27", "{}", "")
    assert export_cells({"attributes": {"a": [1, None]}})[5] == '{"a": [1, null]}'


@pytest.mark.parametrize("name", ["numbers.txt", "numbers.xls", "numbers"])
def test_other_extensions_are_refused(name: str) -> None:
    """Only .xlsx and .csv: anything else is a ConfigError (exit 2)."""
    with pytest.raises(ConfigError, match=r"\.xlsx or \.csv"):
        export_format(Path(name))


def test_default_path_is_a_utc_stamp(tmp_path: Path) -> None:
    """Without --out: <report_dir>/export-<UTC date-time>.xlsx."""
    path = default_export_path(tmp_path)
    assert path.parent == tmp_path
    assert path.name.startswith("export-")
    assert path.name.endswith("Z.xlsx")


def test_faults_during_export_give_a_complete_file(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """With 5xx, 429 and cut connections on the listing, the export is still complete."""
    faults = {"fail_rate": 0.25, "drop_rate": 0.1, "fail_statuses": (429, 500, 503)}
    server = make_sandbox(seed=2, list_total="null", **faults)
    records = seed_account(server, 4321)
    out = tmp_path / "account.csv"
    assert export_account(settings_for(server, max_attempts=20), out).records == 4321
    checked = validate_file(out, Settings(report=ReportSettings(report_dir=tmp_path / "r")))
    assert [result.payload for result in checked.results] == [editable(r) for r in records]
    assert any(entry["fault"] for entry in server.state.requests)


@pytest.mark.parametrize(
    ("make_settings", "error"),
    [
        (lambda s: settings_for(s).model_copy(update={"api": ApiSettings(
            base_url=s.base_url, token=SecretStr("wrong"))}), AuthError),
        (lambda s: settings_for(s, max_attempts=2).model_copy(update={"api": ApiSettings(
            base_url="http://127.0.0.1:9/core/v2", token=SecretStr("t"), max_attempts=2,
            backoff_base=0, backoff_max=0)}), ApiError),
    ],
    ids=["refused", "unreachable"],
)  # fmt: skip
def test_api_errors_leave_no_file(
    account: tuple[SandboxServer, list[dict[str, Any]]],
    tmp_path: Path,
    make_settings: Callable[[SandboxServer], Settings],
    error: type[Exception],
) -> None:
    """A refused token or an unreachable API raises (exit 3), and no file is written."""
    server, _ = account
    with pytest.raises(error) as caught:
        export_account(make_settings(server), tmp_path / "account.xlsx")
    assert getattr(caught.value, "exit_code", None) == 3
    assert list(tmp_path.iterdir()) == []


def test_stopped_export_leaves_no_file(
    account: tuple[SandboxServer, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """A stop request after the first page ends the export (exit 4) with nothing left behind."""
    server, _ = account
    switch = StopSwitch()

    def stop_after_first(page: Page) -> None:
        switch.request("SIGINT")

    with pytest.raises(RunStopped):
        export_account(
            settings_for(server), tmp_path / "a.xlsx", on_page=stop_after_first, stop=switch
        )
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_follows_pages() -> None:
    """On a terminal the bar takes the total from the first page and advances per page;
    elsewhere there is no progress at all."""
    with _progress(tty=False) as quiet:
        assert quiet is None
    with _progress(tty=True) as advance:
        assert advance is not None
        advance(Page(items=[{}] * 1000, number=1, seen=1000, total=1500))
        advance(Page(items=[{}] * 500, number=2, seen=1500, total=1500))


# -- the command ---------------------------------------------------------------------------


def invoke(args: list[str], server: SandboxServer | None = None, token: str | None = None) -> Any:
    env = {"CARRIERX_TOKEN": token or (server.token if server else "")}
    if server is not None:
        env["CARRIERX_BASE_URL"] = server.base_url
    return CliRunner().invoke(app, ["export", *args], env=env)


@pytest.mark.parametrize("kind", FORMATS)
def test_command_writes_the_file_and_one_line(
    account: tuple[SandboxServer, list[dict[str, Any]]], tmp_path: Path, kind: str
) -> None:
    """`did-import export --out FILE`: exit 0, one line on stderr, nothing on stdout."""
    server, _ = account
    out = tmp_path / f"numbers.{kind}"
    result = invoke(["--out", str(out)], server)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"export: 1,234 numbers → {out}"
    assert result.stdout == ""
    assert out.exists()
    assert not leftovers(tmp_path)


def test_command_default_path_under_reports(
    account: tuple[SandboxServer, list[dict[str, Any]]],
) -> None:
    """Without --out the export goes to reports/export-<UTC date-time>.xlsx."""
    server, _ = account
    result = invoke([], server)
    assert result.exit_code == 0, result.output
    (written,) = Path("reports").glob("export-*.xlsx")
    assert str(written) in result.stderr


def test_command_bad_extension_exits_2_before_sending(sandbox: SandboxServer) -> None:
    """--out with another extension: exit 2, one line, no request sent."""
    result = invoke(["--out", "numbers.ods"], sandbox)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "did-import: numbers.ods: an export is .xlsx or .csv; name the file *.xlsx or *.csv"
    ]
    assert sandbox.state.requests == []


def test_command_refused_token_exits_3_with_one_line(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A 401: exit 3, one line on stderr naming the refusal, never the token, no file."""
    result = invoke(["--out", str(tmp_path / "n.xlsx")], sandbox, token="not-the-token")
    assert result.exit_code == 3
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("did-import: ")
    assert "401" in line
    assert "not-the-token" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_command_without_token_exits_2(tmp_path: Path) -> None:
    """No token and no --sandbox: exit 2 before anything is sent."""
    result = invoke(["--out", str(tmp_path / "n.csv")])
    assert result.exit_code == 2
    assert "export needs an API token" in result.stderr


def test_command_sandbox_state(tmp_path: Path) -> None:
    """--sandbox --sandbox-state FILE exports the records kept in that file."""
    state = tmp_path / "state.sqlite"
    with SandboxServer(SandboxConfig(state_file=state)) as server:
        seed_account(server, 25)
    out = tmp_path / "n.csv"
    result = invoke(["--sandbox", "--sandbox-state", str(state), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"export: 25 numbers → {out}"


def test_command_quiet_prints_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    """--quiet: the file is written, nothing printed."""
    result = invoke(["--out", str(tmp_path / "n.csv"), "--quiet"], sandbox)
    assert (result.exit_code, result.output) == (0, "")


@pytest.mark.parametrize(
    ("kind", "read_back"), [("xlsx", "=HYPERLINK(1)"), ("csv", "'=HYPERLINK(1)")]
)
def test_formula_like_text_is_never_a_formula(
    sandbox: SandboxServer, tmp_path: Path, kind: str, read_back: str
) -> None:
    """A name a spreadsheet would run stays text: exact in the workbook (a string cell);
    quoted with a leading ' in the CSV (the CSV injection defence), so only the
    workbook round-trips such a cell."""
    from account_samples import account_record

    sandbox.state.put(account_record(1) | {"name": "=HYPERLINK(1)"})
    out = tmp_path / f"n.{kind}"
    export_account(settings_for(sandbox), out)
    checked = validate_file(out, Settings(report=ReportSettings(report_dir=tmp_path / "r")))
    (result,) = checked.results
    assert (result.payload or {})["name"] == read_back
