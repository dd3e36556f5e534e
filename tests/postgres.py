"""Fresh PostgreSQL databases for tests, on the server CYCLEWRIGHT_TEST_POSTGRES_URL names
(.ci/run sets it); each has a unique name, so tests never see another's rows."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text

POSTGRES = os.environ.get("CYCLEWRIGHT_TEST_POSTGRES_URL")
SKIP_REASON = "CYCLEWRIGHT_TEST_POSTGRES_URL is not set (.ci/run sets it)"


def _server():
    return create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def create_database(prefix: str = "cyclewright_test") -> str:
    """An empty database's URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = _server()
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    server.dispose()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    server = _server()
    with server.connect() as connection:  # FORCE: a process that outlived its test may hold a connection
        connection.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
    server.dispose()
