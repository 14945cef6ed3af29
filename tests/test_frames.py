"""The pandas interface: `validate_frame` and `run_frame` judge and send a DataFrame's rows
as a file's, against the running sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from importer.config import Settings, build_settings
from importer.errors import ConfigError
from importer.frames import cell_text, run_frame, validate_frame
from importer.sandbox import SandboxServer

NUMBERS = pd.DataFrame(
    {
        "Phone Number": [12059051025, 12059051026, None, 12059051025, 42],
        "Capabilities": [3.0, 27.0, 3.0, 3.0, 3.0],
        "Name": ["Alpha", "Beta", "Gamma", "Alpha again", "Delta"],
    },
    index=pd.Index(["a", "b", "c", "d", "e"], name="key"),
)
EXPECTED = {
    "a": ("would_register", ""),
    "b": ("would_register", ""),
    "c": ("invalid", "phonenumber.missing"),
    "d": ("duplicate", "row.duplicate"),
    "e": ("invalid", "phonenumber.not_possible"),
}


def settings_for(server: SandboxServer | None, tmp_path: Path) -> Settings:
    """Settings for the sandbox (or none), reports and journal in tmp_path, no real waits."""
    api: dict[str, object] = {"backoff_base": 0.001, "backoff_max": 0.01}
    if server is not None:
        api |= {"base_url": server.base_url, "token": server.token}
    flags = {"api": api, "report": {"report_dir": tmp_path}, "defaults": {"default_region": "US"}}
    return build_settings(flags)


def statuses(results: pd.DataFrame) -> dict[str, tuple[str, str]]:
    return {key: (row.status, row.error_code.split(";")[0]) for key, row in results.iterrows()}


def test_validate_frame_judges_each_row_as_a_file_row(tmp_path: Path) -> None:
    """One result per input row, indexed like the input: its columns, then the Results'."""
    checked = validate_frame(NUMBERS, settings_for(None, tmp_path))
    assert statuses(checked.results) == EXPECTED
    assert list(checked.results.columns[:3]) == ["Phone Number", "Capabilities", "Name"]
    assert "normalized_phonenumber" in checked.results.columns
    assert checked.results.loc["a", "normalized_phonenumber"] == "12059051025"
    assert checked.results["Phone Number"].equals(NUMBERS["Phone Number"])  # values as given
    assert checked.exit_code == 1
    assert checked.summary.counts["would_register"] == 2


def test_run_frame_registers_each_valid_row_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The valid rows are registered; run again, they come back already registered."""
    settings = settings_for(sandbox, tmp_path)
    done = run_frame(NUMBERS, settings)
    assert done.results.loc[["a", "b"], "status"].tolist() == ["registered", "registered"]
    assert done.results.loc["a", "external_did_sid"]
    assert {record["phonenumber"] for record in sandbox.state.records} == {
        "12059051025",
        "12059051026",
    }
    again = run_frame(NUMBERS, settings)
    assert again.results.loc[["a", "b"], "status"].tolist() == ["already_registered"] * 2
    assert len(sandbox.state.records) == 2


def test_a_report_is_written_only_when_asked(tmp_path: Path) -> None:
    """`report=PATH` writes the usual workbook there; without it nothing is left behind."""
    validate_frame(NUMBERS, settings_for(None, tmp_path))
    assert not list(tmp_path.iterdir())
    report = tmp_path / "out" / "numbers.results.xlsx"
    checked = validate_frame(NUMBERS, settings_for(None, tmp_path), report=report)
    assert report.is_file()
    assert checked.outcome.report_path == report


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (float("nan"), ""), (pd.NA, ""), (12059051025.0, "12059051025"),
     (3, "3"), (2.5, "2.5"), ("+1 205 905 1025", "+1 205 905 1025")],
)  # fmt: skip
def test_cells_are_written_as_a_sheet_holds_them(value: object, text: str) -> None:
    """Missing cells are blank, a whole float loses its `.0`, text stays as it is."""
    assert cell_text(value) == text


def test_run_frame_without_a_token_names_the_library_setting(tmp_path: Path) -> None:
    """A library caller is told about the token setting, not only the command-line flag."""
    with pytest.raises(ConfigError, match=r"api\.token"):
        run_frame(NUMBERS, settings_for(None, tmp_path))


def test_the_command_line_never_imports_pandas() -> None:
    """pandas stays an optional extra: `importer.cli` runs without importing it."""
    code = "import sys, importer.cli; print('pandas' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
