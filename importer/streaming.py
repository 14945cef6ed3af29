"""Validating a file as a stream: bounded memory, both cores busy.

`importer.api.validate_file` (without `--check-remote`) comes here. The loader's rows
are cut into chunks of `CHUNK_ROWS`; each chunk is judged (`importer.chunks`) either
in this process or in one helper process, whichever is free: the helper gets a chunk
while it has fewer than `HELPER_QUEUE` waiting, else this process judges it. A file
under `HELPER_MIN_BYTES` is judged here alone (starting the helper would cost more
than it saves).

Judged chunks are taken back in sheet order, and their valid rows are settled here,
in that order (`RowValidator.settle`): only the first valid row of a number may
register, whichever process judged it.

What stays in memory:

- every `RowResult` while the rows are at most `workbook_row_limit` (the workbook's
  Results sheet is written from them, as on the list path);
- past that limit, each row's Results line goes to the results CSV as its chunk comes
  back (`ResultsSpool`), and only the rows needing attention are kept (for Errors, Retry
  and the errors CSV): 1M rows cost what their problems cost, not 1M records;
- a file of more than `LARGE_BYTES_PER_ROW` bytes a row allowed by the limit is
  expected to pass it and goes to the results CSV from its first row, so its first
  200,000 results are never all held. If it ends within the limit after all (rows of
  more than 96 bytes on average), it is validated again the usual way: slower, never
  different;
- a few chunks in flight, the numbers seen (one int each, for duplicates), and each
  process's bounded cache of judged cells.

The report is the one the list path writes (`tests/test_speed_paths.py`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from importer.chunks import (
    ChunkJudge,
    ChunkPool,
    ChunkRules,
    Judged,
    needs_attention,
    streaming_runtime,
)
from importer.config import Settings
from importer.loader import load_file
from importer.mapping import build_mapping
from importer.models import RawRow, RowResult, SourceInfo, Status
from importer.reporter.spool import ResultsSpool
from importer.validation import RowValidator

CHUNK_ROWS = 12_500
HELPER_MIN_BYTES = 1 << 20  # a smaller file is judged in this process alone
HELPER_QUEUE = 3  # chunks the helper may have waiting
MAX_WAITING = 6  # chunks judged or being judged, not yet taken back: past this, wait
Twins = tuple[Path, Path]  # the results and errors CSVs of a report
LARGE_BYTES_PER_ROW = 96  # a file this many bytes a row past the limit: expect to pass it


@dataclass(slots=True)
class StreamedFile:
    """A validated file: its facts, counts, and the results kept (see the module doc)."""

    source: SourceInfo
    mapping: dict[str, str]
    kept: list[RowResult] = field(default_factory=list)
    counts: Counter[Status] = field(default_factory=Counter)
    rows: int = 0
    widest: int = 0
    spool: ResultsSpool | None = None


def stream_file(
    path: Path, settings: Settings, twins: Twins, *, workers: int | None = None
) -> StreamedFile:
    """Load, map and validate `path` chunk by chunk (see the module doc).

    `twins` are the results and errors CSVs the rows go to if they pass the workbook
    limit (their spools are written beside them). `workers` < 2 keeps every chunk in
    this process. Raises what `load_file`, `build_mapping` and `RowValidator` raise; a
    spool already begun is deleted then.
    """
    limit = settings.report.workbook_row_limit
    large = _size(path) > limit * LARGE_BYTES_PER_ROW
    with streaming_runtime(), _helper(path, workers) as helper:
        streamed = _stream(path, settings, twins, helper, large=large)
        if streamed.rows <= limit and streamed.spool is not None:  # expected large, wrongly
            streamed.spool.discard()
            streamed = _stream(path, settings, twins, helper, large=False)
        return streamed


def _helper(path: Path, workers: int | None) -> AbstractContextManager[ChunkPool | None]:
    """The helper process, started before the file is read when the file is large enough.

    The helper's start (an interpreter and its imports, about half a second) then
    overlaps the reading of the file; it learns the file's rules once the header is
    read (`ChunkPool.teach`).
    """
    wanted = (workers is None or workers > 1) and _size(path) >= HELPER_MIN_BYTES
    return ChunkPool() if wanted else nullcontext(None)


def _size(path: Path) -> int:
    """The file's size; 0 when it cannot be read (the loader then says why, in one line)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _stream(
    path: Path,
    settings: Settings,
    twins: Twins,
    helper: ChunkPool | None,
    *,
    large: bool,
) -> StreamedFile:
    """One pass over the file; `large`: every chunk as lines, spooled from the first."""
    loaded = load_file(path, settings.input)
    header = loaded.source.header
    mapping = build_mapping(header, settings.input.columns, source=loaded.source.path.name)
    rules = ChunkRules(mapping, settings.defaults, settings.validation, loaded.source.delimiter)
    validator = RowValidator(mapping, settings.defaults, settings.validation)
    sink = _Sink(
        StreamedFile(loaded.source, mapping.describe(), widest=len(header)),
        validator,
        lambda: ResultsSpool(
            twins[0], header, loaded.source.delimiter, (twins[1], mapping.describe())
        ),
    )
    if helper is not None:
        helper.teach(rules)
    limit = settings.report.workbook_row_limit
    scheduler = _Scheduler(ChunkJudge(rules, validator), helper, limit, lines_at_once=large)
    try:
        scheduler.run(_chunks(loaded.rows), sink)
    except BaseException:
        sink.discard()
        raise
    assert loaded.complete, "every row must have been read"
    sink.streamed.source = loaded.source  # the end-of-file facts (sha256, blank rows)
    return sink.finish()


def _chunks(rows: Iterable[RawRow]) -> Iterator[tuple[list[RawRow], bool]]:
    """Each chunk, and whether it is the last (read one chunk ahead to know)."""
    iterator = iter(rows)
    chunk = list(islice(iterator, CHUNK_ROWS))
    while chunk:
        following = list(islice(iterator, CHUNK_ROWS))
        yield chunk, not following
        chunk = following


Work = tuple[list[RawRow], bool, "Future[Judged] | Judged"]  # chunk, as lines, judged


class _Scheduler:
    """Hands each chunk to the helper or judges it here; takes them back in order."""

    def __init__(
        self, judge: ChunkJudge, pool: ChunkPool | None, limit: int, *, lines_at_once: bool
    ) -> None:
        self._judge = judge
        self._pool = pool
        self._limit = limit
        self._lines_at_once = lines_at_once
        self._waiting: deque[Work] = deque()
        self._rows = 0
        self._helped = self._judged_here = 0

    def run(self, chunks: Iterable[tuple[list[RawRow], bool]], sink: _Sink) -> None:
        """Judge every chunk; give `sink` each in sheet order as soon as it can be.

        Past the limit (or from the first if `lines_at_once`) a chunk comes as lines:
        the sink spills the results kept so far when the first such chunk comes.
        """
        for chunk, last in chunks:
            self._rows += len(chunk)
            as_lines = self._lines_at_once or self._rows > self._limit
            work = self._start(chunk, as_lines=as_lines, last=last)
            self._waiting.append((chunk, as_lines, work))
            while self._waiting and (_ready(self._waiting[0]) or self._backlogged()):
                sink.add(*self._taken(self._waiting.popleft()))
        while self._waiting:
            sink.add(*self._taken(self._waiting.popleft()))

    def _start(self, chunk: list[RawRow], *, as_lines: bool, last: bool) -> Future[Judged] | Judged:
        if self._pool is not None and self._helper_takes(last=last):
            self._helped += 1
            return self._pool.submit(chunk, as_lines=as_lines)
        self._judged_here += 1
        return self._judge.judge(chunk, as_lines=as_lines)

    def _helper_takes(self, *, last: bool) -> bool:
        """Whether the helper should judge the next chunk.

        It may have `HELPER_QUEUE` waiting and judge up to twice as many chunks as this
        process (which also reads the file and takes the chunks back), but not the last
        chunk unless it is idle, nor the only chunk of a file.
        """
        busy = sum(1 for *_, work in self._waiting if isinstance(work, Future) and not work.done())
        if last:
            return busy == 0 and bool(self._waiting)
        return busy < HELPER_QUEUE and self._helped <= 2 * self._judged_here

    def _backlogged(self) -> bool:
        return len(self._waiting) > MAX_WAITING

    def _taken(self, work: Work) -> tuple[list[RawRow], Judged]:
        """A chunk's judgement; judged here if the helper process died (it is only help)."""
        chunk, as_lines, judged = work
        if not isinstance(judged, Future):
            return chunk, judged
        try:
            return chunk, judged.result()
        except BrokenProcessPool:
            self._pool = None
            return chunk, self._judge.judge(chunk, as_lines=as_lines)


def _ready(work: Work) -> bool:
    return not isinstance(work[2], Future) or work[2].done()


class _Sink:
    """Settles duplicates, counts, keeps results; spills to a `ResultsSpool` past the limit."""

    def __init__(
        self,
        streamed: StreamedFile,
        validator: RowValidator,
        open_spool: Callable[[], ResultsSpool],
    ) -> None:
        self.streamed = streamed
        self._validator = validator
        self._open_spool = open_spool

    def add(self, chunk: list[RawRow], judged: Judged) -> None:
        """Take back one judged chunk (chunks in sheet order)."""
        streamed = self.streamed
        streamed.widest = max(streamed.widest, judged.widest)
        if judged.results is not None:
            self._add_results(judged.results)
            return
        streamed.rows += len(chunk)
        streamed.counts.update(judged.counts)
        self._add_lines(chunk, judged)

    def _add_results(self, results: list[RowResult]) -> None:
        """A chunk before any as lines (the scheduler sends lines past the limit)."""
        streamed, settle = self.streamed, self._validator.settle
        assert streamed.spool is None, "a chunk as results after the spill"
        for judged in results:
            result = judged
            if judged.status is Status.WOULD_REGISTER:
                result = settle(judged) or judged
            streamed.counts[result.status] += 1
            streamed.kept.append(result)
        streamed.rows += len(results)

    def _add_lines(self, chunk: list[RawRow], judged: Judged) -> None:
        """A chunk as lines: its duplicates found here, their lines made again."""
        spool = self.streamed.spool or self._spill()
        duplicates = self._duplicates(chunk, judged)
        lines = judged.lines or []
        if duplicates:
            remade, _ = spool.maker.lines(duplicates.values())
            for index, line in zip(duplicates, remade, strict=True):
                lines[index] = line
            counts = self.streamed.counts
            counts[Status.WOULD_REGISTER] -= len(duplicates)
            counts[Status.DUPLICATE] += len(duplicates)
        spool.add_lines(lines, judged.wide)
        dropped = list(duplicates.values())
        errors = chain(judged.kept_errors, spool.error_maker.texts(dropped))
        kept = sorted(zip(chain(judged.kept, dropped), errors, strict=True), key=_row_number)
        self.streamed.kept.extend(result for result, _ in kept)
        spool.add_errors(text for _, text in kept)

    def _duplicates(self, chunk: list[RawRow], judged: Judged) -> dict[int, RowResult]:
        """{index in the chunk: duplicate result} for the valid rows seen before."""
        valid = judged.candidates
        rows = [chunk[at] for at in valid.at]
        found = self._validator.settle_all(rows, valid.numbers, valid.masks, valid.warnings)
        return {valid.at[position]: result for position, result in found.items()}

    def _spill(self) -> ResultsSpool:
        """Past the limit: every result so far into the spool, then keep only problems."""
        spool = self.streamed.spool = self._open_spool()
        spool.add_lines(*spool.maker.lines(self.streamed.kept))
        self.streamed.kept = [result for result in self.streamed.kept if needs_attention(result)]
        spool.add_errors(spool.error_maker.texts(self.streamed.kept))
        return spool

    def finish(self) -> StreamedFile:
        if self.streamed.spool is not None:
            self.streamed.spool.finish()
        return self.streamed

    def discard(self) -> None:
        if self.streamed.spool is not None:
            self.streamed.spool.discard()


def _row_number(kept: tuple[RowResult, str]) -> int:
    return kept[0].row.number
