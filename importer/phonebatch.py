"""Reading many phone-number cells at once: a whole file's, or a stream's chunk by chunk.

`read_numbers` answers every distinct cell text of a batch into a plain dict, splitting
a large batch (`PARALLEL_MIN_NUMBERS`) over worker processes. `NumberReader` serves a
stream: each chunk's new cells are read by one worker process while the caller reads
and validates the previous chunk, so on two cores reading the file, validating and
writing the report overlap with `phonenumbers`. Readings cross processes as plain
tuples (issue types by code) and come back identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from multiprocessing import get_context
from types import TracebackType

from importer import catalogue
from importer.phone import Reading, _read_text, check_region

PARALLEL_MIN_NUMBERS = 50_000  # below this, starting worker processes costs more than it saves

Readings = dict[str, Reading]
_Wire = tuple[str | None, str | None, tuple[tuple[str, str], ...], str | None]


def read_numbers(
    texts: Iterable[str], default_region: str | None, *, workers: int = 1
) -> dict[str, Reading]:
    """Cell text → `Reading` for every distinct text, in first-seen order.

    With `workers` > 1 and at least `PARALLEL_MIN_NUMBERS` distinct texts, the work is
    split into `workers` contiguous chunks: this process reads the first while
    `workers - 1` spawned processes read the others. The answer is identical.
    """
    region = check_region(default_region)
    unique = list(dict.fromkeys(texts))
    if workers < 2 or len(unique) < PARALLEL_MIN_NUMBERS:
        return {text: _read_text(text, region) for text in unique}
    size = -(-len(unique) // workers)
    own, *others = [unique[start : start + size] for start in range(0, len(unique), size)]
    with ProcessPoolExecutor(len(others), mp_context=get_context("spawn")) as pool:
        parts = pool.map(_read_chunk, others, repeat(region))
        readings = {text: _read_text(text, region) for text in own}
        for chunk, part in zip(others, parts, strict=True):
            readings.update(zip(chunk, map(_from_wire, part), strict=True))
    return readings


def _read_chunk(texts: list[str], region: str | None) -> list[_Wire]:
    """Worker side: readings as plain tuples (issue types travel by code, kept identical)."""
    readings = (_read_text(text, region) for text in texts)
    return [(r.digits, r.problem.code if r.problem else None, r.params, r.kind) for r in readings]


def _from_wire(wire: _Wire) -> Reading:
    digits, code, params, kind = wire
    return Reading(digits, catalogue.CATALOGUE[code] if code else None, params, kind)


class NumberReader:
    """Reads batches of cells in one worker process while the caller goes on.

    `submit(texts)` returns a function that waits for the batch's readings. With
    `workers` < 2 there is no worker process: the batch is read when submitted.
    """

    def __init__(self, default_region: str | None, *, workers: int) -> None:
        self._region = check_region(default_region)
        self._pool = None
        if workers > 1:
            self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))

    def submit(self, texts: list[str]) -> Callable[[], Readings]:
        """Start reading `texts`; call the result to get their readings."""
        if self._pool is None or not texts:
            readings = {text: _read_text(text, self._region) for text in texts}
            return lambda: readings
        future = self._pool.submit(_read_chunk, texts, self._region)
        return lambda: dict(zip(texts, map(_from_wire, future.result()), strict=True))

    def close(self) -> None:
        """Stop the worker process."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> NumberReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
