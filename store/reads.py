"""Short reads for the API's event loop: on the loop itself where the database is a local
SQLite file and the read can be done at once, in a thread otherwise.

A read of a few rows from a local SQLite file (WAL) takes microseconds; the thread hop it
would otherwise take costs more (a thread woken, the loop woken again, the GIL taken twice),
and it lies on the request's path. On the loop a read uses a connection of its own (an engine
of one, apart from the pool: it never waits for a pooled connection) whose busy timeout is 0,
so it never waits for a lock either: should it find the file locked (a recovery, the WAL being
reset), or need to do something long (`Slow`: a connector document not parsed yet), it gives
up at once and the read is done again in a thread, where waiting is harmless (as a group
commit's first try does, store/group_commit.py). Each read is a transaction of its own, ended
before it returns: no snapshot is held between reads (that would keep the WAL from being
checkpointed). On PostgreSQL every read is a network round trip: always in a thread.

A read given a `key` is kept, under it, until the database changes: the loop's connection
asks SQLite's `PRAGMA data_version` before each read (a counter in memory, no table read),
which moves with every commit of any other connection, in this process or another, and every
read kept is forgotten when it does. A read kept is as fresh as one made: nothing committed
since it was made. (Where the database is busy with writes, reads are simply made again.)

Only reads of a few rows by key belong here: what they read and work out runs on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from store.database import connect, engine, is_local_database, session
from store.group_commit import NEVER_WAITS

T = TypeVar("T")
# read(db, at_once): at_once on the loop, where it raises Slow rather than do anything long.
Read = Callable[[Session, bool], T]


class Slow(Exception):
    """The read cannot be done at once on the loop: it is done in a thread instead."""


async def short_read(read: Read[T], key: Hashable | None = None) -> T:
    """`read(db, at_once)`: on the loop at once when it can be (a local SQLite file), in a
    thread otherwise. With a `key` (naming all the read depends on), the result on the loop is
    kept until the database changes."""
    if is_local_database():
        try:
            return _reader()(read, key)
        except Slow:
            pass
    return await asyncio.to_thread(_in_a_thread, read)


def _in_a_thread(read: Read[T]) -> T:
    with session() as db:
        return read(db, False)


KEPT = 1024  # reads kept at most (all forgotten past it)


class _Reader:
    """Reads on the loop's own connection, each in a transaction of its own, those with a key
    kept until the database changes; the connection is dropped after a failure (and what was
    kept with it), so the next read starts afresh."""

    def __init__(self, database: Engine) -> None:
        self.database = database
        self.connection: Connection | None = None
        self.version: int | None = None  # the database's data_version when `kept` was read
        self.kept: dict[Hashable, Any] = {}

    def __call__(self, read: Read[T], key: Hashable | None) -> T:
        if self.connection is None:
            self.connection = self.database.connect()
            self.connection.info[NEVER_WAITS] = True
            self.connection.exec_driver_sql("PRAGMA busy_timeout = 0")
            self.connection.commit()
        try:
            # Asked first: a commit between it and the read only makes what is kept newer.
            version = self.connection.connection.driver_connection.execute("PRAGMA data_version").fetchone()[0]
            if version != self.version or len(self.kept) >= KEPT:
                self.version, self.kept = version, {}
            if key in self.kept:
                return self.kept[key]
            with Session(bind=self.connection, expire_on_commit=False) as db:
                value = read(db, True)
            if key is not None:
                self.kept[key] = value
            return value
        except OperationalError as err:
            self.connection.invalidate()
            self.connection.close()
            self.connection, self.version, self.kept = None, None, {}
            if "locked" in str(err.orig):
                raise Slow from None
            raise
        finally:
            if self.connection is not None and self.connection.in_transaction():
                self.connection.rollback()  # only read: ends the snapshot


@cache
def _reader() -> _Reader:
    """The loop's reader (one loop, one thread: one connection), on the schema `engine` upgraded."""
    return _Reader(connect(engine().url.render_as_string(hide_password=False), pool_size=1, max_overflow=0))
