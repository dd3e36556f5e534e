"""Group commit: many coroutines' writes in one database transaction.

Each caller waits until its item is durable; items that arrive while a commit is under way
go together in the next one, so commit cost is shared however many callers there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], None], inline: bool = False) -> None:
        # `write` blocks. In a thread it leaves the event loop free, but each commit then waits
        # for the GIL twice (milliseconds when the loop is busy); a local SQLite commit takes
        # microseconds, so for it running `write` on the loop is the faster way.
        self.write, self.inline = write, inline
        self.waiting: list[tuple[T, asyncio.Future[None]]] = []
        self.flushing: asyncio.Task[None] | None = None

    async def add(self, item: T) -> None:
        """Returns once `item` is committed; raises what the commit raised."""
        if self.inline:  # nothing else can run meanwhile, so there is nothing to group
            self.write([item])
            return
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((item, done))
        if self.flushing is None:
            self.flushing = asyncio.create_task(self._flush())
        await asyncio.shield(done)  # a cancelled caller must not cancel the others' commit

    async def _flush(self) -> None:
        try:
            while self.waiting:
                await asyncio.sleep(0)  # let the callers that are ready join this commit
                batch, self.waiting = self.waiting, []
                items = [item for item, _ in batch]
                try:
                    await asyncio.to_thread(self.write, items)
                except Exception as err:  # noqa: BLE001 — handed to every caller of this batch
                    for _, done in batch:
                        done.set_exception(err)
                else:
                    for _, done in batch:
                        done.set_result(None)
        finally:
            self.flushing = None
