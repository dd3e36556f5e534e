from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import Db
from api.errors import not_found
from connectors import connector_json_schema
from store import connectors as store
from store.tables import Connector, ConnectorRelease

router = APIRouter(prefix="/v1.0/connectors", tags=["connectors"])


def view(connector: Connector, release: ConnectorRelease) -> dict:
    document = release.document
    return {"Id": connector.id, "Name": connector.name, "Version": release.version,
            "ReleaseStatus": release.status, "Description": document.get("Description", "")}


@router.get("/schema")
def schema(_: Claims) -> dict:
    return connector_json_schema()


@router.post("", status_code=201)
def upload_connector(db: Db, _: PartnerClaims, document: Annotated[Any, Body()]) -> dict:
    connector, release = store.upload(db, document)
    return view(connector, release)


@router.get("")
def list_connectors(db: Db, _: Claims) -> list[dict]:
    found = []
    for connector in db.exec(select(Connector).order_by(Connector.name)):
        release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
        found.append(view(connector, release))
    return found


@router.get("/{connector_id}")
def get_connector(connector_id: str, db: Db, _: PartnerClaims) -> dict:
    connector = db.get(Connector, connector_id)
    if connector is None:
        raise not_found("connector", connector_id)
    release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
    return {**view(connector, release), "Document": release.document}


@router.get("/{connector_id}/methods")
def list_methods(connector_id: str, db: Db, _: Claims) -> list[dict]:
    release = store.live_release(db, connector_id)
    if release is None:
        raise not_found("connector", connector_id)
    return [
        {"UniqueIdentifier": m.UniqueIdentifier, "Name": m.Name, "Category": m.Category,
         "MethodType": m.MethodType, "Description": m.Description}
        for m in store.spec_of(release).Methods
    ]
