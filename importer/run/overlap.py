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

The file is read to its end before any row is handed on, so an unusable file (a byte
that does not decode, a damaged workbook) still stops the run with exit 2 before
anything is sent or journaled, and the sha256 the journal resumes by is final. Only the
judging (~90 % of validation) overlaps the sending.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
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
        await asyncio.to_thread(self._thread.join)

    def _stream(self) -> None:
        """The thread: stream the file, posting its events to the loop."""
        events = StreamEvents(read=self._poster("read"), chunk=self._poster("chunk"))
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


class RowFollower:
    """The progress of the rows to send, whose total grows as chunks are judged."""

    def __init__(self, grow: Callable[[int], None], on_start: Callable[[int], None] | None) -> None:
        self.grow, self.on_start, self.total = grow, on_start, 0

    def chunk(self, results: list[RowResult]) -> None:
        """A chunk judged: its rows to register join the total."""
        rows = sum(result.status is Status.WOULD_REGISTER for result in results)
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
    pump = asyncio.create_task(_pump(stream, journal, rows, follower))
    sending = asyncio.create_task(upload(rows, settings, journal, hooks))
    await asyncio.wait({pump, sending}, return_when=asyncio.FIRST_EXCEPTION)
    for task, other in ((pump, sending), (sending, pump)):
        if task.done() and task.exception() is not None:
            other.cancel()
            await asyncio.gather(other, return_exceptions=True)
            await task  # raises
    return await sending, await pump


async def _pump(
    stream: ChunkStream, journal: RunJournal, rows: Feed[RowResult], follower: RowFollower
) -> StreamedFile:
    """Each chunk journaled, resumed and fed to the sending, a slice at a time; the feed
    closed at the end."""
    try:
        async for chunk in stream.chunks():
            for start in range(0, len(chunk), JOURNAL_SLICE_ROWS):
                part = chunk[start : start + JOURNAL_SLICE_ROWS]
                journal.add(part)
                follower.chunk(part)
                rows.add(resumed(part, journal))
                await asyncio.sleep(0)  # answers in flight are read between two slices
    finally:
        rows.close()
    follower.ended()
    return await stream.end()
