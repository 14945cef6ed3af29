"""Validating a file as a stream: bounded memory, both cores busy, stoppable.

Every command that reads a file comes here (`importer.run.Run`). The loader's rows are
cut into chunks of `CHUNK_ROWS`; each chunk is judged (`importer.validate.chunks`) either in
this process or in one helper process, whichever is free: the helper gets a chunk
while it has fewer than `HELPER_QUEUE` waiting, else this process judges it. A file
under `HELPER_MIN_BYTES` is judged here alone (starting the helper would cost more
than it saves).

Judged chunks are taken back in sheet order, and their valid rows are settled there,
in that order (`importer.validate.settling`): only the first valid row of a number may
register, whichever process judged it.

What stays in memory:

- every `RowResult` when the caller gives no spool (a run, a remote check: they go on
  to change the rows' statuses), or while the rows are at most `workbook_row_limit`
  (the workbook's Results sheet is written from them);
- past that limit, each row's Results line goes to the results CSV as its chunk comes
  back (the spool), and only the rows needing attention are kept (for Errors, Retry
  and the errors CSV): 1M rows cost what their problems cost, not 1M records;
- a file of more than `LARGE_BYTES_PER_ROW` bytes a row allowed by the limit is
  expected to pass it and goes to the results CSV from its first row, so its first
  200,000 results are never all held. If it ends within the limit after all (rows of
  more than 96 bytes on average), it is validated again the usual way: slower, never
  different;
- a few chunks in flight, the numbers seen (one int each, for duplicates), and each
  process's bounded cache of judged cells.

A run follows the stream as it goes (`StreamEvents`, `importer.run.overlap`): the whole
file is read first (the loader's errors, a damaged or undecodable file, all come before
a single row is handed on; reading is ~10 % of the work), then the chunks are judged,
and each chunk's settled results are handed over as soon as they are taken back, so
that sending starts while later chunks are judged.

A stop request (`StopSwitch`: SIGINT/SIGTERM, or a scheduler) is heeded between two
chunks: no further chunk is read, the chunks already read are judged and taken back
(a few, a second or so), and the helper is stopped. The file then holds every row up
to `StreamedFile.last_row` and nothing after it. With `StreamEvents` the stop is heeded
while the file is read; a file read to its end is judged to its end (the run's sending
heeds the stop instead, and its report holds every row).

The report is the one the stage-by-stage path writes (`tests/test_speed_paths.py`).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

from importer.config import Settings
from importer.loader import load_file, sha256_of
from importer.mapping import ColumnMapping, build_mapping
from importer.models import LoadedFile, RawRow, RowResult, SourceInfo
from importer.signals import StopSwitch
from importer.validate.chunks import ChunkJudge, ChunkPool, ChunkRules, Judged, streaming_runtime
from importer.validate.rows import RowValidator
from importer.validate.settling import Sink, SpoolTarget, StreamedFile

__all__ = ["CHUNK_ROWS", "StreamEvents", "StreamedFile", "stream_file"]

CHUNK_ROWS = 12_500
HELPER_MIN_BYTES = 1 << 20  # a smaller file is judged in this process alone
HELPER_QUEUE = 3  # chunks the helper may have waiting
MAX_WAITING = 6  # chunks judged or being judged, not yet taken back: past this, wait
LARGE_BYTES_PER_ROW = 96  # a file this many bytes a row past the limit: expect to pass it


@dataclass(frozen=True, slots=True)
class StreamEvents:
    """What a caller follows while its file streams (see the module doc): `read` once
    the whole file is read, with its final facts (the sha256); then `chunk` with each
    chunk's results, settled, in sheet order."""

    read: Callable[[SourceInfo], None]
    chunk: Callable[[list[RowResult]], None]
    room: Callable[[], None] | None = None
    """Asked before each chunk after the first, once every chunk judged is handed over:
    returns when the caller wants more (a run paces the judging by its sending)."""


def stream_file(
    path: Path,
    settings: Settings,
    spool: SpoolTarget | None,
    *,
    stop: StopSwitch | None = None,
    workers: int | None = None,
    events: StreamEvents | None = None,
    on_rows: Callable[[int], None] | None = None,
    given: str | None = None,
) -> StreamedFile:
    """Load, map and validate `path` chunk by chunk (see the module doc).

    `spool` is where the rows go if they pass the workbook limit (the report's results
    and errors CSVs); without one every result is kept. `stop` ends the read early
    (`StreamedFile.stopped`). `workers` < 2 keeps every chunk in this process. `events`
    (only without a spool) reads the file first and hands each chunk over. `on_rows(n)`
    is told of each chunk of `n` rows taken back (a progress bar follows it). `given`:
    the input as the user named it, when `path` is a copy of it (`SourceInfo.given`). Raises
    what `load_file`, `build_mapping` and `RowValidator` raise; a spool already begun
    is deleted then.
    """
    assert events is None or spool is None, "chunks are handed over only when all are kept"
    limit = settings.report.workbook_row_limit if spool is not None else sys.maxsize
    large = spool is not None and _size(path) > limit * LARGE_BYTES_PER_ROW
    streamer = _Streamer(path, settings, spool, stop or StopSwitch(), limit, events, on_rows, given)
    with streaming_runtime(), _helper(path, workers) as helper:
        streamed = streamer.stream(helper, large=large)
        again = streamed.rows <= limit and streamed.stopped is None
        if again and streamed.spool is not None:  # expected large, wrongly
            streamed.spool.discard()
            streamed = streamer.stream(helper, large=False)
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


@dataclass(frozen=True, slots=True)
class _Streamer:
    """Passes over one file (one, or two when it was wrongly expected large)."""

    path: Path
    settings: Settings
    spool: SpoolTarget | None
    stop: StopSwitch
    limit: int
    events: StreamEvents | None = None
    on_rows: Callable[[int], None] | None = None
    given: str | None = None

    def stream(self, helper: ChunkPool | None, *, large: bool) -> StreamedFile:
        """One pass over the file; `large`: every chunk as lines, spooled from the first."""
        settings = self.settings
        loaded = load_file(self.path, settings.input)
        if self.given is not None:
            loaded.source = replace(loaded.source, given=self.given)
        source = loaded.source
        mapping = build_mapping(source.header, settings.input.columns, source=source.path.name)
        sink, rules = self._sink(source, mapping)
        if helper is not None:
            helper.teach(rules)
        judge = ChunkJudge(rules, sink.validator)
        chunks, stop, read_stopped = self._chunks(loaded)
        scheduler = _Scheduler(judge, helper, self.limit, lines_at_once=large, stop=stop)
        scheduler.helper_first = self.events is not None
        scheduler.room = self.events.room if self.events is not None else None
        scheduler.on_rows = self.on_rows
        try:
            scheduler.run(chunks, sink)
        except BaseException:
            sink.discard()
            raise
        stopped = scheduler.stopped or read_stopped
        sink.streamed.source = self._final_source(loaded, stopped=stopped)
        sink.streamed.stopped = self.stop.reason if stopped else None
        return sink.finish()

    def _chunks(self, loaded: LoadedFile) -> tuple[Iterable[_Chunk], StopSwitch, bool]:
        """The chunks to judge, the switch the scheduler heeds between them, and whether
        the read stopped. With `events`, the whole file is read first (the stop heeded
        while it is), then `events.read` is told; the chunks read are judged to the end."""
        chunks = _chunks(loaded.rows)
        if self.events is None:
            return chunks, self.stop, False
        read: list[_Chunk] = []
        for chunk in chunks:
            if self.stop.requested:
                return read, StopSwitch(), True
            read.append(chunk)
        self.events.read(loaded.source)
        return read, StopSwitch(), False

    def _sink(self, source: SourceInfo, mapping: ColumnMapping) -> tuple[Sink, ChunkRules]:
        """Where judged chunks go, and the rules chunks are judged by."""
        settings, spool, described = self.settings, self.spool, mapping.describe()
        validator = RowValidator(mapping, settings.defaults, settings.validation)
        streamed = StreamedFile(source, described, widest=len(source.header))
        if spool is None:
            rules = ChunkRules(mapping, settings.defaults, settings.validation, None)
            on_chunk = self.events.chunk if self.events is not None else None
            return Sink(streamed, validator, None, on_chunk), rules
        layout = (source.header, described, source.delimiter)
        rules = ChunkRules(mapping, settings.defaults, settings.validation, spool.lines(*layout))
        return Sink(streamed, validator, lambda: spool.open(*layout)), rules

    def _final_source(self, loaded: LoadedFile, *, stopped: bool) -> SourceInfo:
        """The end-of-file facts (sha256, blank rows); the file's sha256 if the read stopped."""
        if not stopped:
            assert loaded.complete, "every row must have been read"
            return loaded.source
        close = getattr(loaded.rows, "close", None)
        if close is not None:
            close()  # the file is closed now, not when the rows are collected
        return replace(loaded.source, sha256=loaded.source.sha256 or sha256_of(self.path))


_Chunk = tuple[list[RawRow], bool]  # rows, and whether they are the file's last


def _chunks(rows: Iterable[RawRow]) -> Iterator[_Chunk]:
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
        self,
        judge: ChunkJudge,
        pool: ChunkPool | None,
        limit: int,
        *,
        lines_at_once: bool,
        stop: StopSwitch,
    ) -> None:
        self._judge = judge
        self._pool = pool
        self._limit = limit
        self._lines_at_once = lines_at_once
        self._stop = stop
        self.helper_first = False
        """A run sending meanwhile: after the first chunk the helper judges every chunk
        (this process's core is the sending loop's; the helper keeps well ahead of it)."""
        self.on_rows: Callable[[int], None] | None = None
        """Told of each chunk's row count as it is taken back (progress)."""
        self.room: Callable[[], None] | None = None
        """`StreamEvents.room`: each chunk after the first waits for it."""
        self._waiting: deque[Work] = deque()
        self._rows = 0
        self._helped = self._judged_here = 0
        self.stopped = False

    def run(self, chunks: Iterable[tuple[list[RawRow], bool]], sink: Sink) -> None:
        """Judge every chunk; give `sink` each in sheet order as soon as it can be.

        Past the limit (or from the first if `lines_at_once`) a chunk comes as lines:
        the sink spills the results kept so far when the first such chunk comes. A stop
        request ends the read before the next chunk (`_halt`).
        """
        for chunk, last in chunks:
            if self._stop.requested:
                self._halt(sink)
                return
            if self.room is not None and self._rows:
                self._paced(sink)
            self._rows += len(chunk)
            as_lines = self._lines_at_once or self._rows > self._limit
            work = self._start(chunk, as_lines=as_lines, last=last)
            self._waiting.append((chunk, as_lines, work))
            while self._waiting and (_ready(self._waiting[0]) or self._backlogged()):
                self._take(sink)
        while self._waiting:
            self._take(sink)

    def _paced(self, sink: Sink) -> None:
        """Every chunk judged handed over, then wait for the caller's room."""
        while self._waiting:
            self._take(sink)
        assert self.room is not None
        self.room()

    def _take(self, sink: Sink) -> None:
        """The first chunk waiting, taken back into `sink` (and counted by `on_rows`)."""
        chunk, judged = self._taken(self._waiting.popleft())
        sink.add(chunk, judged)
        if self.on_rows is not None:
            self.on_rows(len(chunk))

    def _halt(self, sink: Sink) -> None:
        """Stopped: no chunk is read any more; those read are judged and taken back.

        At most `MAX_WAITING` chunks are in flight, the helper's at most `HELPER_QUEUE`:
        waiting for them costs a second or so, and every row read is in the report.
        """
        self.stopped = True
        while self._waiting:
            self._take(sink)

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
        chunk unless it is idle, nor the only chunk of a file. With `helper_first`, it
        judges every chunk after the first.
        """
        if self.helper_first and self._judged_here:
            return True
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
