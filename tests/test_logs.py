"""Log lines: human sentences or one JSON object per event, redacted; progress with rate and ETA."""

from __future__ import annotations

import json
import logging

import pytest

from importer.logs import (
    BarProgress,
    LineProgress,
    describe_counts,
    error_line,
    event,
    format_seconds,
    get_logger,
    log_to_stderr,
    rows_done,
)

SECRET = "sk-live-0123456789"  # a test value, distinctive to grep for


class Stderr:
    """What the library's logger wrote to stderr during the test."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        """Everything written to stderr so far."""
        return self.capsys.readouterr().err


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Stderr:
    """Reads back what was written to stderr."""
    return Stderr(capsys)


@pytest.fixture
def log() -> logging.Logger:
    """A child of the library's logger, as the stages use."""
    return get_logger("importer.test")


def test_json_lines_are_one_object_per_event(stderr: Stderr, log: logging.Logger) -> None:
    """--log-format json: each event is one JSON line with ts, level, event, message, fields."""
    with log_to_stderr("json"):
        event(log, "file_done", "a.csv → done", file="a.csv", exit_code=0, counts={"ok": 2})
        event(log, "notify_failed", "could not send", level=logging.WARNING, attempts=3)
    first, second = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert list(first)[:4] == ["ts", "level", "event", "message"]
    assert first | {"ts": None} == {
        "ts": None,
        "level": "info",
        "event": "file_done",
        "message": "a.csv → done",
        "file": "a.csv",
        "exit_code": 0,
        "counts": {"ok": 2},
    }
    assert (second["level"], second["attempts"]) == ("warning", 3)


def test_fields_never_replace_the_four_fixed_keys(stderr: Stderr, log: logging.Logger) -> None:
    """A field named like a fixed key (message, event) cannot overwrite it."""
    with log_to_stderr("json"):
        event(log, "x", "the message", message="other", event="other")
    line = json.loads(stderr.getvalue())
    assert (line["event"], line["message"]) == ("x", "the message")


def test_human_lines(stderr: Stderr, log: logging.Logger) -> None:
    """Human format: `did-import: <message>`, warnings marked."""
    with log_to_stderr("human"):
        event(log, "file_done", "a.csv → done (exit 0)")
        event(log, "notify_failed", "could not send", level=logging.WARNING)
    assert stderr.getvalue().splitlines() == [
        "did-import: a.csv → done (exit 0)",
        "did-import: warning: could not send",
    ]


@pytest.mark.parametrize("log_format", ["human", "json"])
def test_secrets_are_redacted_from_every_line(
    stderr: Stderr, log: logging.Logger, log_format: str
) -> None:
    """Whatever a message or field holds, the token is replaced by [redacted]."""
    with log_to_stderr(log_format, [SECRET]):  # type: ignore[arg-type]
        event(log, "error", f"401 for {SECRET}", detail=f"Bearer {SECRET}")
    written = stderr.getvalue()
    assert SECRET not in written
    assert "[redacted]" in written


def test_quiet_keeps_only_warnings(stderr: Stderr, log: logging.Logger) -> None:
    """--quiet: info events are dropped, warnings and errors still shown."""
    with log_to_stderr("human", quiet=True):
        event(log, "file_done", "fine")
        event(log, "file_failed", "not fine", level=logging.WARNING)
    assert stderr.getvalue() == "did-import: warning: not fine\n"


def test_handler_is_removed_afterwards(stderr: Stderr, log: logging.Logger) -> None:
    """Outside the block nothing is written to stderr by the library's logger."""
    before = list(get_logger().handlers)
    with log_to_stderr("human"):
        pass
    event(log, "late", "after the command")
    assert get_logger().handlers == before
    assert stderr.getvalue() == ""


def test_switching_format_once_settings_are_known(stderr: Stderr, log: logging.Logger) -> None:
    """configure() swaps format and secrets (the config file may choose json)."""
    with log_to_stderr("human") as handler:
        handler.configure("json", [SECRET])
        event(log, "e", f"m {SECRET}")
    assert json.loads(stderr.getvalue())["message"] == "m [redacted]"


@pytest.mark.parametrize(
    ("log_format", "expected"),
    [(None, "did-import: x.csv: broken"), ("human", "did-import: x.csv: broken")],
)
def test_error_line_human(log_format: str | None, expected: str) -> None:
    """Errors keep the one-line `did-import: <message>` contract in human format."""
    if log_format is None:
        assert error_line("x.csv: broken", exit_code=2) == expected
        return
    with log_to_stderr("human"):
        assert error_line("x.csv: broken", exit_code=2) == expected


def test_error_line_json() -> None:
    """With --log-format json, the error is a JSON event carrying the exit code."""
    with log_to_stderr("json"):
        line = json.loads(error_line("x.csv: broken", exit_code=2))
    assert (line["event"], line["level"], line["message"], line["exit_code"]) == (
        "error",
        "error",
        "x.csv: broken",
        2,
    )


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A hand-driven clock."""
    return FakeClock()


def test_line_progress_every_interval_with_rate_and_eta(
    caplog: pytest.LogCaptureFixture, clock: FakeClock, log: logging.Logger
) -> None:
    """Off a terminal: a progress line each `every` seconds with done/total, rate and ETA."""
    caplog.set_level(logging.INFO, logger="importer")
    progress = LineProgress("a.csv", log, every=10, clock=clock)
    progress.start(1000)
    for _ in range(9):
        clock.now += 1
        progress.advance(20)
    assert caplog.records == []
    clock.now += 1
    progress.advance(20)  # 200 rows in 10 s
    (record,) = caplog.records
    assert record.getMessage() == "a.csv: 200/1,000 rows (20%), 20.0 rows/s, ETA 40s"
    assert record.fields == {  # type: ignore[attr-defined]
        "file": "a.csv",
        "done": 200,
        "total": 1000,
        "rows_per_second": 20.0,
        "eta_seconds": 40,
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (0, "0s"), (42.4, "42s"), (185, "3m05s"), (3720, "1h02m")],
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    """ETAs read as 42s, 3m05s, 1h02m."""
    assert format_seconds(seconds) == text


def test_bar_progress_counts_rows_and_shows_a_rate() -> None:
    """On a terminal the bar gets its total, advances, and shows rows/s once it has a speed."""
    bar = BarProgress("a.csv")
    with bar.bar:
        bar.start(50)
        for _ in range(50):
            bar.advance()
    (task,) = bar.bar.tasks
    assert (task.total, task.completed) == (50, 50)
    assert task.fields["rate"].endswith("rows/s")


def test_bar_progress_without_a_total_counts_rows_with_separators() -> None:
    """Before it has a total (validate streaming its file) the bar counts rows, and its
    rows/s is the average so far; numbers carry thousands separators."""
    bar = BarProgress("big.csv")
    with bar.bar:
        bar.advance(12_500)
        bar.advance(12_500)
    (task,) = bar.bar.tasks
    assert (task.total, task.completed) == (None, 25_000)
    assert task.fields["rate"].endswith("rows/s")


@pytest.mark.parametrize(
    ("done", "total", "text"),
    [(2382, 5000, "2,382/5,000"), (647, 5000, "647/5,000"), (20_000, None, "20,000 rows")],
)
def test_rows_done_has_thousands_separators(done: int, total: int | None, text: str) -> None:
    """The bar's count: `2,382/5,000`, or `20,000 rows` while the total is unknown."""
    assert rows_done(done, total) == text


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({"registered": 2382, "invalid": 3}, "2,382 registered, 3 invalid"),
        ({"registered": 40, "invalid": 0, "duplicate": 1}, "40 registered, 1 duplicate"),
        ({}, "no rows"),
    ],
)
def test_describe_counts(counts: dict[str, int], text: str) -> None:
    """Counts read as a short list, zeros left out."""
    assert describe_counts(counts) == text
