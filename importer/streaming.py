"""Validating a file as a stream: bounded memory, reading, `phonenumbers` and writing overlapped.

`importer.api.validate_file` (without `--check-remote`) comes here. The loader's rows go
to the validator in chunks of `CHUNK_ROWS`. A worker process reads each chunk's new
phone-number cells (`phonebatch.NumberReader`) while this process reads the next chunk
and validates and writes the previous one; a file of less than one chunk is read in
this process alone (starting a worker would cost more than it saves).

What stays in memory:

- every `RowResult` while the rows are at most `workbook_row_limit` (the workbook's
  Results sheet is written from them, as on the list path);
- past that limit, each row's Results line goes to the results CSV as it comes
  (`ResultsSpool`) and only the rows needing attention are kept (for Errors, Retry and
  the errors CSV): 1M rows cost what their problems cost, not 1M records;
- the numbers seen, for duplicates, and a bounded cache of judged cells.

The report is the one the list path writes (`tests/test_speed_paths.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from importer.config import Settings
from importer.loader import load_file
from importer.mapping import build_mapping
from importer.models import RawRow, RowResult, SourceInfo, Status
from importer.phonebatch import NumberReader, Readings
from importer.reporter.spool import ResultsSpool
from importer.validation import RowValidator, default_workers

CHUNK_ROWS = 50_000


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
    path: Path, settings: Settings, results_csv: Path, *, workers: int | None = None
) -> StreamedFile:
    """Load, map and validate `path` chunk by chunk (see the module doc).

    `results_csv` is where the per-row results go if the rows pass the workbook limit
    (the spool is written beside it). Raises what `load_file`, `build_mapping` and
    `RowValidator` raise; a spool already begun is deleted then.
    """
    loaded = load_file(path, settings.input)
    header = loaded.source.header
    mapping = build_mapping(header, settings.input.columns, source=loaded.source.path.name)
    validator = RowValidator(mapping, settings.defaults, settings.validation)
    sink = _Sink(
        StreamedFile(loaded.source, mapping.describe(), widest=len(header)),
        settings.report.workbook_row_limit,
        lambda: ResultsSpool(results_csv, header, loaded.source.delimiter),
    )
    chunks = _chunks(loaded.rows)
    first = next(chunks, [])
    if len(first) < CHUNK_ROWS:
        workers = 1
    try:
        with NumberReader(settings.defaults.default_region, workers=_workers(workers)) as reader:
            _pipeline(validator, reader, chain([first] if first else [], chunks), sink)
    except BaseException:
        sink.discard()
        raise
    assert loaded.complete, "every row must have been read"
    sink.streamed.source = loaded.source  # the end-of-file facts (sha256, blank rows)
    return sink.finish()


def _pipeline(
    validator: RowValidator, reader: NumberReader, chunks: Iterable[list[RawRow]], sink: _Sink
) -> None:
    """Submit chunk k's numbers, then validate chunk k-1 while the worker reads them."""
    pending: tuple[list[RawRow], Callable[[], Readings]] | None = None
    for chunk in chunks:
        waiting = reader.submit(validator.unjudged(chunk))
        if pending is not None:
            sink.add_all(validator.validate_chunk(pending[0], pending[1]()))
        pending = (chunk, waiting)
    if pending is not None:
        sink.add_all(validator.validate_chunk(pending[0], pending[1]()))


def _chunks(rows: Iterable[RawRow]) -> Iterator[list[RawRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        yield chunk


def _workers(workers: int | None) -> int:
    return default_workers() if workers is None else workers


class _Sink:
    """Counts and keeps results; spills them to a `ResultsSpool` past the row limit."""

    def __init__(
        self, streamed: StreamedFile, limit: int, open_spool: Callable[[], ResultsSpool]
    ) -> None:
        self.streamed = streamed
        self._limit = limit
        self._open_spool = open_spool

    def add_all(self, results: Iterable[RowResult]) -> None:
        streamed = self.streamed
        for result in results:
            streamed.rows += 1
            streamed.counts[result.status] += 1
            streamed.widest = max(streamed.widest, len(result.row.cells))
            if streamed.spool is not None:
                streamed.spool.add(result)
                if _needs_attention(result):
                    streamed.kept.append(result)
                continue
            streamed.kept.append(result)
            if streamed.rows > self._limit:
                self._spill()

    def _spill(self) -> None:
        """Past the limit: every result so far into the spool, then keep only problems."""
        spool = self.streamed.spool = self._open_spool()
        for result in self.streamed.kept:
            spool.add(result)
        self.streamed.kept = [result for result in self.streamed.kept if _needs_attention(result)]

    def finish(self) -> StreamedFile:
        if self.streamed.spool is not None:
            self.streamed.spool.finish()
        return self.streamed

    def discard(self) -> None:
        if self.streamed.spool is not None:
            self.streamed.spool.discard()


def _needs_attention(result: RowResult) -> bool:
    """A row with a line in Errors or Retry (what the workbook still shows)."""
    if not result.status.ended_well:
        return True  # not ended well: a line in Errors (and Retry when worth resending)
    return bool(result.issues) and bool(result.errors)
