"""Alembic's environment: the tables as SQLModel declares them, on the process's database.

`store.schema.upgrade` hands in a connection that already holds the schema lock; the `alembic`
command (making a revision: see README) connects to DATABASE_URL itself.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from runtime.settings import settings
from store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.database import connect


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run `cyclewright db upgrade`")
if (given := context.config.attributes.get("connection")) is not None:
    run(given)
else:
    with connect(settings().database_url).connect() as connection:
        run(connection)
        connection.commit()
