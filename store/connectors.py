"""Connectors and their releases: at most one Draft and one Live each, any number Deprecated.

Each upload is a release row of its own, so a release id always names one document (and
what a process parsed of it never goes stale). Publishing is in store/releases.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors import Connector as ConnectorSpec
from connectors import Problem, load_connector, parse_connector
from store.problems import Conflict
from store.tables import (
    AccountConnector,
    AgentTools,
    Connector,
    ConnectorRelease,
    ConnectorWebhook,
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
    return published_release(db, connector.id, version)


def published_release(db: Session, connector_id: str, version: str) -> ConnectorRelease | None:
    """The connector's Live or Deprecated release `version` (never its Draft)."""
    return db.exec(
        select(ConnectorRelease).where(
            ConnectorRelease.connector_id == connector_id, ConnectorRelease.version == version,
            ConnectorRelease.status != "Draft",
        )
    ).first()


def spec_of(release: ConnectorRelease) -> ConnectorSpec:
    return load_connector(release.document)


def delete_connector(db: Session, connector: Connector) -> None:
    """Delete the connector, its releases and its account connectors; refused (Conflict, naming
    them) while a cycle has a step on any of its releases."""
    release_ids = select(ConnectorRelease.id).where(ConnectorRelease.connector_id == connector.id)
    refuse_while_cycles(db, _stepping(col(CycleStep.release_id).in_(release_ids)),
                        lambda n: f"connector '{connector.name}' is used by {n} cycle(s): delete them first", "uses it")
    delete_account_connectors(db, AccountConnector.connector_id == connector.id)
    db.execute(delete(ConnectorWebhook).where(ConnectorWebhook.connector_id == connector.id))
    db.execute(delete(AgentTools).where(AgentTools.connector_id == connector.id))
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
    refuse_while_cycles(db, _stepping(CycleStep.account_connector_id == account_connector.id),
                        lambda n: f"account connector '{account_connector.name}' is used by {n} cycle(s): "
                                  "delete them first", "uses it")
    delete_account_connectors(db, AccountConnector.id == account_connector.id)
    db.commit()


def _stepping(steps: ColumnElement[bool]) -> ColumnElement[bool]:
    """The cycles with a step that `steps` selects."""
    return col(Cycle.id).in_(select(CycleStep.cycle_id).where(steps))


def refuse_while_cycles(db: Session, which: ColumnElement[bool], message: Callable[[int], str],
                        reason: str) -> None:
    """Conflict when cycles `which` selects exist: `message` for their count, and each cycle
    named with `reason` ("cycle 'X' <reason>")."""
    using = db.exec(select(Cycle).where(which).order_by(Cycle.name)).all()
    if using:
        raise Conflict(message(len(using)),
                       [Problem(f"cycles/{c.id}", f"cycle '{c.name}' {reason}") for c in using])
