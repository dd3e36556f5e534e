"""Connectors and their releases: at most one Draft and one Live each, any number Deprecated.

Each upload is a release row of its own, so a release id always names one document (and
what a process parsed of it never goes stale). Publishing is in store/releases.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors import Connector as ConnectorSpec
from connectors import Problem, parse_connector
from store.problems import Conflict
from store.tables import (
    AccountConnector,
    Connector,
    ConnectorRelease,
    CustomFieldSet,
    Cycle,
    CycleStep,
    OAuthState,
)


def upload(db: Session, document: Any, *, draft: bool = False) -> tuple[Connector, ConnectorRelease]:
    """Validate and save a connector document (raises ConnectorInvalid, saving nothing).

    A new connector's first release is Live at once, unless `draft` (an import, to be
    reviewed before it is published); a later upload is the connector's Draft, replacing
    the Draft it had.
    """
    spec = parse_connector(document)
    with at_once_refused(db, f"connector '{spec.Name}'"):
        connector = db.exec(select(Connector).where(Connector.name == spec.Name)).first()
        if connector is None:
            connector = Connector(name=spec.Name)
            db.add(connector)
            db.flush()
            status = "Draft" if draft else "Live"
        else:
            status = "Draft"
            replaced = draft_release(db, connector.id)
            if replaced is not None:  # nothing is bound to a Draft (see release_by_name)
                db.delete(replaced)
                db.flush()  # gone before its successor is written: one Draft at a time
        release = ConnectorRelease(connector_id=connector.id, version=spec.Version, status=status, document=document)
        db.add(release)
        db.commit()
    return connector, release


@contextmanager
def at_once_refused(db: Session, what: str) -> Iterator[None]:
    """Conflict when a concurrent request changed `what` first (the database's unique indexes
    say so); nothing of this one is saved."""
    try:
        yield
    except IntegrityError:
        db.rollback()
        raise Conflict(f"{what} was changed by another request at the same time; nothing was saved: "
                       "try again") from None


def draft_release(db: Session, connector_id: str) -> ConnectorRelease | None:
    return _release(db, connector_id, "Draft")


def live_release(db: Session, connector_id: str) -> ConnectorRelease | None:
    return _release(db, connector_id, "Live")


def _release(db: Session, connector_id: str, status: str) -> ConnectorRelease | None:
    return db.exec(
        select(ConnectorRelease).where(
            ConnectorRelease.connector_id == connector_id, ConnectorRelease.status == status
        )
    ).first()


def releases(db: Session, connector_id: str) -> list[ConnectorRelease]:
    """The connector's releases, oldest first."""
    return list(db.exec(select(ConnectorRelease).where(ConnectorRelease.connector_id == connector_id)
                        .order_by(ConnectorRelease.created_at)))


def release_by_name(db: Session, name: str, version: str | None = None) -> ConnectorRelease | None:
    """The live release of the connector called `name`, or its published release `version`.

    Templates and cycles bind only to published releases: a Draft is replaced by the next
    upload, and may carry a version that a published release has too."""
    connector = db.exec(select(Connector).where(Connector.name == name)).first()
    if connector is None:
        return None
    if version is None:
        return live_release(db, connector.id)
    return db.exec(
        select(ConnectorRelease).where(
            ConnectorRelease.connector_id == connector.id, ConnectorRelease.version == version,
            ConnectorRelease.status != "Draft",
        )
    ).first()


def spec_of(release: ConnectorRelease) -> ConnectorSpec:
    return parse_connector(release.document)


def delete_connector(db: Session, connector: Connector) -> None:
    """Delete the connector, its releases and its account connectors; refused (Conflict, naming
    them) while a cycle has a step on any of its releases."""
    release_ids = select(ConnectorRelease.id).where(ConnectorRelease.connector_id == connector.id)
    _refuse_if_used(db, f"connector '{connector.name}'", col(CycleStep.release_id).in_(release_ids))
    delete_account_connectors(db, AccountConnector.connector_id == connector.id)
    db.execute(delete(ConnectorRelease).where(ConnectorRelease.connector_id == connector.id))
    db.delete(connector)
    db.commit()


def delete_account_connectors(db: Session, which: ColumnElement[bool]) -> None:
    """Delete the account connectors `which` selects, with their OAuth states and custom fields
    (no cycle step may still be bound to them)."""
    ids = select(AccountConnector.id).where(which)
    db.execute(delete(OAuthState).where(col(OAuthState.account_connector_id).in_(ids)))
    db.execute(delete(CustomFieldSet).where(col(CustomFieldSet.account_connector_id).in_(ids)))
    db.execute(delete(AccountConnector).where(which))


def uninstall(db: Session, account_connector: AccountConnector) -> None:
    """Delete one account connector; Conflict, naming them, while cycles have steps bound to it."""
    _refuse_if_used(db, f"account connector '{account_connector.name}'",
                    CycleStep.account_connector_id == account_connector.id)
    delete_account_connectors(db, AccountConnector.id == account_connector.id)
    db.commit()


def _refuse_if_used(db: Session, what: str, steps: ColumnElement[bool]) -> None:
    """Conflict, naming the cycles, when any cycle has a step that `steps` selects."""
    using = db.exec(select(Cycle).where(col(Cycle.id).in_(select(CycleStep.cycle_id).where(steps)))
                    .order_by(Cycle.name)).all()
    if using:
        raise Conflict(f"{what} is used by {len(using)} cycle(s): delete them first",
                       [Problem(f"cycles/{c.id}", f"cycle '{c.name}' uses it") for c in using])
