"""The engine and sessions: SQLite file by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain postgres URLs people paste.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect(url: str, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An engine on the database as it is (see `make_engine` for one on the current schema).

    The pool sizes are per process and apply to PostgreSQL: a process holds at most
    pool_size + max_overflow connections."""
    url = _normalise(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def make_engine(url: str, **pool: int) -> Engine:
    """An engine on the database, its schema upgraded to this version's (Alembic migrations)."""
    from store.schema import upgrade  # it takes the store's cross-process lock, made of engines

    engine = connect(url, **pool)
    upgrade(engine)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets the API and the workers read while another process writes.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL survives any process crash (a power cut may lose the last commits):
    # commits skip the fsync that would otherwise dominate writing transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@cache
def engine() -> Engine:
    from runtime.settings import settings

    current = settings()
    return make_engine(current.database_url, pool_size=current.db_pool_size, max_overflow=current.db_max_overflow)


def is_local_database() -> bool:
    """SQLite: a file of this machine, so a commit is a local write, not a network round trip."""
    from runtime.settings import settings

    return _normalise(settings().database_url).startswith("sqlite")


@contextmanager
def session() -> Iterator[Session]:
    with Session(engine(), expire_on_commit=False) as db:
        yield db
