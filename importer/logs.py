"""Log lines for unattended runs: human sentences or one JSON object per event, and progress.

The library logs through the standard `logging` module (logger `importer` and its
children), so Airflow, systemd or any host application gets the events with its own
handlers. Each event is one record with a stable name and structured fields::

    event(log, "file_done", "numbers.xlsx → done/…: 40 registered (exit 0)",
          file="numbers.xlsx", exit_code=0, counts={...})

The command line installs one stderr handler for the length of a command
(`log_to_stderr`): `human` renders `did-import: <message>`, `json` renders
`{"ts", "level", "event", "message", ...fields}` on one line for a log shipper. Both
pass every line through `importer.config.redact`, so the token never reaches a log.

`row_progress` follows a run row by row: a rich bar with rate and ETA on a terminal,
otherwise a plain `progress` event every few seconds.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from importer.config import redact

LOGGER_NAME = "importer"
LogFormat = Literal["human", "json"]
Clock = Callable[[], float]

_EVENT = "event"
_FIELDS = "fields"


def get_logger(name: str = LOGGER_NAME) -> logging.Logger:
    """The library's logger (`importer` or a child such as `importer.inbox`)."""
    return logging.getLogger(name)


def event(
    logger: logging.Logger, name: str, message: str, /, *, level: int = logging.INFO, **fields: Any
) -> None:
    """Log one event: a stable `name`, a `message` for people, `fields` for machines."""
    logger.log(level, message, extra={_EVENT: name, _FIELDS: fields})


def describe_counts(counts: Mapping[str, int]) -> str:
    """`40 registered, 10 invalid` (zero counts left out), or `no rows`."""
    return ", ".join(f"{n:,} {status}" for status, n in counts.items() if n) or "no rows"


class _Formatter(logging.Formatter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.render(record), self.secrets)

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class HumanFormatter(_Formatter):
    """`did-import: <message>`, with `warning: ` before warnings."""

    def render(self, record: logging.LogRecord) -> str:
        level = "warning: " if record.levelno == logging.WARNING else ""
        return f"did-import: {level}{record.getMessage()}"


class JsonFormatter(_Formatter):
    """One JSON object per line: ts, level, event, message, then the event's fields."""

    def render(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, _EVENT, "log"),
            "message": record.getMessage(),
        }
        for key, value in getattr(record, _FIELDS, {}).items():
            line.setdefault(key, value)  # the four keys above always win
        return json.dumps(line, default=str, ensure_ascii=False)


FORMATTERS: dict[LogFormat, type[_Formatter]] = {"human": HumanFormatter, "json": JsonFormatter}


class StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def __init__(self, log_format: LogFormat, *, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.configure(log_format, ())

    def configure(self, log_format: LogFormat, secrets: Sequence[str]) -> None:
        """Switch format (once the settings are known) and the secrets to redact."""
        self.log_format = log_format
        self.setFormatter(FORMATTERS[log_format](secrets))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never stop a run
            self.handleError(record)


@contextmanager
def log_to_stderr(
    log_format: LogFormat, secrets: Sequence[str] = (), *, quiet: bool = False
) -> Iterator[StderrHandler]:
    """Send the `importer` logger's events to stderr while the block runs (`quiet`: warnings+)."""
    logger = get_logger()
    handler = StderrHandler(log_format, level=logging.WARNING if quiet else logging.INFO)
    handler.configure(log_format, secrets)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _stderr_handler() -> StderrHandler | None:
    return next((h for h in get_logger().handlers if isinstance(h, StderrHandler)), None)


def logs_json() -> bool:
    """Whether `log_to_stderr` set up JSON lines (then nothing plain goes to stdout either:
    a cron log of `2>&1` must hold only JSON lines)."""
    handler = _stderr_handler()
    return handler is not None and handler.log_format == "json"


def error_line(message: str, *, exit_code: int, **fields: Any) -> str:
    """The stderr line for a run-stopping error, in the format `log_to_stderr` set up."""
    handler = _stderr_handler()
    record = logging.LogRecord(LOGGER_NAME, logging.ERROR, "", 0, message, None, None)
    record.__dict__.update({_EVENT: "error", _FIELDS: {"exit_code": exit_code, **fields}})
    if handler is None:
        return f"did-import: {message}"
    return handler.format(record)


# -- progress -------------------------------------------------------------------------


class RowProgress(Protocol):
    """Follows one file's rows: `start(total)` once, then `advance()` per finished row;
    `grow(rows)` when more rows join the total (a run judging later chunks)."""

    def start(self, total: int) -> None: ...

    def grow(self, rows: int) -> None: ...

    def advance(self, rows: int = 1) -> None: ...


class LineProgress:
    """A `progress` event every `every` seconds: done/total, rate and ETA."""

    def __init__(
        self, label: str, logger: logging.Logger, *, every: float, clock: Clock = time.monotonic
    ) -> None:
        self.label, self.logger, self.every, self.clock = label, logger, every, clock
        self.total = self.done = 0
        self.started = self.last = clock()

    def start(self, total: int) -> None:
        """Start counting towards `total` rows."""
        self.total, self.done = total, 0
        self.started = self.last = self.clock()

    def grow(self, rows: int) -> None:
        """More rows to count towards."""
        self.total += rows

    def advance(self, rows: int = 1) -> None:
        """Count finished rows; log a line when `every` seconds have passed since the last."""
        self.done += rows
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self._log(now - self.started)

    def _log(self, elapsed: float) -> None:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        percent = 100 * self.done / self.total if self.total else 100.0
        message = (
            f"{self.label}: {self.done:,}/{self.total:,} rows ({percent:.0f}%),"
            f" {rate:,.1f} rows/s, ETA {format_seconds(eta)}"
        )
        event(
            self.logger,
            "progress",
            message,
            file=self.label,
            done=self.done,
            total=self.total,
            rows_per_second=round(rate, 1),
            eta_seconds=None if eta is None else round(eta),
        )


def format_seconds(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `42s`, or `unknown`."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def rows_done(done: float, total: float | None) -> str:
    """`2,382/5,000` (every human number has thousands separators), or `2,382 rows`
    while the total is not known yet."""
    if total is None:
        return f"{int(done):,} rows"
    return f"{int(done):,}/{int(total):,}"


class BarProgress:
    """A rich progress bar on stderr: rows done/total, percent, rows/s, ETA, elapsed.

    Until `start` gives it a total it pulses and counts rows (`validate` learns its
    total only at the end of the file). Without colours under `NO_COLOR`."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            ProgressColumn,
            Task,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RowsColumn(ProgressColumn):
            def render(self, task: Task) -> Text:
                return Text(rows_done(task.completed, task.total), style="progress.download")

        class EtaColumn(TimeRemainingColumn):
            def render(self, task: Task) -> Text:
                if task.total is None:
                    return Text("")
                return Text("ETA ") + super().render(task)

        no_color = bool(os.environ.get("NO_COLOR"))
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            RowsColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            EtaColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, color_system=None if no_color else "auto"),
            transient=True,
        )
        self.task = self.bar.add_task(label, total=None, rate="")

    def start(self, total: int) -> None:
        """Give the bar its total (until then it pulses)."""
        self.bar.update(self.task, total=total, completed=0)

    def grow(self, rows: int) -> None:
        """More rows to the bar's total."""
        self.bar.update(self.task, total=(self.bar.tasks[0].total or 0) + rows)

    def advance(self, rows: int = 1) -> None:
        """Move the bar on and refresh the rows/s figure (the recent speed; without a
        total, rows come a chunk at a time and the average since the start is steadier)."""
        self.bar.advance(self.task, rows)
        task = self.bar.tasks[0]
        speed = task.speed if task.total is not None else task.completed / (task.elapsed or 1)
        self.bar.update(self.task, rate=f"{speed:,.0f} rows/s" if speed else "")


@contextmanager
def row_progress(
    label: str, *, tty: bool, every: float, logger: logging.Logger | None = None
) -> Iterator[RowProgress]:
    """A bar on a terminal, periodic `progress` events otherwise."""
    if not tty:
        yield LineProgress(label, logger or get_logger(), every=every)
        return
    bar = BarProgress(label)
    with bar.bar:
        yield bar
