"""Cross-process locks on the database, for work that must happen once at a time.

PostgreSQL: a transaction-scoped advisory lock. SQLite: BEGIN IMMEDIATE, which holds the
database's single write lock, on a connection of its own.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from store.database import engine as main_engine
from store.database import make_engine


@cache
def _sqlite_locking_engine(url: str) -> Engine:
    locking = make_engine(url)

    @event.listens_for(locking, "connect")
    def _manual(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we say when transactions begin

    @event.listens_for(locking, "begin")
    def _immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return locking


@contextmanager
def exclusive(name: str, engine: Engine | None = None) -> Iterator[Connection]:
    """A transaction that no other process holding `exclusive(name)` overlaps; commits on exit."""
    engine = engine or main_engine()
    if engine.dialect.name == "sqlite":
        with _sqlite_locking_engine(str(engine.url)).begin() as connection:
            yield connection
        return
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())})
        yield connection
