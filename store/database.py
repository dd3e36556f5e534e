"""The engine and sessions: SQLite file by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine

from store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain postgres URLs people paste.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = _normalise(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_tables(engine)
    _check_columns(engine)
    return engine


def _create_tables(engine: Engine) -> None:
    """Create what is missing. Processes starting together (an API and a worker on a new
    database) race between looking and creating: the loser looks again."""
    try:
        SQLModel.metadata.create_all(engine)
    except (OperationalError, ProgrammingError, IntegrityError):
        SQLModel.metadata.create_all(engine)


def _check_columns(engine: Engine) -> None:
    """create_all adds missing tables but never columns: say plainly when a database was made
    by an earlier version, rather than fail later on a missing column."""
    found = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        missing = {c.name for c in table.columns} - {c["name"] for c in found.get_columns(table.name)}
        if missing:
            raise SystemExit(f"the database at {engine.url!r} was made by an earlier version of Cyclewright "
                             f"(table '{table.name}' lacks {', '.join(sorted(missing))}); move it aside "
                             "(for the embedded default: `make clean`) and start again")


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

    return make_engine(settings().database_url)


def is_local_database() -> bool:
    """SQLite: a file of this machine, so a commit is a local write, not a network round trip."""
    from runtime.settings import settings

    return _normalise(settings().database_url).startswith("sqlite")


@contextmanager
def session() -> Iterator[Session]:
    with Session(engine(), expire_on_commit=False) as db:
        yield db
