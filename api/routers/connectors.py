from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field, HttpUrl
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import Db
from api.errors import COMMON, ApiError, ErrorItem, not_found, responses
from connectors import Problem, connector_json_schema, ignored_properties, openapi
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


class ImportOut(ConnectorDocumentOut):
    Skipped: list[ErrorItem] = Field(description="what the OpenAPI document has that the connector does not: "
                                                 "where it is in the document (a JSON pointer), and why")


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


async def _body(request: Request) -> bytes:
    return await request.body()


_OPENAPI_BODY = {"requestBody": {"required": True, "description": "An OpenAPI 3.x or Swagger 2.0 document", "content": {
    "application/json": {"schema": {"type": "object"}},
    "application/yaml": {"schema": {"type": "string"}},
}}}


@router.post("/import/openapi", status_code=201, openapi_extra=_OPENAPI_BODY,
             summary="Import an OpenAPI document as a Draft connector (partner token)")
def import_openapi(
    db: Db, _: PartnerClaims, document: Annotated[bytes, Depends(_body)],
    baseUrl: Annotated[HttpUrl | None, Query(description="the API's base URL, instead of the document's server")] = None,
) -> ImportOut:
    """A connector made of the document, saved as a Draft to review and publish, with what could not be
    converted. A connector of the same name gets a new Draft (its Live release stays)."""
    try:
        imported = openapi.import_openapi(openapi.load(document), str(baseUrl) if baseUrl else None)
    except openapi.NotOpenApi as err:
        raise ApiError(422, "The document is not an OpenAPI 3.x or Swagger 2.0 document; nothing was saved.",
                       [Problem("$", str(err))]) from None
    connector, release = store.upload(db, imported.document, draft=True)
    skipped = [ErrorItem(Path=p.path, Message=p.message) for p in imported.skipped]
    return ImportOut(**view(connector, release).model_dump(), Document=release.document, Skipped=skipped)


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
