"""The schema's migrations (Alembic, in store/migrations): each process upgrades its database
to head as it starts, one process at a time.

A database made before migrations existed (by create_all) has the tables but no
alembic_version: it is stamped at the first revision, which is that schema, then upgraded.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine

from store import tables  # its import registers the tables on SQLModel.metadata
from store.locks import exclusive

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST = "0001"  # the schema of the last release without migrations


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    with exclusive(["schema"], engine) as connection:  # processes starting together take turns
        config = alembic_config(connection)
        if _made_before_migrations(connection):
            _check_first_schema(connection, engine)
            command.stamp(config, FIRST)
        command.upgrade(config, "head")


def _made_before_migrations(connection: Connection) -> bool:
    found = inspect(connection)
    return not found.has_table("alembic_version") and found.has_table(tables.Account.__tablename__)


@cache
def _first_schema() -> dict[str, set[str]]:
    """Each table's columns as the first revision makes them (run on an in-memory database)."""
    with create_engine("sqlite://").connect() as connection:
        command.upgrade(alembic_config(connection), FIRST)
        found = inspect(connection)
        return {table: {c["name"] for c in found.get_columns(table)}
                for table in found.get_table_names() if table != "alembic_version"}


def _check_first_schema(connection: Connection, engine: Engine) -> None:
    """A database older than the first revision, about to be adopted as if it were that one,
    lacks columns: say so plainly, rather than fail later on a missing column."""
    found = inspect(connection)
    for table, columns in sorted(_first_schema().items()):
        present = {c["name"] for c in found.get_columns(table)} if found.has_table(table) else set()
        if missing := columns - present:
            raise SystemExit(f"the database at {engine.url!r} was made by an earlier version of Cyclewright "
                             f"(table '{table}' lacks {', '.join(sorted(missing))}); move it aside "
                             "(for the embedded default: `make clean`) and start again")
