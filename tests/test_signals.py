"""Stop requests: the switch's two stages, and SIGINT/SIGTERM wired to it while a run lasts."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from importer.signals import StopSwitch, catch_signals


def test_first_request_stops_second_aborts() -> None:
    """The first request records its reason; the second only marks the abort."""
    switch = StopSwitch()
    assert not switch.requested
    switch.request("SIGINT")
    assert (switch.requested, switch.aborted, switch.reason) == (True, False, "SIGINT")
    switch.request("SIGTERM")
    assert (switch.aborted, switch.reason) == (True, "SIGINT")


def test_waiters_wake_on_request_and_on_abort() -> None:
    """wait() returns after the first request, wait(abort=True) only after the second."""
    switch = StopSwitch()

    async def go() -> list[str]:
        woke: list[str] = []

        async def waiter(abort: bool) -> None:
            await switch.wait(abort=abort)
            woke.append("abort" if abort else "stop")

        tasks = [asyncio.create_task(waiter(False)), asyncio.create_task(waiter(True))]
        await asyncio.sleep(0)
        switch.request("SIGINT")
        await asyncio.sleep(0.01)
        assert woke == ["stop"]
        switch.request("SIGINT")
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(go()) == ["stop", "abort"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_flip_the_switch_and_handlers_are_restored(sig: signal.Signals) -> None:
    """Inside catch_signals a signal requests a stop (no KeyboardInterrupt); outside, as before."""
    switch = StopSwitch()
    before = signal.getsignal(sig)

    async def go() -> None:
        with catch_signals(switch):
            os.kill(os.getpid(), sig)
            await asyncio.wait_for(switch.wait(), timeout=5)

    asyncio.run(go())
    assert switch.reason == sig.name
    assert signal.getsignal(sig) == before
