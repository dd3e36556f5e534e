"""Group commit: many coroutines' writes in one database transaction.

Each caller waits until its item is durable; items that arrive while a commit is under way
go together in the next one, so commit cost is shared however many callers there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """`write(items)` commits them and may answer one result per item, which `add` returns."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[Any] | None], inline: bool = False) -> None:
        # `write` blocks. In a thread it leaves the event loop free, but each commit then waits
        # for the GIL twice (milliseconds when the loop is busy); a local SQLite commit takes
        # microseconds, so for it running `write` on the loop (`inline`) is the faster way.
        # Either way, the items that arrived meanwhile go together.
        self.write, self.inline = write, inline
        self.waiting: list[tuple[T, asyncio.Future[Any]]] = []
        self.flushing: asyncio.Task[None] | None = None

    async def add(self, item: T) -> Any:
        """Returns once `item` is committed, with its result; raises what the commit raised."""
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((item, done))
        if self.flushing is None:
            self.flushing = asyncio.create_task(self._flush())
        return await asyncio.shield(done)  # a cancelled caller must not cancel the others' commit

    async def _flush(self) -> None:
        try:
            while self.waiting:
                await asyncio.sleep(0)  # let the callers that are ready join this commit
                batch, self.waiting = self.waiting, []
                items = [item for item, _ in batch]
                try:
                    written = self.write(items) if self.inline else await asyncio.to_thread(self.write, items)
                    results = written or [None] * len(items)
                except Exception as err:  # noqa: BLE001 — handed to every caller of this batch
                    for _, done in batch:
                        done.set_exception(err)
                else:
                    for (_, done), result in zip(batch, results):
                        done.set_result(result)
        finally:
            self.flushing = None
