"""Acceptance (issue 10, point 5): an upgrade keeps the rows; the migrations match the models."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from store.database import connect, make_engine
from store.schema import FIRST, alembic_config
from store.tables import Account, Connector, ConnectorRelease, CycleStep


def _previous_release(url: str, stamped: bool) -> None:
    """The schema of the release before migrations, with an account and a connector in it:
    made by create_all (no alembic_version) when not `stamped`."""
    engine = connect(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), FIRST)
        if not stamped:
            connection.execute(text("DROP TABLE alembic_version"))
        now = datetime.now(UTC)
        connection.execute(text("INSERT INTO account (id, name, timezone, created_at) "
                                "VALUES ('a1', 'Acme', 'UTC', :now)"), {"now": now})
        connection.execute(text("INSERT INTO connector (id, name, created_at) VALUES ('c1', 'CRM', :now)"),
                           {"now": now})
        connection.execute(text("INSERT INTO connectorrelease (id, connector_id, version, status, document, "
                                "created_at) VALUES ('r1', 'c1', '1.0', 'Live', '{}', :now)"), {"now": now})
    engine.dispose()


def _rows_kept(url: str) -> None:
    engine = make_engine(url)  # what every process does as it starts: upgrade to head
    with Session(engine) as db:
        assert (db.get(Account, "a1").name, db.get(Connector, "c1").name) == ("Acme", "CRM")
        assert db.get(ConnectorRelease, "r1").status == "Live"
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
    engine.dispose()


def test_an_upgrade_from_the_first_revision_keeps_the_rows(database_url):
    _previous_release(database_url, stamped=True)
    _rows_kept(database_url)


def test_a_database_made_before_migrations_is_adopted_with_its_rows(database_url):
    _previous_release(database_url, stamped=False)
    _rows_kept(database_url)


def test_the_migrations_make_the_schema_the_models_declare(engine):
    """A model changed without a revision fails here: `alembic revision --autogenerate` (README)."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def _start(url: str, start) -> None:
    start.wait()
    make_engine(url).dispose()


def test_processes_starting_together_on_an_empty_database_take_turns_to_upgrade(database_url):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    processes = [context.Process(target=_start, args=(database_url, start)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]


def test_a_database_older_than_the_first_revision_is_refused_plainly(database_url):
    engine = connect(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE account (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL)"))
    engine.dispose()
    with pytest.raises(SystemExit, match="table 'account' lacks created_at, retention_days, timezone"):
        make_engine(database_url)


def test_steps_signed_before_timestamped_signatures_keep_taking_the_bare_form(database_url):
    """0003: a Webhook step that had a secret goes on taking its senders' bare signatures (until
    it opts out); one without a secret, like every new one, takes only timestamped signatures."""
    engine = connect(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
        now = datetime.now(UTC)
        connection.execute(text("INSERT INTO account (id, name, timezone, created_at) VALUES ('a1', 'Acme', 'UTC', :now)"),
                           {"now": now})
        connection.execute(text("INSERT INTO template (id, name, version, document, created_at) "
                                "VALUES ('t1', 'Hooks', 1, '{}', :now)"), {"now": now})
        connection.execute(text("INSERT INTO cycle (id, account_id, template_id, name, status, status_seq, "
                                "template_version, collection_split, run_once, created_at) "
                                "VALUES ('y1', 'a1', 't1', 'Hooks', 'Active', 0, 1, 'First', false, :now)"),
                           {"now": now})
        for step, secret in (("signed", "encrypted-secret"), ("unsigned", None)):
            connection.execute(text("INSERT INTO cyclestep (id, cycle_id, template_step_id, position, name, type, "
                                    "document, webhook_id, webhook_secret) VALUES (:id, 'y1', :id, 0, :id, "
                                    "'Webhook', '{}', :id, :secret)"), {"id": step, "secret": secret})
    engine.dispose()
    engine = make_engine(database_url)
    with Session(engine) as db:
        assert db.get(CycleStep, "signed").webhook_bare_signatures
        assert not db.get(CycleStep, "unsigned").webhook_bare_signatures
    engine.dispose()
