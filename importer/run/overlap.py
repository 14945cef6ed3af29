"""`run` sends while later chunks are judged: the validation thread and the sending loop.

    thread   stream_file(events=…)   the whole file read (sha256 final), then each chunk
                 │                     judged and settled in sheet order
                 ▼ call_soon_threadsafe
    loop     ChunkStream             `read` (the file's facts), `chunk`…, `end` | `error`
                 │
             pump                    each chunk journaled (`RunJournal.add`) a slice at a time,
                 │                     resumed rows replaced by their journaled outcome,
                 │                     progress total grown
                 ▼
             Feed of rows ──▶ upload (preflight at the first row to register, the executor
                                     takes rows as they arrive) ──▶ Batch, in sheet order

The judging is paced (`Pacing`): a chunk is started only while fewer than
`AHEAD_ROWS` rows handed over wait to be sent. Judged all at once, the chunks' way back
from the helper process (unpickling, settling, journaling: three threads of this
process) held the interpreter's lock four fifths of the time for the first ten seconds,
and the sending loop ran at a fifth of its speed; spread over the sending, it costs a
few per cent of it.

The file is read to its end before any row is handed on, so an unusable file (a byte
that does not decode, a damaged workbook) still stops the run with exit 2 before
anything is sent or journaled, and the sha256 the journal resumes by is final. Only the
judging (~90 % of validation) overlaps the sending.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from importer.config import Settings
from importer.journal import RunJournal
from importer.models import RowResult, SourceInfo, Status
from importer.run.session import RunHooks, UploadBatch, resumed, upload
from importer.send import Feed
from importer.signals import StopSwitch
from importer.validate.streaming import StreamedFile, StreamEvents, stream_file

__all__ = ["ChunkStream", "send_streamed"]

_Event = tuple[str, Any]

AHEAD_ROWS = 12_500
"""Rows to send handed over and not yet settled, past which no further chunk is started:
ten seconds of sending at a thousand rows a second; a chunk is judged and back in one."""
ROOM_WAIT_SECONDS = 5.0
"""The longest the judging waits for room at a time: a safety net, never the pace."""


class Pacing:
    """How far the judging (a thread) runs ahead of the sending (the loop).

    The thread asks for `room` before it starts a chunk; the loop says what it was
    handed (`handed`, once a chunk is fed) and what it settled (`settled`, a row at a
    time), and lets the judging run free (`release`) once the sending ends or stops.
    """

    def __init__(self) -> None:
        self._room = threading.Condition()
        self._backlog = 0  # rows handed over to send, not settled yet
        self._posted = self._fed = 0  # chunks the thread posted, chunks the loop fed
        self._free = False

    def room(self) -> None:
        """(thread) Wait until the loop has fed every chunk posted and the backlog is low."""
        with self._room:
            self._room.wait_for(self._has_room, timeout=ROOM_WAIT_SECONDS)

    def posted(self) -> None:
        """(thread) A chunk was posted to the loop."""
        with self._room:
            self._posted += 1

    def handed(self, rows: int) -> None:
        """(loop) A chunk fed: `rows` of it to send."""
        with self._room:
            self._fed += 1
            self._backlog += rows
            self._room.notify()

    def settled(self, _: RowResult) -> None:
        """(loop) A row sent and settled."""
        with self._room:
            self._backlog -= 1
            if self._backlog < AHEAD_ROWS:
                self._room.notify()

    def release(self) -> None:
        """(loop) The sending ended or stops: judge the rest at full speed."""
        with self._room:
            self._free = True
            self._room.notify_all()

    def _has_room(self) -> bool:
        return self._free or (self._fed >= self._posted and self._backlog < AHEAD_ROWS)


JOURNAL_SLICE_ROWS = 500
"""Rows journaled (`RunJournal.add`) at a time: a chunk of 12,500 in one go held the
sending loop for a third of a second (no answer read meanwhile); a slice takes ~10 ms."""


class ChunkStream:
    """The file streamed in a thread (`stream_file` with events), followed from the loop.

    `async with` starts the thread and, on the way out, waits for it to end.
    """

    def __init__(
        self, path: Path, settings: Settings, stop: StopSwitch, given: str | None = None
    ) -> None:
        self.path, self.settings, self.stop, self.given = path, settings, stop, given
        self.streamed: StreamedFile | None = None
        self.pacing = Pacing()
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._stream, name="did-import-stream", daemon=True)

    async def __aenter__(self) -> ChunkStream:
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.pacing.release()  # whatever is left is judged at once
        await asyncio.to_thread(self._thread.join)

    def _stream(self) -> None:
        """The thread: stream the file, posting its events to the loop."""
        events = StreamEvents(
            read=self._poster("read"), chunk=self._chunk_poster(), room=self.pacing.room
        )
        try:
            streamed = stream_file(
                self.path, self.settings, None, stop=self.stop, events=events, given=self.given
            )
        except BaseException as error:  # handed to the loop, raised there
            self._post(("error", error))
            return
        self._post(("end", streamed))

    def _poster(self, kind: str) -> Callable[[Any], None]:
        return lambda value: self._post((kind, value))

    def _chunk_poster(self) -> Callable[[list[RowResult]], None]:
        def post(results: list[RowResult]) -> None:
            self.pacing.posted()
            self._post(("chunk", results))

        return post

    def _post(self, event: _Event) -> None:
        self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    async def read(self) -> SourceInfo | None:
        """The file's facts once it is read to its end; None when a stop ended the read."""
        kind, value = await self._next()
        if kind == "read":
            assert isinstance(value, SourceInfo)
            return value
        return None

    async def chunks(self) -> AsyncIterator[list[RowResult]]:
        """Each chunk's results, in sheet order, until the stream ends."""
        while self.streamed is None:
            kind, value = await self._next()
            if kind == "chunk":
                yield value

    async def end(self) -> StreamedFile:
        """The file as streamed, once the thread is done (chunks not yet taken are skipped)."""
        self.pacing.release()
        async for _ in self.chunks():
            pass
        assert self.streamed is not None
        return self.streamed

    async def _next(self) -> _Event:
        """The next event; the stream's error is raised here; `end` is kept."""
        if self.streamed is not None:
            return ("end", self.streamed)
        kind, value = await self._events.get()
        if kind == "error":
            raise value
        if kind == "end":
            self.streamed = value
        return kind, value


def to_send(results: list[RowResult]) -> int:
    """How many of `results` are rows to register."""
    return sum(result.status is Status.WOULD_REGISTER for result in results)


class RowFollower:
    """The progress of the rows to send, whose total grows as chunks are judged."""

    def __init__(self, grow: Callable[[int], None], on_start: Callable[[int], None] | None) -> None:
        self.grow, self.on_start, self.total = grow, on_start, 0

    def chunk(self, results: list[RowResult]) -> None:
        """A chunk judged: its rows to register join the total."""
        rows = to_send(results)
        self.total += rows
        self.grow(rows)

    def ended(self) -> None:
        """The whole file judged: `on_start` gets the final total (once)."""
        if self.on_start is not None:
            self.on_start(self.total)


async def send_streamed(
    stream: ChunkStream,
    journal: RunJournal,
    settings: Settings,
    hooks: RunHooks,
    follower: RowFollower,
) -> tuple[UploadBatch, StreamedFile]:
    """Send the rows as their chunks come (see the module doc); the batch and the file.

    If the stream fails (or the journal does) the sending is cancelled (requests in
    flight keep their `sending` mark: the next run looks them up) and the error raised.
    """
    rows: Feed[RowResult] = Feed()
    pacing = stream.pacing
    hooks = replace(hooks, on_result=_also(pacing.settled, hooks.on_result))
    pump = asyncio.create_task(_pump(stream, journal, rows, follower))
    sending = asyncio.create_task(upload(rows, settings, journal, hooks))
    sending.add_done_callback(lambda _: pacing.release())
    watch = asyncio.create_task(_release_on_stop(hooks.stop, pacing))
    try:
        await asyncio.wait({pump, sending}, return_when=asyncio.FIRST_EXCEPTION)
        for task, other in ((pump, sending), (sending, pump)):
            if task.done() and task.exception() is not None:
                other.cancel()
                await asyncio.gather(other, return_exceptions=True)
                await task  # raises
        return await sending, await pump
    finally:
        pacing.release()
        watch.cancel()


def _also(
    first: Callable[[RowResult], None], then: Callable[[RowResult], None] | None
) -> Callable[[RowResult], None]:
    """A result callback calling `first`, then `then` (when there is one)."""
    if then is None:
        return first

    def both(result: RowResult) -> None:
        first(result)
        then(result)

    return both


async def _release_on_stop(stop: StopSwitch | None, pacing: Pacing) -> None:
    """A stop request frees the judging: the rows not sent are reported, judged."""
    if stop is not None:
        await stop.wait()
        pacing.release()


async def _pump(
    stream: ChunkStream, journal: RunJournal, rows: Feed[RowResult], follower: RowFollower
) -> StreamedFile:
    """Each chunk journaled, resumed and fed to the sending, a slice at a time; the feed
    closed at the end."""
    try:
        async for chunk in stream.chunks():
            sendable = 0
            for start in range(0, len(chunk), JOURNAL_SLICE_ROWS):
                part = chunk[start : start + JOURNAL_SLICE_ROWS]
                journal.add(part)
                follower.chunk(part)
                part = resumed(part, journal)
                sendable += to_send(part)
                rows.add(part)
                await asyncio.sleep(0)  # answers in flight are read between two slices
            stream.pacing.handed(sendable)
    finally:
        rows.close()
    follower.ended()
    return await stream.end()
