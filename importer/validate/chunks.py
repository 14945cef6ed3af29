"""One chunk of a streamed file judged, in this process or in the helper process.

`importer.validate.streaming` cuts a large file into chunks and has them judged in two
processes at once: this one and a helper started with `ChunkPool`. Judging a chunk
is everything but the duplicate check, which needs every earlier row and so stays
with the caller (`RowValidator.settle`, in sheet order):

- below the workbook row limit, a chunk comes back as its `RowResult`s;
- past it, as its ready-made `Results` CSV lines, the rows needing attention, and the
  valid rows' numbers and masks (`Candidates`) to settle. A valid row found to be a
  duplicate then gets its line made again by the caller. A file expected to pass the
  limit comes as lines from its first chunk.

The lines are the reporter's: `ChunkRules.lines` is the `LineFormat` the run passed
down (`importer.reporter.lines.ReportLines`); this module never imports the reporter.
Results and lines are the same whichever process made them (tests/test_speed_paths.py).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from types import TracebackType
from typing import Any, Protocol, cast

from importer.config import RowDefaults, ValidationSettings
from importer.mapping import ColumnMapping
from importer.models import Issue, RawRow, RowResult, Status
from importer.validate.rows import RowValidator
from importer.validate.spawning import main_module_hidden

GC_THRESHOLDS = (100_000, 50, 100)  # default (700, 10, 10); see `streaming_runtime`
SWITCH_INTERVAL = 0.0005  # seconds; default 0.005
PARENT_CHECK_SECONDS = 1.0  # how often the helper looks whether its parent still lives
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class LineBatch(Protocol):
    """Results lines made one row at a time (`importer.reporter.lines.LineBatch`)."""

    @property
    def lines(self) -> list[str]: ...

    @property
    def wide(self) -> dict[int, int]: ...

    def add(self, result: RowResult) -> None: ...

    def add_plain(self, cells: Sequence[str], status: Status, number: str | None) -> None: ...


class LineFormat(Protocol):
    """How the report's CSV lines are made (`importer.reporter.lines.ReportLines`)."""

    @property
    def header_width(self) -> int: ...

    def batch(self) -> LineBatch: ...

    def error_texts(self, results: Iterable[RowResult]) -> list[str]: ...


@dataclass(slots=True)
class Candidates:
    """A chunk's valid rows, column by column (plain lists cross processes cheaply)."""

    at: list[int] = field(default_factory=list)  # each row's index in its chunk
    numbers: list[str] = field(default_factory=list)
    masks: list[int] = field(default_factory=list)
    warnings: dict[int, tuple[Issue, ...]] = field(default_factory=dict)  # by position

    def add(self, at: int, result: RowResult) -> None:
        """A valid row, from its result."""
        payload = cast(Mapping[str, Any], result.payload)
        self.add_valid(at, payload["phonenumber"], payload["capabilities"], result.issues)

    def add_valid(self, at: int, number: str, mask: int, issues: tuple[Issue, ...] = ()) -> None:
        """A valid row, from its number, mask and issues (warnings)."""
        if issues:
            self.warnings[len(self.at)] = issues
        self.at.append(at)
        self.numbers.append(number)
        self.masks.append(mask)


@dataclass(slots=True)
class Judged:
    """A judged chunk: its `results` or its `lines` (see `ChunkJudge.judge`)."""

    counts: Counter[Status] = field(default_factory=Counter)  # of lines (results count)
    widest: int = 0
    results: list[RowResult] | None = None
    lines: list[str] | None = None
    wide: dict[int, int] = field(default_factory=dict)
    kept: list[RowResult] = field(default_factory=list)
    kept_errors: list[str] = field(default_factory=list)  # each kept row's errors CSV lines
    candidates: Candidates = field(default_factory=Candidates)


@dataclass(frozen=True, slots=True)
class ChunkRules:
    """What a process needs to judge chunks: the mapping, defaults, rules, report lines.

    `lines` is None when every row is kept as its result (a chunk never comes as lines).
    """

    mapping: ColumnMapping
    defaults: RowDefaults
    rules: ValidationSettings
    lines: LineFormat | None


class ChunkJudge:
    """Judges chunks with one `RowValidator` (its caches live as long as the judge)."""

    def __init__(self, rules: ChunkRules, validator: RowValidator | None = None) -> None:
        self.validator = validator or RowValidator(rules.mapping, rules.defaults, rules.rules)
        self.lines = rules.lines

    def judge(self, rows: list[RawRow], *, as_lines: bool) -> Judged:
        """Every row judged (duplicates unsettled): as `results`, or as `lines`.

        With lines come the rows needing attention (and their errors CSV lines) and the
        valid rows as `Candidates` to settle.
        """
        if as_lines:
            return self._as_lines(rows)
        results = [self.validator.judge(row) for row in rows]
        return Judged(widest=max((len(row.cells) for row in rows), default=0), results=results)

    def _as_lines(self, rows: list[RawRow]) -> Judged:
        """Lines, kept rows and candidates; a valid row with no issue makes no `RowResult`."""
        assert self.lines is not None, "chunks come as lines only when the run spools them"
        judged = Judged(widest=max((len(row.cells) for row in rows), default=0))
        batch, verdict, width = self.lines.batch(), self.validator.verdict, self.lines.header_width
        plain = 0
        for index, row in enumerate(rows):
            found = verdict(row)
            number, mask, _, issues = found
            if number is not None and mask is not None and not issues and len(row.cells) == width:
                batch.add_plain(row.cells, Status.WOULD_REGISTER, number)
                judged.candidates.add_valid(index, number, mask)
                plain += 1
                continue
            result = self.validator.result_of(row, found)
            batch.add(result)
            judged.counts[result.status] += 1
            if result.status is Status.WOULD_REGISTER:
                judged.candidates.add(index, result)
            elif needs_attention(result):
                judged.kept.append(result)
        judged.counts[Status.WOULD_REGISTER] += plain
        judged.lines, judged.wide = batch.lines, batch.wide
        judged.kept_errors = self.lines.error_texts(judged.kept)
        return judged


def needs_attention(result: RowResult) -> bool:
    """A row with a line in Errors or Retry (what the workbook still shows of a large run)."""
    if not result.status.ended_well:
        return True  # not ended well: a line in Errors (and Retry when worth resending)
    return bool(result.issues) and bool(result.errors)


@contextmanager
def streaming_runtime() -> Iterator[None]:
    """The interpreter tuned for streaming a file; restored on the way out.

    - The cyclic garbage collector runs less often: judging a row makes a dozen
      objects, none in a cycle, and with the default thresholds the collector visits
      the young ones every 700 and costs about a third of a row's time. Reference
      counting frees everything as before; cycles are still collected.
    - Threads switch every 0.5 ms instead of 5: the executor's threads that send chunks
      to the helper and read its answers otherwise wait up to 5 ms for the GIL at every
      64 KiB of pipe, and the helper sat idle 0.35-0.7 s between chunks (now ~0.1 s).
    """
    before = gc.get_threshold()
    interval = sys.getswitchinterval()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)


class ChunkPool:
    """The helper process: judges the chunks it is given while the caller goes on.

    It starts at once (and warms up) but learns the file's rules later (`teach`), so
    its start overlaps the reading of the file. Its life is this process's: it never
    sees SIGINT/SIGTERM (a Ctrl-C reaching the whole process group would otherwise
    print its traceback), the caller stops it (`close`), and it ends itself if this
    process dies without stopping it (SIGKILL), so no helper is ever left behind.
    """

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(1, get_context("spawn"))
        # spawn would run an unguarded script again; the child inherits the blocked signals
        with main_module_hidden(), stop_signals_blocked():
            self._pool.submit(_start, os.getpid())  # the pool starts its process now

    def teach(self, rules: ChunkRules) -> None:
        """The rules of the chunks to come (tasks run in order: they come first)."""
        self._pool.submit(_learn, rules)

    def submit(self, rows: list[RawRow], *, as_lines: bool) -> Future[Judged]:
        """Start judging `rows` in the helper; the future holds the `Judged` chunk."""
        return self._pool.submit(_judge_here, rows, as_lines)

    def close(self) -> None:
        """Stop the helper (chunks not started are dropped)."""
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


_HELPER: dict[str, ChunkJudge] = {}  # the helper process's judge, made by `teach`


@contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Inside, this thread holds SIGINT/SIGTERM back, and processes started here never get them.

    A blocked signal is kept pending, not lost: it is delivered on the way out.
    """
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _start(parent: int) -> None:
    gc.set_threshold(*GC_THRESHOLDS)  # the helper process does nothing else (it stays set)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """End this helper as soon as `parent` is gone (its children pass to another)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _learn(rules: ChunkRules) -> None:
    _HELPER["judge"] = ChunkJudge(rules)


def _judge_here(rows: list[RawRow], as_lines: bool) -> Judged:
    return _HELPER["judge"].judge(rows, as_lines=as_lines)
