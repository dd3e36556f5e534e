"""The engine and sessions: SQLite file by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from store import jsontext


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain postgres URLs people paste.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect(url: str, pool_size: int = 5, max_overflow: int = 10, pool_timeout: float = 30) -> Engine:
    """An engine on the database as it is (see `make_engine` for one on the current schema).

    The pool is per process: it holds at most pool_size + max_overflow connections, and a
    checkout waits at most pool_timeout seconds for one (then sqlalchemy's TimeoutError)."""
    url = _normalise(url)
    options = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout,
               "json_serializer": jsontext.dumps, "json_deserializer": jsontext.loads}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            del options["pool_size"], options["max_overflow"], options["pool_timeout"]  # SQLAlchemy's own pool
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def make_engine(url: str, **pool: float) -> Engine:
    """An engine on the database, its schema upgraded to this version's (Alembic migrations)."""
    from store.schema import upgrade  # it takes the store's cross-process lock, made of engines

    engine = connect(url, **pool)
    upgrade(engine)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets the API and the workers read while another process writes.
    cursor = connection.cursor()
    _journal_in_wal(cursor)
    # With WAL, NORMAL survives any process crash (a power cut may lose the last commits):
    # commits skip the fsync that would otherwise dominate writing transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


WAL_ATTEMPTS = 20  # about 10 s in all


def _journal_in_wal(cursor) -> None:
    """Switching a new file to WAL takes its exclusive lock, and SQLite answers "database is
    locked" at once rather than wait for it while another process does the same (processes
    starting together): tried again, a bounded number of times, then the error raised."""
    for attempt in range(1, WAL_ATTEMPTS + 1):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == WAL_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


@cache
def engine() -> Engine:
    from runtime.settings import settings

    current = settings()
    return make_engine(current.database_url, pool_size=current.db_pool_size, max_overflow=current.db_max_overflow,
                       pool_timeout=current.db_pool_timeout)


@cache
def control_engine() -> Engine:
    """Two connections of their own, apart from the pool of `engine`, for what must answer when
    that pool is exhausted: the API's health, readiness, token and metrics reads (api/admission.py).
    It reads the schema `engine` has upgraded."""
    from runtime.settings import settings

    current = settings()
    return connect(current.database_url, pool_size=1, max_overflow=1, pool_timeout=current.db_pool_timeout)


def is_local_database() -> bool:
    """SQLite: a file of this machine, so a commit is a local write, not a network round trip."""
    from runtime.settings import settings

    return _is_sqlite(settings().database_url)


@cache
def _is_sqlite(url: str) -> bool:  # asked on every short read (store/reads.py)
    return _normalise(url).startswith("sqlite")


@contextmanager
def session() -> Iterator[Session]:
    with Session(engine(), expire_on_commit=False) as db:
        yield db


@contextmanager
def control_session() -> Iterator[Session]:
    """A session on `control_engine`."""
    with Session(control_engine(), expire_on_commit=False) as db:
        yield db
