from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import Db
from api.errors import COMMON, ErrorItem, not_found, responses
from connectors import connector_json_schema, ignored_properties
from store import connectors as store
from store.tables import Connector, ConnectorRelease

router = APIRouter(prefix="/v1.0/connectors", tags=["connectors"], responses=responses(*COMMON))


class ConnectorOut(BaseModel):
    Id: str
    Name: str
    Version: str
    ReleaseStatus: Literal["Draft", "Live", "Deprecated"]
    Description: str


class UploadOut(ConnectorOut):
    Ignored: list[ErrorItem] = Field(description="Cyclr properties the document carries that Cyclewright "
                                                 "does not use: accepted and left out")


class ConnectorDocumentOut(ConnectorOut):
    Document: dict[str, Any] = Field(description="the connector JSON of this release")


class MethodOut(BaseModel):
    UniqueIdentifier: str
    Name: str
    Category: str
    MethodType: Literal["Action", "Webhook"]
    Description: str


def view(connector: Connector, release: ConnectorRelease) -> ConnectorOut:
    return ConnectorOut(Id=connector.id, Name=connector.name, Version=release.version,
                        ReleaseStatus=release.status, Description=str(release.document.get("Description") or ""))


@router.get("/schema", summary="The connector format as JSON Schema")
def schema(_: Claims) -> dict[str, Any]:
    return connector_json_schema()


@router.post("", status_code=201, summary="Upload a connector document (partner token)")
def upload_connector(db: Db, _: PartnerClaims, document: Annotated[dict[str, Any], Body()]) -> UploadOut:
    connector, release = store.upload(db, document)
    ignored = [ErrorItem(Path=p.path, Message=p.message) for p in ignored_properties(document)]
    return UploadOut(**view(connector, release).model_dump(), Ignored=ignored)


@router.get("", summary="List connectors")
def list_connectors(db: Db, _: Claims) -> list[ConnectorOut]:
    found = []
    for connector in db.exec(select(Connector).order_by(Connector.name)):
        release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
        found.append(view(connector, release))
    return found


@router.get("/{connector_id}", summary="Read a connector's document (partner token)")
def get_connector(connector_id: str, db: Db, _: PartnerClaims) -> ConnectorDocumentOut:
    connector = db.get(Connector, connector_id)
    if connector is None:
        raise not_found("connector", connector_id)
    release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
    return ConnectorDocumentOut(**view(connector, release).model_dump(), Document=release.document)


@router.get("/{connector_id}/methods", summary="The methods of a connector's live release")
def list_methods(connector_id: str, db: Db, _: Claims) -> list[MethodOut]:
    release = store.live_release(db, connector_id)
    if release is None:
        raise not_found("connector", connector_id)
    return [
        MethodOut(UniqueIdentifier=m.UniqueIdentifier, Name=m.Name, Category=m.Category,
                  MethodType=m.MethodType, Description=m.Description)
        for m in store.spec_of(release).Methods
    ]
