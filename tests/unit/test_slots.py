"""Calls in flight to one account connector (activities/slots.py): a bound, and the activity
that started first served first, so a run's ranges end one after another."""

from __future__ import annotations

import asyncio

from activities.slots import Slots, started


async def test_waiting_calls_of_the_activity_that_started_first_go_first():
    slots, served, hold = Slots(2), [], asyncio.Event()
    first, second = started(), started()
    assert first < second

    async def call(place: int, name: str) -> None:
        async with slots.slot(place):
            served.append(name)
            await hold.wait()

    running = [asyncio.create_task(call(second, "later a")), asyncio.create_task(call(second, "later b"))]
    await asyncio.sleep(0)  # the two take both slots
    running += [asyncio.create_task(call(second, f"later {n}")) for n in "cd"]
    running += [asyncio.create_task(call(first, f"earlier {n}")) for n in "ab"]
    await asyncio.sleep(0)
    assert served == ["later a", "later b"] and len(slots.waiting) == 4  # the premise: four wait
    hold.set()
    await asyncio.gather(*running)
    assert served == ["later a", "later b", "earlier a", "earlier b", "later c", "later d"]
    assert slots.free == 2 and not slots.waiting


async def test_a_cancelled_wait_gives_back_nothing_it_did_not_take():
    slots, hold = Slots(1), asyncio.Event()

    async def holder() -> None:
        async with slots.slot(started()):
            await hold.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(slots._acquire(started()))
    await asyncio.sleep(0)
    waiting.cancel()
    hold.set()
    await held
    assert waiting.cancelled() and slots.free == 1  # the slot came back, to no one
    async with slots.slot(started()):
        assert slots.free == 0


async def test_a_slot_handed_to_a_call_cancelled_at_that_moment_goes_on_to_the_next():
    slots = Slots(1)
    async with slots.slot(started()):
        cancelled = asyncio.create_task(slots._acquire(started()))
        after = asyncio.create_task(slots._acquire(started()))
        await asyncio.sleep(0)
    cancelled.cancel()  # released above: its future has the slot, it has not run yet
    await asyncio.sleep(0)
    await after
    assert cancelled.cancelled() and slots.free == 0  # `after` holds it
    slots._release()
    assert slots.free == 1
