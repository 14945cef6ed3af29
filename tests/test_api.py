"""The library front door end to end: sample files through every stage, against the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from reporter_samples import opened, values

from importer.api import run_import, validate_file
from importer.config import Settings, build_settings
from importer.errors import MappingError, UnreadableFileError
from importer.models import Status
from importer.sandbox import SandboxServer

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
GOOD_ROWS = 40
EXPECTED_BAD = {
    "bad: voice bit (4) set": ("invalid", "capabilities.voice_not_allowed"),
    "bad: empty capability mask": ("invalid", "capabilities.no_messaging"),
    "bad: invalid area code": ("invalid", "phonenumber.invalid"),
    "bad: Excel scientific notation": ("invalid", "phonenumber.excel_precision_lost"),
    "bad: repeats the first row": ("duplicate", "row.duplicate"),
    "bad: URL": ("invalid", "callback_url.invalid"),
    "bad: carrier SID": ("invalid", "underlying_carrier_sid.not_uuid"),
    "bad: no number": ("invalid", "phonenumber.missing"),
    "bad: not a number": ("invalid", "phonenumber.not_a_number"),
    "bad: capabilities text": ("invalid", "capabilities.not_an_integer"),
}


def settings_for(
    server: SandboxServer | None, tmp_path: Path, token: str | None = None
) -> Settings:
    """Settings pointing at the sandbox (or nowhere), reports in tmp_path, no real waits."""
    api: dict[str, object] = {"backoff_base": 0.001, "backoff_max": 0.01}
    if server is not None:
        api |= {"base_url": server.base_url, "token": token or server.token}
    return build_settings({"api": api, "report": {"report_dir": tmp_path}})


def statuses_by_note(report: Path) -> list[tuple[str, str, str]]:
    """(Notes, status, error_code) for each data row of the Results sheet."""
    with opened(report, read_only=True) as workbook:
        rows = values(workbook["Results"])
    header = rows[0]
    notes, status, code = (header.index(name) for name in ("Notes", "status", "error_code"))
    return [(r[notes] or "", r[status], r[code] or "") for r in rows[1:]]


@pytest.mark.parametrize("sample", ["partner_numbers.xlsx", "partner_numbers.csv"])
def test_sample_registers_good_rows_and_flags_each_bad_row(
    sandbox: SandboxServer, tmp_path: Path, sample: str
) -> None:
    """Every good sample row is registered; every bad one is invalid/duplicate with its code."""
    outcome = run_import(SAMPLES / sample, settings_for(sandbox, tmp_path))
    assert outcome.summary.counts["registered"] == GOOD_ROWS
    assert outcome.exit_code == 1
    for note, status, code in statuses_by_note(outcome.report_path):
        if note.startswith("bad:"):
            expected_status, expected_code = EXPECTED_BAD[note]
            assert (status, expected_code in code.split("; ")) == (expected_status, True), note
        else:
            assert status == "registered", note
    assert len(sandbox.state.records) == GOOD_ROWS


def test_second_run_is_already_registered_and_registers_nothing_twice(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Running the same file again makes good rows already_registered; the server keeps one each."""
    settings = settings_for(sandbox, tmp_path)
    first = run_import(SAMPLES / "partner_numbers.xlsx", settings)
    second = run_import(SAMPLES / "partner_numbers.xlsx", settings)
    assert second.summary.counts["already_registered"] == GOOD_ROWS
    assert second.summary.counts["registered"] == 0
    numbers = [record["phonenumber"] for record in sandbox.state.records]
    assert len(numbers) == len(set(numbers)) == GOOD_ROWS
    sids = {
        r.normalized_phonenumber: r.external_did_sid for r in first.results if r.external_did_sid
    }
    for result in second.results:
        if result.status is Status.ALREADY_REGISTERED:
            assert result.external_did_sid == sids[result.normalized_phonenumber]


def test_validate_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A dry run plans would_register for good rows and sends no request at all."""
    outcome = validate_file(SAMPLES / "partner_numbers.xlsx", settings_for(sandbox, tmp_path))
    assert outcome.summary.counts["would_register"] == GOOD_ROWS
    assert outcome.summary.mode == "validate"
    assert [entry for entry in sandbox.state.requests if entry["method"] != "GET"] == []
    assert sandbox.state.records == []


def test_bad_token_stops_before_any_write(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A refused token is found by the read-only preflight: exit 3, nothing written, report kept."""
    settings = settings_for(sandbox, tmp_path)
    bad = settings.model_copy(
        update={"api": settings.api.model_copy(update={"token": SecretStr("wrong")})}
    )
    outcome = run_import(SAMPLES / "partner_numbers.csv", bad)
    assert outcome.exit_code == 3
    assert outcome.summary.counts["not_attempted"] == GOOD_ROWS
    assert outcome.report_path.exists()
    assert [entry for entry in sandbox.state.requests if entry["method"] != "GET"] == []


def test_unreachable_api_is_exit_3(tmp_path: Path) -> None:
    """Nothing listening at the base URL stops the run with exit 3 and a report."""
    settings = build_settings(
        {"api": {"base_url": "http://127.0.0.1:9/core/v2", "token": "t", "max_attempts": 1}}
    )
    settings = settings.model_copy(
        update={"report": settings.report.model_copy(update={"report_dir": tmp_path})}
    )
    outcome = run_import(SAMPLES / "partner_numbers.csv", settings)
    assert outcome.exit_code == 3
    assert "127.0.0.1:9" in (outcome.summary.stopped_reason or "")


def test_missing_phone_column_is_mapping_error(tmp_path: Path) -> None:
    """A sheet without a phone-number column stops with the headers it found (exit 2)."""
    path = tmp_path / "no_phone.csv"
    path.write_text("Name,Caps\nfront desk,3\n", encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        validate_file(path, settings_for(None, tmp_path))
    assert caught.value.exit_code == 2
    assert '"Name"' in str(caught.value)
    assert "no_phone.csv" in str(caught.value)


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    """A file that does not exist is exit 2 naming the file."""
    with pytest.raises(UnreadableFileError, match=r"nope\.xlsx"):
        validate_file(tmp_path / "nope.xlsx", settings_for(None, tmp_path))


def test_check_remote_summary_names_the_api(sandbox: SandboxServer, tmp_path: Path) -> None:
    """`validate --check-remote` records the base URL it checked against; a plain one none."""
    settings = settings_for(sandbox, tmp_path)
    checked = validate_file(SAMPLES / "partner_numbers.csv", settings, check_remote=True)
    assert checked.summary.base_url == sandbox.base_url
    offline = validate_file(SAMPLES / "partner_numbers.csv", settings)
    assert offline.summary.base_url is None
