"""Items that arrive while they are worked on: a run sends while later chunks are judged.

A `Feed` is a list that grows (`add`) until it is closed (`close`); the executor's
workers take its items as they come (`importer.send.executor`), and whoever waits for
more (`grown`) wakes when it grows or closes. A sequence known in full is a closed feed
(`Feed.of`). A follower (`follow`) sees every batch added, in order: the executor uses
one to pick the rows an operation takes out of a feed of every row. `Jobs` hands a
pool's workers the indexes of a pass's items as they arrive, journaling each group of
rows `sending` (one commit) as its first is taken.

Everything happens on the event loop's thread: the run's pump (`importer.run.overlap`)
adds what the validation thread hands over.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from importer.send.executor import Pass

__all__ = ["GROUP_COMMIT_ROWS", "Feed", "Jobs"]

GROUP_COMMIT_ROWS = 32
"""Rows journaled `sending` in one commit, just before they are dispatched."""

T = TypeVar("T")


class Feed(Generic[T]):
    """A growing list of items, closed once no more will come (see the module doc)."""

    def __init__(self, items: Iterable[T] = (), *, closed: bool = False) -> None:
        self.items: list[T] = list(items)
        self.closed = closed
        self._grew: asyncio.Event | None = None
        self._followers: list[Callable[[Sequence[T]], None]] = []
        self._closers: list[Callable[[], None]] = []

    @classmethod
    def of(cls, items: Iterable[T]) -> Feed[T]:
        """A feed of `items`, closed: all of them are known."""
        return cls(items, closed=True)

    def add(self, items: Sequence[T]) -> None:
        """More items (never after `close`); followers see them first."""
        assert not self.closed, "a closed feed takes no more items"
        self.items.extend(items)
        for follower in self._followers:
            follower(items)
        self._wake()

    def close(self) -> None:
        """No more items will come (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for closer in self._closers:
            closer()
        self._wake()

    def follow(self, on_items: Callable[[Sequence[T]], None], on_close: Callable[[], None]) -> None:
        """Call `on_items` with the items there are now and every batch added later, and
        `on_close` when the feed closes (at once if it is closed)."""
        if self.items:
            on_items(self.items)
        self._followers.append(on_items)
        if self.closed:
            on_close()
        else:
            self._closers.append(on_close)

    async def grown(self) -> None:
        """Return once the feed grows or closes (at once when it is closed)."""
        if self.closed:
            return
        if self._grew is None:
            self._grew = asyncio.Event()
        await self._grew.wait()

    async def complete(self) -> list[T]:
        """Every item, once the feed is closed."""
        while not self.closed:
            await self.grown()
        return self.items

    async def first(self, wanted: Callable[[T], bool]) -> bool:
        """Whether an item `wanted` arrives before the feed closes (waits until one does)."""
        seen = 0
        while True:
            if any(wanted(item) for item in self.items[seen:]):
                return True
            seen = len(self.items)
            if self.closed:
                return False
            await self.grown()

    def _wake(self) -> None:
        """Wake every waiter; later waiters wait on a new event."""
        if self._grew is not None:
            self._grew.set()
            self._grew = None


class Jobs:
    """The indexes a pool's workers take, in order: `only` these, or the feed's items
    from `start` up to `stop` as they arrive. Each group of `GROUP_COMMIT_ROWS` not yet
    sent is journaled `sending` in one commit as its first job is taken (a group
    commit: never after a stop, so only a group's rows not yet sent then are marked
    without a POST)."""

    def __init__(
        self,
        run: Pass[Any, Any],
        *,
        start: int = 0,
        stop: int | None = None,
        only: list[int] | None = None,
    ) -> None:
        self.run = run
        self.only = only
        self.next = 0 if only is not None else start
        self.stop = stop
        self.marked = self.next  # the first index not journaled with its group yet

    def most(self) -> int:
        """The most jobs there can be (unknown while the feed grows: the pool size)."""
        if self.only is not None:
            return len(self.only)
        feed = self.run.feed
        if not feed.closed and self.stop is None:
            return self.run.executor.settings.concurrency
        end = len(feed.items) if feed.closed else sys.maxsize
        return max(0, min(end, self.stop or sys.maxsize) - self.next)

    async def take(self) -> int | None:
        """The next index, once its item has arrived; None when there are no more."""
        while True:
            end = self._end()
            if self.next < end:
                position = self.next
                self.next += 1
                if position >= self.marked:
                    self._mark(position, end)
                return self._index(position)
            if self._done():
                return None
            await self.run.feed.grown()

    def _end(self) -> int:
        if self.only is not None:
            return len(self.only)
        return min(len(self.run.feed.items), self.stop or sys.maxsize)

    def _done(self) -> bool:
        if self.only is not None or self.run.feed.closed:
            return True
        return self.stop is not None and self.next >= self.stop

    def _index(self, position: int) -> int:
        return position if self.only is None else self.only[position]

    def _mark(self, position: int, end: int) -> None:
        """Make the steps of the group from `position` and journal it `sending`."""
        run = self.run
        group = [self._index(at) for at in range(position, min(position + GROUP_COMMIT_ROWS, end))]
        self.marked = position + len(group)
        tallies = [run.step(index).tally for index in group]
        if run.executor.journal is not None and run.halted() is None:
            run.premark(run.executor.journal, tallies)
