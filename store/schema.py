"""The schema's migrations (Alembic, in store/migrations): each process upgrades its database
to head as it starts, one process at a time.

A database made before migrations existed (by create_all) has the tables but no
alembic_version: it is stamped at the first revision, which is that schema, then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

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
            command.stamp(config, FIRST)
        command.upgrade(config, "head")
    _check_columns(engine)


def _made_before_migrations(connection: Connection) -> bool:
    found = inspect(connection)
    return not found.has_table("alembic_version") and found.has_table(tables.Account.__tablename__)


def _check_columns(engine: Engine) -> None:
    """A database older than the first revision, adopted as if it were that one, lacks columns:
    say so plainly, rather than fail later on a missing column."""
    found = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in found.get_columns(table.name)} if found.has_table(table.name) else set()
        if missing := {c.name for c in table.columns} - present:
            raise SystemExit(f"the database at {engine.url!r} was made by an earlier version of Cyclewright "
                             f"(table '{table.name}' lacks {', '.join(sorted(missing))}); move it aside "
                             "(for the embedded default: `make clean`) and start again")
