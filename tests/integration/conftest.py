"""Each store test against SQLite and, where CI provides one (CYCLEWRIGHT_TEST_POSTGRES_URL), a
real PostgreSQL: a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.database import make_engine

POSTGRES = os.environ.get("CYCLEWRIGHT_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        return
    if not POSTGRES:
        pytest.skip("CYCLEWRIGHT_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    name = f"cyclewright_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    database = make_engine(POSTGRES.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name}"))


@pytest.fixture
def db(engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
