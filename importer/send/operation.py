"""What an operation is: the data and rules of one kind of request, run by the executor.

An operation module (`importer.send.operations.register`, `lookup`, `verify`,
`messaging`, …) says, and says only:

- which items it takes (`takes`, for operations over a sheet's rows);
- the request it sends for an item (a `Request`: method, path, body);
- how an answer is read (a `read` function narrowing `read_answer`: done, permanent
  refusal, retry, or outcome unknown);
- how an unknown outcome is reconciled (a `reconcile` coroutine that reads the record
  back: settled, or absent so the request may be sent again);
- what an item becomes when the run stops before or while it is sent (`halted`,
  `cut_short`), and whether a result went wrong (`went_wrong`, for the canary);
- its issue codes (declared in `importer.validate.catalogue`).

Everything else (workers, rate, retries and waits, journal, breaker, stop) is the
executor's (`importer.send.executor`), the same for every operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from importer.models import RowResult
from importer.send.reading import Kind, Reading

if TYPE_CHECKING:
    from importer.send.steps import Steps

__all__ = ["AnsweredOnce", "Operation", "RowLog", "RowOperation"]

ItemT_contra = TypeVar("ItemT_contra", contravariant=True)
ResultT = TypeVar("ResultT")


class Operation(Protocol[ItemT_contra, ResultT]):
    """One kind of request, as data and rules (see the module doc)."""

    name: str
    """Short and stable: the journal and `history` record it (`register`, `lookup`, …)."""
    journaled: bool
    """Its results are the row's outcome in the journal (a write that must not repeat)."""
    second_pass: bool
    """Items out of attempts on transient faults get one more pass at the end."""

    async def settle(self, item: ItemT_contra, steps: Steps) -> ResultT:
        """Send what `item` needs through `steps.send` until it has its result."""
        ...

    def halted(self, item: ItemT_contra, steps: Steps, reason: str) -> ResultT:
        """The result of an item the run stopped before it was settled."""
        ...

    def cut_short(self, item: ItemT_contra, steps: Steps) -> ResultT:
        """The result of an item whose request was cancelled in flight (an abort)."""
        ...

    def went_wrong(self, result: ResultT) -> bool:
        """True for a result the canary counts against the run."""
        ...


class RowOperation(Operation[RowResult, RowResult], Protocol):
    """An operation over a sheet's rows: it also says which rows it takes."""

    def takes(self, result: RowResult) -> bool:
        """True for a row this operation acts on."""
        ...


class RowLog(Protocol):
    """What the executor tells the journal (`importer.journal.RunJournal` implements it)."""

    def sending(self, row_number: int, attempts: int) -> None: ...

    def sending_rows(self, marks: Sequence[tuple[int, int]]) -> None: ...

    def settled(self, result: RowResult) -> None: ...

    def stepped(self, row_number: int, step: str) -> None: ...


class AnsweredOnce:
    """The rules of an operation whose result is its last `Reading` (preflight, notify):
    stopped or aborted, the reading says so; no journal, no second pass, no canary."""

    journaled = False
    second_pass = False

    def halted(self, item: object, steps: Steps, reason: str) -> Reading:
        """Stopped before it was answered."""
        return Reading(kind=Kind.HALTED, detail=reason)

    def cut_short(self, item: object, steps: Steps) -> Reading:
        """Aborted in flight."""
        return self.halted(item, steps, "aborted")

    def went_wrong(self, result: Reading) -> bool:
        """No canary."""
        return False
