"""One executor runs any operation: the pool, the rate limit, the breaker, the stop switch.

An operation (`importer.send.operations`) says what to send for one item and how to read
the answers; the executor decides when and how often::

    items ──▶ pool of `concurrency` workers ──▶ operation.settle(item, steps)
                                                   │  steps.send(request, read, reconcile)
                                                   ▼  (the retry loop: importer.send.steps)
              journal `sending` (a group of rows, one commit, as they are taken)
              → rate slot (AdaptiveRate) → request
              → read the answer → breaker and rate fed → retry policy
              ──▶ journal `settled`, `on_result` ──▶ results, in the items' order

The items may still be arriving (a `Feed`: a run sends the first chunk's rows while
later chunks are judged); workers take each as it comes, and the pass ends once the
feed is closed and every item is settled.

Rows that ran out of attempts on transient faults get one more pass at the end (after
`backoff_max`, at most `max_wait`), before they are called failed. A pass stops
(`Batch.stopped_by`) on a 401/403 or a redirect, when the circuit breaker trips, when
the first `canary` items went wrong beyond `max_error_rate`, when
`UNREACHABLE_AFTER_ITEMS` items in a row could not connect at all, or on a stop request
(SIGINT/SIGTERM): requests in flight then finish, for at most `STOP_GRACE_SECONDS`; an
abort (second signal) cancels them at once.

The flow (rate, breaker), the policy and the stop switch belong to the executor and are
shared by every pass; a pass's stop reason is its own, so a refused follow-up step
(verify, messaging) does not unsay a registration pass that went well.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from importer.config import ApiSettings
from importer.errors import RunStopped
from importer.models import RowResult
from importer.send.client import direct_route, encode_json
from importer.send.feed import GROUP_COMMIT_ROWS, Feed, Jobs
from importer.send.flow import AdaptiveRate, CircuitBreaker, Clock
from importer.send.operation import Operation, RowLog, RowOperation
from importer.send.reading import Request
from importer.send.retry import RetryPolicy
from importer.send.steps import Steps, Tally
from importer.send.transport import Outgoing
from importer.send.watch import UNREACHABLE_AFTER_ITEMS, StopReason, Watch
from importer.signals import STOP_GRACE_SECONDS, StopSwitch

__all__ = [
    "GROUP_COMMIT_ROWS",
    "UNREACHABLE_AFTER_ITEMS",
    "Batch",
    "Executor",
    "Pass",
    "RowLog",
    "RowOperation",
    "StopReason",
]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

URL_CACHE_SIZE = 4096
"""Paths whose parsed URL is kept (the collection path, and per-record paths up to this)."""


@dataclass(slots=True)
class Batch(Generic[ResultT]):
    """One pass's answer: a result per item, in order, and what stopped it, if anything."""

    results: list[ResultT]
    stopped_by: StopReason | None = None


class Executor:
    """Runs operations on one client with one rate limit, breaker, policy and stop switch."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: ApiSettings,
        *,
        policy: RetryPolicy | None = None,
        stop: StopSwitch | None = None,
        journal: RowLog | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.stop = stop or StopSwitch()
        self.journal = journal
        self.flow = AdaptiveRate(settings.rate, clock=clock, sleep=self.policy.sleep)
        self.breaker = CircuitBreaker(settings.max_error_rate)
        self._base = str(client.base_url).rstrip("/")
        self._urls: dict[str, httpx.URL] = {}
        self._outgoing: dict[tuple[str, str, bool], Outgoing] = {}
        self._direct = direct_route(client)
        self._headers = httpx.Headers(client.headers)
        self._json_headers = httpx.Headers(client.headers)
        self._json_headers["Content-Type"] = "application/json"

    async def run(
        self,
        operation: Operation[ItemT, ResultT],
        items: Sequence[ItemT] | Feed[ItemT],
        *,
        on_result: Callable[[ResultT], None] | None = None,
        canary: int = 0,
        tallies: Sequence[Tally] | None = None,
    ) -> Batch[ResultT]:
        """Settle every item with `operation`; results in the items' order.

        `items` may be a `Feed` still growing: its items are sent as they arrive.
        `tallies` (one per item) carry what is known of each item before it is sent:
        its journal row, and whether an earlier run may have sent it (`maybe_done`).
        """
        feed = items if isinstance(items, Feed) else Feed.of(items)
        known = tallies
        run = Pass(self, operation, on_result, lambda index, _: known[index] if known else Tally())
        return await run.run(feed, canary)

    async def run_rows(
        self,
        operation: RowOperation,
        results: Sequence[RowResult] | Feed[RowResult],
        *,
        on_result: Callable[[RowResult], None] | None = None,
        canary: int = 0,
        tally: Callable[[RowResult], Tally] = lambda _: Tally(),
    ) -> Batch[RowResult]:
        """Run `operation` on the rows it takes; every row comes back, in order.

        `results` may be a `Feed` still growing: the rows are sent as they arrive, each
        row's tally made as it arrives (its chunk is journaled by then)."""
        rows = results if isinstance(results, Feed) else Feed.of(results)
        chosen: list[int] = []
        tallies: list[Tally] = []
        taken: Feed[RowResult] = Feed()

        def arrived(batch: Sequence[RowResult]) -> None:
            first = len(rows.items) - len(batch)
            picked = [(first + at, row) for at, row in enumerate(batch) if operation.takes(row)]
            tallies.extend(tally(row) for _, row in picked)  # a bad row raises before any send
            chosen.extend(index for index, _ in picked)
            if picked:
                taken.add([row for _, row in picked])

        rows.follow(arrived, taken.close)
        run = Pass(self, operation, on_result, lambda index, _: tallies[index])
        batch = await run.run(taken, canary)
        out = list(await rows.complete())
        for index, result in zip(chosen, batch.results, strict=True):
            out[index] = result
        return Batch(out, batch.stopped_by)

    async def send(self, request: Request) -> httpx.Response:
        """Send `request` once: by the transport's direct route when the client has one
        (`importer.send.client.direct_route`), else through the httpx client."""
        if self._direct is None:
            return await self.client.request(
                request.method,
                self.url(request.path),
                json=request.json,
                content=request.content,
                headers=request.headers,
                params=request.params,
            )
        body = request.content if request.json is None else encode_json(request.json)
        return await self._direct.send_directly(self.outgoing(request), body)

    def outgoing(self, request: Request) -> Outgoing:
        """`request` made whole for the direct route: once per method and path when it
        adds no headers and no query (every registration alike)."""
        if request.headers or request.params:
            return self._made(request)
        key = (request.method, request.path, request.json is not None)
        made = self._outgoing.get(key)
        if made is None:
            made = self._made(request)
            if len(self._outgoing) < URL_CACHE_SIZE:
                self._outgoing[key] = made
        return made

    def _made(self, request: Request) -> Outgoing:
        url = self.url(request.path)
        headers = self._headers if request.json is None else self._json_headers
        if request.headers:
            headers = httpx.Headers(headers)
            headers.update(request.headers)
        if request.params:
            url = url.copy_merge_params(request.params)
        return Outgoing.of(request.method, url, headers)

    def url(self, path: str) -> httpx.URL:
        """The absolute URL of `path`, parsed once per path (httpx parses a relative URL
        twice per request otherwise: measurable at a thousand requests a second)."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(path if "://" in path else self._base + path)
            if len(self._urls) < URL_CACHE_SIZE:
                self._urls[path] = url
        return url


class Pass(Watch, Generic[ItemT, ResultT]):
    """One operation over its items: the workers (what stops them: `Watch`)."""

    def __init__(
        self,
        executor: Executor,
        operation: Operation[ItemT, ResultT],
        on_result: Callable[[ResultT], None] | None,
        tally: Callable[[int, ItemT], Tally],
    ) -> None:
        super().__init__(executor)
        self.operation = operation
        self.on_result = on_result
        self.tally = tally
        self.published: set[int] = set()
        self.second_pass = operation.second_pass and executor.settings.second_pass
        self.feed: Feed[ItemT] = Feed.of(())
        self.out: list[ResultT | None] = []
        self.steps: list[Steps] = []

    async def run(self, feed: Feed[ItemT], canary: int) -> Batch[ResultT]:
        """The pass: canary, the rest (as they arrive), the second pass, and the rows no
        worker reached (once the feed is closed)."""
        self.feed = feed
        held: list[int] = []
        if canary:
            held = await self._pool(Jobs(self, stop=canary), final=False)
            canary = min(canary, len(feed.items))
            if self.stopped_by is None:  # rows held for the second pass are not judged yet
                judged = [self.out[i] for i in range(canary) if i not in held]
                self._judge_canary([result for result in judged if result is not None])
        held += await self._pool(Jobs(self, start=canary), final=False)
        if held and self.stopped_by is None:
            await self._second_pass(held)
        items = await feed.complete()
        for index, item in enumerate(items):  # held when the pass stopped, or never reached
            steps = self.step(index)
            if self.out[index] is None:
                self.out[index] = self.operation.halted(item, steps, self._reason())
            if index not in self.published:
                self._publish(index)
        return Batch([result for result in self.out if result is not None], self.stopped_by)

    def step(self, index: int) -> Steps:
        """The `Steps` of item `index` (made, with its tally, the first time it is asked)."""
        while len(self.steps) <= index:
            at = len(self.steps)
            self.steps.append(Steps(self, self.tally(at, self.feed.items[at])))
            self.out.append(None)
        return self.steps[index]

    async def _second_pass(self, held: list[int]) -> None:
        """Items out of attempts on transient faults: one more pass, after a pause (a stop
        ends the pause: the held items keep their first outcome)."""
        policy = self.executor.policy
        await self.pause(min(policy.backoff_max, policy.max_wait), what="second pass")
        for index in held:
            self.steps[index].tally.exhausted = False
        if self.halted() is None:
            await self._pool(Jobs(self, only=held), final=True)

    async def _pool(self, jobs: Jobs, *, final: bool) -> list[int]:
        """Settle `jobs` with `concurrency` workers; the indexes held for a second pass."""
        held: list[int] = []
        operation, items = self.operation, self.feed.items

        async def worker() -> None:
            while (index := await jobs.take()) is not None:
                steps = self.steps[index]
                try:
                    self.out[index] = await operation.settle(items[index], steps)
                except asyncio.CancelledError:
                    self.out[index] = operation.cut_short(items[index], steps)
                    self._publish(index)
                    raise
                if self._holds(steps) and not final:
                    held.append(index)
                else:
                    self._publish(index)

        workers = min(self.executor.settings.concurrency, jobs.most())
        await self._work([worker() for _ in range(workers)])
        return held

    @staticmethod
    def premark(journal: RowLog, tallies: list[Tally]) -> None:
        """Journal the first write of every tally not sent yet `sending`, in one commit."""
        fresh = [(row, t) for t in tallies if (row := t.journal_row) is not None and not t.attempts]
        if fresh:
            journal.sending_rows([(row, 1) for row, _ in fresh])
        for _, tally in fresh:
            tally.premarked = True

    async def _work(self, coroutines: list[Coroutine[Any, Any, None]]) -> None:
        """Run the workers; honour stop requests and aborts; a worker's bug surfaces as is."""
        if not coroutines:
            return
        workers = [asyncio.create_task(coroutine) for coroutine in coroutines]
        watcher = asyncio.create_task(self._watch_stop(workers))
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            watcher.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                for other in workers:
                    other.cancel()
                raise task.exception() from None  # type: ignore[misc]
        if any(not task.done() for task in workers):
            await asyncio.wait(workers)

    async def _watch_stop(self, workers: list[asyncio.Task[None]]) -> None:
        """On a stop request stop dispatching; on abort or after the grace, cancel in flight."""
        switch = self.executor.stop
        await switch.wait()
        self.halted()
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await switch.wait(abort=True)
        except TimeoutError:
            pass
        for task in workers:
            task.cancel()

    def _holds(self, steps: Steps) -> bool:
        """Whether an item goes to the second pass rather than being final now."""
        return self.second_pass and steps.tally.exhausted and self.stopped_by is None

    def _publish(self, index: int) -> None:
        """An item's result is final: journal it and tell `on_result`, once."""
        result = self.out[index]
        if result is None or index in self.published:
            return
        self.published.add(index)
        journal = self.executor.journal
        if journal is not None and self.operation.journaled and isinstance(result, RowResult):
            journal.settled(result)
        if self.on_result is not None:
            self.on_result(result)

    def _judge_canary(self, results: list[ResultT]) -> None:
        bad = sum(self.operation.went_wrong(result) for result in results)
        limit = self.executor.settings.max_error_rate
        if results and bad / len(results) > limit:
            self.stop(
                RunStopped(
                    f"canary: {bad} of the first {len(results)} rows were rejected or failed "
                    f"(more than {limit:.0%}); fix them and run again"
                )
            )
