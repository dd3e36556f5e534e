"""Group commit: many coroutines' writes in one database transaction.

Each caller waits until its item is durable; items that arrive while a commit is under way
go together in the next one, so commit cost is shared however many callers there are.

A write blocks. In a thread it leaves the event loop free, but each commit then waits for the
GIL twice (milliseconds when the loop is busy). A local SQLite commit takes microseconds, so
there a group is first written on the loop by a connection that never waits for the file's
write lock (`Busy` at once when another writer holds it: that group then goes to a thread and
waits there). The loop is never held by another process's write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from store.database import engine, is_local_database

T = TypeVar("T")
NEVER_WAITS = "cyclewright.never_waits"  # in a connection's info: it fails rather than wait for a lock


class Busy(Exception):
    """The write would have waited for another writer's lock: nothing was written."""


class Writer(Generic[T]):
    """Writes a group with `write(connection, items)` and commits it, on a connection of its own
    (none of a session's bookkeeping); the connection is dropped after a failure (broken, or
    mid-transaction), so the next group starts afresh. `waits=False`: an SQLite connection that
    raises Busy rather than wait for the write lock."""

    def __init__(self, write: Callable[[Connection, Sequence[T]], Any], waits: bool = True) -> None:
        self.write, self.waits = write, waits
        self.connection: Connection | None = None

    def __call__(self, items: Sequence[T]) -> Any:
        self.connection = self.connection or _connect(engine(), self.waits)
        try:
            written = self.write(self.connection, items)
            self.connection.commit()
            return written
        except Exception as err:
            self.connection.invalidate()  # a non-waiting one must never go back into the pool
            self.connection.close()
            self.connection = None
            if not self.waits and isinstance(err, OperationalError) and "locked" in str(err.orig):
                raise Busy from None
            raise


def _connect(db: Engine, waits: bool) -> Connection:
    """A connection kept by its writer until it fails (then invalidated, not pooled again)."""
    connection = db.connect()
    if not waits:
        connection.info[NEVER_WAITS] = True
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    return connection


class GroupCommit(Generic[T]):
    """`write(items)` commits them and may answer one result per item, which `add` returns;
    `first`, when given, is tried on the loop before it and may raise Busy."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[Any] | None],
                 first: Callable[[Sequence[T]], Sequence[Any] | None] | None = None) -> None:
        self.write, self.first = write, first
        self.waiting: list[tuple[T, asyncio.Future[Any]]] = []
        self.flushing: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, write: Callable[[Connection, Sequence[T]], Any]) -> GroupCommit[T]:
        """Groups written by `write` on connections of their own; on the loop first when the
        database is a local SQLite file."""
        return cls(Writer(write), Writer(write, waits=False) if is_local_database() else None)

    async def add(self, item: T) -> Any:
        """Returns once `item` is committed, with its result; raises what the commit raised."""
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((item, done))
        if self.flushing is None:
            self.flushing = asyncio.create_task(self._flush())
        return await done  # a cancelled caller cancels only its own wait: the commit goes on

    async def _flush(self) -> None:
        try:
            while self.waiting:
                await asyncio.sleep(0)  # let the callers that are ready join this commit
                batch, self.waiting = self.waiting, []
                items = [item for item, _ in batch]
                try:
                    written = await self._write(items)
                    results = written or [None] * len(items)
                except Exception as err:  # noqa: BLE001 — handed to every caller of this batch
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(err)
                else:
                    for (_, done), result in zip(batch, results):
                        if not done.done():
                            done.set_result(result)
        finally:
            self.flushing = None

    async def _write(self, items: list[T]) -> Sequence[Any] | None:
        if self.first is not None:
            try:
                return self.first(items)
            except Busy:
                pass
        return await asyncio.to_thread(self.write, items)
