"""Calls in flight to one account connector, shared by every activity of a worker process.

At most `size` at once. When calls wait for a slot, those of the activity that started first
go first: a run's ranges then finish one after another rather than all together, so the
workflow starts the next range while the others keep every slot busy (ranges that share the
slots evenly all end at once, and the slots stand idle until the workflow has started more).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_started = itertools.count()  # the order activities started in: lower goes first
_asked = itertools.count()  # among one activity's waiting calls, the order they asked in


def started() -> int:
    """A new activity's place in the queue: after every activity that started before it."""
    return next(_started)


class Slots:
    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap: the first to go first

    @asynccontextmanager
    async def slot(self, place: int) -> AsyncIterator[None]:
        """One slot, held for the block; `place` is the activity's (`started`)."""
        await self._acquire(place)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, place: int) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        given = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (place, next(_asked), given))
        try:
            await given
        except asyncio.CancelledError:
            if given.done() and not given.cancelled():
                self._release()  # handed a slot just as it was cancelled: it goes to the next
            raise

    def _release(self) -> None:
        while self.waiting:
            _, _, given = heapq.heappop(self.waiting)
            if not given.done():  # a cancelled waiter's stays in the heap until it comes up
                given.set_result(None)
                return
        self.free += 1
