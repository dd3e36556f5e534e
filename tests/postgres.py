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
    """Drops it even while a process that outlived its test still holds a connection.

    Not `WITH (FORCE)`: that refuses a non-superuser whenever an autovacuum worker happens to be
    in the database. Our own sessions are ended here; plain DROP cancels autovacuum itself."""
    name = url.rsplit("/", 1)[1]
    server = _server()
    with server.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    server.dispose()
