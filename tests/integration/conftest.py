"""Each store test against SQLite and, where CI provides one (CYCLEWRIGHT_TEST_POSTGRES_URL), a
real PostgreSQL: a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.database import make_engine
from tests.postgres import POSTGRES, SKIP_REASON, create_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES:
        pytest.skip(SKIP_REASON)
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    database = make_engine(database_url)
    yield database
    database.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
