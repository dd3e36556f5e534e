"""Connectors and their releases."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from connectors import Connector as ConnectorSpec
from connectors import parse_connector
from store.tables import Connector, ConnectorRelease


def upload(db: Session, document: Any, draft: bool = False) -> tuple[Connector, ConnectorRelease]:
    """Validate and save a connector document (raises ConnectorInvalid, saving nothing).

    A new connector's first release is Live at once (a Draft with `draft`, for a document to
    review first, such as an imported one); a later upload replaces its Draft.
    """
    spec = parse_connector(document)
    connector = db.exec(select(Connector).where(Connector.name == spec.Name)).first()
    if connector is None:
        connector = Connector(name=spec.Name)
        db.add(connector)
        db.flush()
        release = ConnectorRelease(connector_id=connector.id, version=spec.Version, status="Draft" if draft else "Live",
                                   document=document)
    else:
        release = draft_release(db, connector.id) or ConnectorRelease(connector_id=connector.id,
                                                                      version=spec.Version, status="Draft",
                                                                      document=document)
        release.version, release.document = spec.Version, document
    db.add(release)
    db.commit()
    return connector, release


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


def release_by_name(db: Session, name: str, version: str | None = None) -> ConnectorRelease | None:
    """The live release of the connector called `name`, or its release `version`."""
    connector = db.exec(select(Connector).where(Connector.name == name)).first()
    if connector is None:
        return None
    if version is None:
        return live_release(db, connector.id)
    return db.exec(
        select(ConnectorRelease).where(
            ConnectorRelease.connector_id == connector.id, ConnectorRelease.version == version
        )
    ).first()


def spec_of(release: ConnectorRelease) -> ConnectorSpec:
    return parse_connector(release.document)
