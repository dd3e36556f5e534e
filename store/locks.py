"""Cross-process locks on the database, for work that must happen once at a time.

PostgreSQL: one transaction-scoped advisory lock per name, taken in sorted order (so two
holders of overlapping sets never deadlock). SQLite: BEGIN IMMEDIATE, which holds the
database's single write lock, on a connection of its own: every name at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from store.database import connect
from store.database import engine as main_engine


@cache
def _sqlite_locking_engine(url: str) -> Engine:
    locking = connect(url)

    @event.listens_for(locking, "connect")
    def _manual(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we say when transactions begin

    @event.listens_for(locking, "begin")
    def _immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return locking


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a name (PostgreSQL's advisory lock space)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def exclusive(names: Iterable[str], engine: Engine | None = None) -> Iterator[Connection]:
    """A transaction that overlaps no other `exclusive` holding any of `names`; commits on exit."""
    engine = engine or main_engine()
    if engine.dialect.name == "sqlite":
        with _sqlite_locking_engine(str(engine.url)).begin() as connection:
            yield connection
        return
    with engine.begin() as connection:
        for name in sorted(set(names)):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})
        yield connection
