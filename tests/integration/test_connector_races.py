"""Two uploads or publishes of one connector at once: the database's indexes keep one
connector, one Draft and one Live; the request that lost answers 409 (Conflict) and saves
nothing. Each race is made to happen: the rival request runs to its commit just before this
one writes (a before_flush hook), after this one read what it decides on."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store import connectors, releases
from store.problems import Conflict
from store.tables import Connector, ConnectorRelease
from tests.walkthrough import catalog_document


def _document(version: str) -> dict:
    return copy.deepcopy(catalog_document("connectors", "demo-crm.json")) | {"Name": "Raced CRM", "Version": version}


def _rival_writes_first(db: Session, rival: Callable[[], object]) -> list[str]:
    """Runs `rival` (in a session of its own) as `db` first writes; returns what happened."""
    happened: list[str] = []

    @event.listens_for(db, "before_flush")
    def _rival(*_) -> None:
        if not happened:
            rival()
            happened.append("rival committed")
    return happened


def _statuses(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as db:
        return sorted(db.exec(select(ConnectorRelease.version, ConnectorRelease.status)).all())


def _upload_as_a_rival_uploads(engine: Engine, mine: str, theirs: str) -> None:
    """Uploads version `mine` while a rival uploads `theirs`, committing first: this one loses."""
    def rival() -> None:
        with Session(engine) as other:
            connectors.upload(other, _document(theirs))

    with Session(engine) as db:
        happened = _rival_writes_first(db, rival)
        with pytest.raises(Conflict, match="connector 'Raced CRM' was changed by another request at the same time; "
                                           "nothing was saved"):
            connectors.upload(db, _document(mine))
    assert happened == ["rival committed"]


def test_two_first_uploads_at_once_make_one_connector(engine):
    _upload_as_a_rival_uploads(engine, mine="1.0-mine", theirs="1.0")
    with Session(engine) as db:
        assert len(db.exec(select(Connector)).all()) == 1
    assert _statuses(engine) == [("1.0", "Live")]


def test_two_drafts_uploaded_at_once_leave_one_draft(engine):
    with Session(engine) as db:
        connectors.upload(db, _document("1.0"))
    _upload_as_a_rival_uploads(engine, mine="2.0-mine", theirs="2.0-theirs")
    assert _statuses(engine) == [("1.0", "Live"), ("2.0-theirs", "Draft")]


def test_replacing_drafts_and_publishing_alone_never_trip_the_index(engine):
    """Replacing a Draft deletes the old one before writing the new: one request alone never trips the index."""
    with Session(engine) as db:
        for version in ("1.0", "2.0", "2.1", "2.2"):
            connectors.upload(db, _document(version))
        connector = db.exec(select(Connector)).one()
        releases.publish(db, connector, major=False)
    assert _statuses(engine) == [("1.0", "Deprecated"), ("2.2", "Live")]
