"""Judged chunks taken back in sheet order: duplicates settled, rows counted, kept or spooled.

`importer.validate.streaming` hands each judged chunk (`importer.validate.chunks`) to a
`Sink`, in sheet order. The sink settles the valid rows (`RowValidator.settle`: only the
first valid row of a number may register, whichever process judged it), counts, keeps
the results (`StreamedFile.kept`), and hands each chunk's on (`on_chunk`: a run sends
them while later chunks are judged). Past the workbook limit a chunk comes as Results
lines: the sink then writes them to the run's `Spool` and keeps only the rows needing
attention (see `importer.validate.streaming` for what stays in memory).

The spool and its lines are the reporter's (`importer.reporter.spool`), handed down by
the run as a `SpoolTarget`; this module only names what it calls on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Protocol

from importer.models import RawRow, RowResult, SourceInfo, Status
from importer.validate.chunks import Judged, LineFormat, needs_attention
from importer.validate.rows import RowValidator


class Lines(LineFormat, Protocol):
    """The report's lines (`importer.reporter.lines.ReportLines`)."""

    def result_lines(self, results: Iterable[RowResult]) -> tuple[list[str], dict[int, int]]: ...


class Spool(Protocol):
    """A results CSV and its errors CSV in the making (`importer.reporter.spool.ResultsSpool`)."""

    @property
    def path(self) -> Path: ...

    @property
    def errors_path(self) -> Path: ...

    @property
    def lines(self) -> Lines: ...

    def add_lines(self, lines: Sequence[str], wide: dict[int, int]) -> None: ...

    def add_results(self, results: Iterable[RowResult]) -> None: ...

    def add_errors(self, texts: Iterable[str]) -> None: ...

    def finish(self) -> Path: ...

    def discard(self) -> None: ...


class SpoolTarget(Protocol):
    """Where a report's CSVs go (`importer.reporter.spool.SpoolTarget`): lines and spool."""

    def lines(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> Lines: ...

    def open(
        self, header: Sequence[str], mapping: Mapping[str, str], delimiter: str | None
    ) -> Spool: ...


@dataclass(slots=True)
class StreamedFile:
    """A validated file: its facts, counts, and the results kept (`importer.validate.streaming`).

    `stopped` names the stop request (a signal) that ended the read before the end of
    the file; the rows judged until then are in, up to sheet row `last_row`.
    """

    source: SourceInfo
    mapping: dict[str, str]
    kept: list[RowResult] = field(default_factory=list)
    counts: Counter[Status] = field(default_factory=Counter)
    rows: int = 0
    widest: int = 0
    spool: Spool | None = None
    last_row: int = 0
    stopped: str | None = None

    def with_results(self, results: list[RowResult]) -> StreamedFile:
        """This file with every row's result replaced (after sending or a remote check)."""
        assert self.spool is None, "only a file whose every result was kept"
        return replace(self, kept=results, counts=Counter(result.status for result in results))


class Sink:
    """Settles duplicates, counts, keeps results; spills to a `Spool` past the limit."""

    def __init__(
        self,
        streamed: StreamedFile,
        validator: RowValidator,
        open_spool: Callable[[], Spool] | None,
        on_chunk: Callable[[list[RowResult]], None] | None = None,
    ) -> None:
        self.streamed = streamed
        self.validator = validator
        self._open_spool = open_spool
        self._on_chunk = on_chunk

    def add(self, chunk: list[RawRow], judged: Judged) -> None:
        """Take back one judged chunk (chunks in sheet order)."""
        streamed = self.streamed
        streamed.widest = max(streamed.widest, judged.widest)
        streamed.last_row = chunk[-1].number if chunk else streamed.last_row
        if judged.results is not None:
            self._add_results(judged.results)
            return
        streamed.rows += len(chunk)
        streamed.counts.update(judged.counts)
        self._add_lines(chunk, judged)

    def _add_results(self, results: list[RowResult]) -> None:
        """A chunk before any as lines (the scheduler sends lines past the limit)."""
        streamed, settle = self.streamed, self.validator.settle
        assert streamed.spool is None, "a chunk as results after the spill"
        for judged in results:
            result = judged
            if judged.status is Status.WOULD_REGISTER:
                result = settle(judged) or judged
            streamed.counts[result.status] += 1
            streamed.kept.append(result)
        streamed.rows += len(results)
        if self._on_chunk is not None:
            self._on_chunk(streamed.kept[-len(results) :] if results else [])

    def _add_lines(self, chunk: list[RawRow], judged: Judged) -> None:
        """A chunk as lines: its duplicates found here, their lines made again."""
        spool = self.streamed.spool or self._spill()
        duplicates = self._duplicates(chunk, judged)
        lines = judged.lines or []
        if duplicates:
            remade, _ = spool.lines.result_lines(duplicates.values())
            for index, line in zip(duplicates, remade, strict=True):
                lines[index] = line
            counts = self.streamed.counts
            counts[Status.WOULD_REGISTER] -= len(duplicates)
            counts[Status.DUPLICATE] += len(duplicates)
        spool.add_lines(lines, judged.wide)
        dropped = list(duplicates.values())
        errors = chain(judged.kept_errors, spool.lines.error_texts(dropped))
        kept = sorted(zip(chain(judged.kept, dropped), errors, strict=True), key=_row_number)
        self.streamed.kept.extend(result for result, _ in kept)
        spool.add_errors(text for _, text in kept)

    def _duplicates(self, chunk: list[RawRow], judged: Judged) -> dict[int, RowResult]:
        """{index in the chunk: duplicate result} for the valid rows seen before."""
        valid = judged.candidates
        rows = [chunk[at] for at in valid.at]
        found = self.validator.settle_all(rows, valid.numbers, valid.masks, valid.warnings)
        return {valid.at[position]: result for position, result in found.items()}

    def _spill(self) -> Spool:
        """Past the limit: every result so far into the spool, then keep only problems."""
        assert self._open_spool is not None, "chunks come as lines only to a spool"
        spool = self.streamed.spool = self._open_spool()
        spool.add_results(self.streamed.kept)
        self.streamed.kept = [result for result in self.streamed.kept if needs_attention(result)]
        spool.add_errors(spool.lines.error_texts(self.streamed.kept))
        return spool

    def finish(self) -> StreamedFile:
        """The file as streamed, its spool (if any) closed."""
        if self.streamed.spool is not None:
            self.streamed.spool.finish()
        return self.streamed

    def discard(self) -> None:
        """Delete the spool (if any): the stream failed."""
        if self.streamed.spool is not None:
            self.streamed.spool.discard()


def _row_number(kept: tuple[RowResult, str]) -> int:
    return kept[0].row.number
