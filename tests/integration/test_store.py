"""The store against SQLite and, where CI provides one, a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from store import connectors, cycles, runs, templates
from store.crypto import decrypt, encrypt, encrypt_json
from store.database import make_engine
from store.tables import Account, AccountConnector, Transaction
from tests.walkthrough import catalog_document

POSTGRES = os.environ.get("CYCLEWRIGHT_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Iterator[Session]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        with Session(engine) as session:
            yield session
        return
    if not POSTGRES:
        pytest.skip("CYCLEWRIGHT_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    name = f"cyclewright_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(POSTGRES.rsplit("/", 1)[0] + f"/{name}")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name}"))


def test_connector_template_install_and_run_bookkeeping(db):
    crm, crm_release = connectors.upload(db, catalog_document("connectors", "demo-crm.json"))
    leads, _ = connectors.upload(db, catalog_document("connectors", "demo-leads.json"))
    assert crm_release.status == "Live"
    _, draft = connectors.upload(db, catalog_document("connectors", "demo-crm.json"))
    assert draft.status == "Draft" and connectors.live_release(db, crm.id).id == crm_release.id

    template = templates.create(db, catalog_document("templates", "crm-contacts-to-leads.json"))
    account = Account(name="Acme")
    db.add(account)
    for connector, secret in ((crm, "crm-key"), (leads, "leads-token")):
        db.add(AccountConnector(account_id=account.id, connector_id=connector.id,
                                release_id=connectors.live_release(db, connector.id).id, name=connector.name,
                                auth_value=encrypt(secret), properties=encrypt_json({"BaseUrl": "http://x"}),
                                authenticated=True))
    db.commit()
    cycle = cycles.install(db, template, account.id, None, {})
    assert [p.kind for p in cycles.prerequisites(db, cycle)] == ["FieldMapping"]  # Source is unmapped

    run = runs.open_run(db, cycle.id, 1, f"cycle-{cycle.id}-run-1")
    assert runs.open_run(db, cycle.id, 1, "again").id == run.id  # a retried activity finds it
    runs.save_errors(db, run.id, cycle.id, "step", {"1-0": "HTTP 400"})
    runs.save_errors(db, run.id, cycle.id, "step", {"1-0": "HTTP 400", "1-1": "HTTP 400"})
    assert db.query(Transaction).count() == 2
    runs.close_run(db, run.id, "Succeeded", 5, 2, warnings=["page 2 repeated page 1"])
    assert all(s.last_successful_run_at == run.started_at for s in cycles.steps(db, cycle.id))


def test_credentials_are_encrypted_at_rest(db):
    token = encrypt("super-secret")
    assert "super-secret" not in token and decrypt(token) == "super-secret"
