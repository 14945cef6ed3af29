"""Reading many phone-number cells at once: a whole file's (the list path).

`read_numbers` answers every distinct cell text of a batch into a plain dict, splitting
a large batch (`PARALLEL_MIN_NUMBERS`) over worker processes. Readings cross processes
as plain tuples (issue types by code) and come back identical. (A streamed file is
split by chunks of rows instead: `importer.validate.chunks`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from multiprocessing import get_context

from importer.validate import catalogue
from importer.validate.phone import Reading, _read_text, check_region
from importer.validate.spawning import main_module_hidden

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
        with main_module_hidden():  # the workers start here
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
