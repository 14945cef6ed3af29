"""An exception no stage translated (a bug): one line and exit 2 (3 from the HTTP stack),
never a traceback and the exit 1 of a finished run; the traceback only with -v."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from importer import cli
from importer.run import Run

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "partner_numbers.csv"


def _crash(_run: Run) -> None:
    raise RuntimeError("boom\nsecond line")


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Call the console script's `main` with `argv`; its exit code."""
    monkeypatch.setattr(sys, "argv", ["did-import", *argv])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    return int(ended.value.code or 0)


def test_unexpected_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A RuntimeError inside a run: exit 2 and one `did-import:` line, no traceback."""
    monkeypatch.setattr(Run, "execute", _crash)
    assert _main(["validate", str(SAMPLE)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert err == (
        "did-import: unexpected error: RuntimeError: boom second line"
        " (run again with -v for the traceback)\n"
    )


@pytest.mark.parametrize("argv", [["validate", str(SAMPLE), "-v"], ["-v", "validate", str(SAMPLE)]])
def test_verbose_shows_the_traceback(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With -v (the command's or the top-level one) the traceback comes first, then the line."""
    monkeypatch.setattr(Run, "execute", _crash)
    assert _main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "in _crash" in err
    assert err.endswith("did-import: unexpected error: RuntimeError: boom second line\n")


def test_verbose_does_not_stick_to_the_next_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-v on one invocation does not show a traceback on the next one without it."""
    monkeypatch.setattr(Run, "execute", _crash)
    _main(["-v", "validate", str(SAMPLE)], monkeypatch)
    capsys.readouterr()
    assert _main(["validate", str(SAMPLE)], monkeypatch) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unexpected_http_error_is_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An httpx exception nobody translated is the API's exit 3, still one line."""

    def broken(_run: Run) -> None:
        try:
            raise httpx.RemoteProtocolError("peer closed connection")
        except httpx.HTTPError as error:
            raise ValueError("while reading the answer") from error

    monkeypatch.setattr(Run, "execute", broken)
    assert _main(["validate", str(SAMPLE)], monkeypatch) == 3
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "did-import: unexpected error: ValueError: while reading the answer"
        " (run again with -v for the traceback)"
    ]


def test_importer_errors_keep_their_own_line_and_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ImporterError is still the command's own one-line message and exit code."""
    assert _main(["validate", str(tmp_path / "absent.csv")], monkeypatch) == 2
    assert capsys.readouterr().err == f"did-import: {tmp_path / 'absent.csv'}: no such file\n"
