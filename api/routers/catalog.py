"""The catalog of real vendors' connectors (connectors/catalog.py): listed, and installed by name."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import PartnerClaims
from api.dependencies import Db
from api.errors import COMMON, not_found, responses
from api.routers.connectors import ConnectorOut, view
from connectors import catalog
from store import connectors as store
from store.tables import Connector

router = APIRouter(prefix="/v1.0/catalog", tags=["catalog"], responses=responses(*COMMON))


class CatalogEntryOut(BaseModel):
    Name: str = Field(description="what installs it: POST /v1.0/catalog/{Name}/install")
    Connector: str = Field(description="the connector's name once installed")
    Version: str
    Description: str
    Authentication: list[str] = Field(description="each way to authenticate: AuthType, and OAuth2's grant")
    Paging: list[str] = Field(description="the paging styles of its paged methods")
    Methods: int
    InstalledId: str | None = Field(description="the installed connector's Id; null when not installed")


def _installed(db: Db, name: str) -> Connector | None:
    return db.exec(select(Connector).where(Connector.name == name)).first()


@router.get("", summary="The catalog's connectors, and which are installed (partner token)")
def list_catalog(db: Db, _: PartnerClaims) -> list[CatalogEntryOut]:
    found = []
    for entry in catalog.entries().values():
        installed = _installed(db, entry.connector.Name)
        found.append(CatalogEntryOut(
            Name=entry.name, Connector=entry.connector.Name, Version=entry.connector.Version,
            Description=entry.connector.Description, Authentication=entry.authentication, Paging=entry.paging,
            Methods=len(entry.connector.Methods), InstalledId=installed.id if installed else None))
    return found


@router.post("/{name}/install", status_code=201, responses=responses(404),
             summary="Install a catalog connector by name (partner token)")
def install(name: str, db: Db, _: PartnerClaims, response: Response) -> ConnectorOut:
    """201 with the release made: Live for a connector not installed yet, else a Draft to publish
    when the catalog's version differs. 200, changing nothing, when that version is there already."""
    entry = catalog.entry(name)
    if entry is None:
        raise not_found("catalog connector", name)
    installed = _installed(db, entry.connector.Name)
    if installed is not None:
        releases = [r for r in store.releases(db, installed.id) if r.version == entry.connector.Version]
        if releases:
            response.status_code = 200
            return view(installed, releases[-1])
    connector, release = store.upload(db, entry.document)
    return view(connector, release)
