from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, HttpUrl
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import TEMPORAL_TIMEOUT, Db, Temporal, found, release
from api.errors import COMMON, ApiError, ErrorItem, not_found, responses
from connectors import Problem, connector_json_schema, ignored_properties, openapi
from runtime.settings import TASK_QUEUE
from store import connectors as store
from store import imports, releases
from store.problems import Invalid
from store.tables import Connector, ConnectorRelease, OpenApiImport
from workflows.imports import ImportWorkflow

router = APIRouter(prefix="/v1.0/connectors", tags=["connectors"], responses=responses(*COMMON))


Status = Literal["Draft", "Live", "Deprecated"]


class ConnectorOut(BaseModel):
    Id: str
    Name: str
    Version: str = Field(description="the version of the release shown: the Live one, else the Draft")
    ReleaseStatus: Status
    ReleaseId: str
    Description: str


class ReleaseOut(BaseModel):
    Id: str
    Version: str
    ReleaseStatus: Status
    CreatedAt: datetime


class PublishIn(BaseModel):
    Major: bool = Field(description="true: cycles stay on the release they use, flagged until upgraded; "
                                    "false: they move to the new release (refused if that breaks one)")


class UploadOut(ConnectorOut):
    Ignored: list[ErrorItem] = Field(description="Cyclr properties the document carries that Cyclewright "
                                                 "does not use: accepted and left out")


class ConnectorDocumentOut(ConnectorOut):
    Document: dict[str, Any] = Field(description="the connector JSON of this release")


class ImportOut(BaseModel):
    """An OpenAPI import, as far as it got."""

    Id: str
    Status: Literal["Running", "Succeeded", "Failed"]
    Operations: int | None = Field(description="the document's operations, once it is read")
    Converted: int = Field(description="operations made methods so far")
    ConnectorId: str | None = Field(description="once Succeeded: the connector, whose Draft release it made")
    ReleaseId: str | None
    Message: str | None = Field(description="once Failed: why (nothing was saved)")
    Errors: list[ErrorItem] = Field(description="once Failed: each problem, where it is")
    Skipped: list[ErrorItem] = Field(description="once Succeeded: what the document has that the connector does "
                                                 "not: where it is in the document (a JSON pointer), and why")
    CreatedAt: datetime
    FinishedAt: datetime | None


class MethodOut(BaseModel):
    UniqueIdentifier: str
    Name: str
    Category: str
    MethodType: Literal["Action", "Webhook"]
    Description: str


class AuthenticationOut(BaseModel):
    Name: str
    AuthType: Literal["None", "ApiKey", "Basic", "Bearer", "OAuth2"]
    OAuth2Type: Literal["AuthorisationCode", "ClientCredentials", "PasswordCredentials"] | None
    ApiKeyLocation: Literal["Header", "QueryString", "Body"] | None
    ApiKeyName: str | None
    Scopes: list[str]
    IsDefault: bool


class PropertyOut(BaseModel):
    Name: str
    Description: str | None
    DataType: str | None
    IsOptional: bool = Field(description="an account connector works without it (it is optional or has a default)")
    IsSensitive: bool
    DefaultValue: str | None
    Values: list[str] = Field(description="the values it may take; empty: any")


class ConnectorAuthenticationOut(BaseModel):
    """What an account connector of the connector needs: the form a UI shows to install one."""

    ConnectorId: str
    Name: str
    Description: str
    Authentications: list[AuthenticationOut] = Field(description="AuthenticationId names one; the IsDefault one "
                                                                 "otherwise")
    Properties: list[PropertyOut] = Field(description="its account connector properties")
    Verified: bool = Field(description="credentials are tested (its AuthTestMethod) before they are saved")


def view(connector: Connector, release: ConnectorRelease) -> ConnectorOut:
    return ConnectorOut(Id=connector.id, Name=connector.name, Version=release.version, ReleaseStatus=release.status,
                        ReleaseId=release.id, Description=str(release.document.get("Description") or ""))


def _get(db: Db, connector_id: str) -> Connector:
    return found(db, Connector, connector_id, "connector")


@router.get("/schema", summary="The connector format as JSON Schema")
def schema(_: Claims) -> dict[str, Any]:
    return connector_json_schema()


@router.post("", status_code=201, summary="Upload a connector document (partner token)",
             description="A new connector's first upload is Live at once; a later one is its Draft, "
                         "replacing the Draft it had. The answer is the release the upload made.")
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


class ImportQuery(BaseModel):
    """What the partner chooses at import: where the API is, and an authentication."""

    baseUrl: HttpUrl | None = Field(None, description="the BaseUrl property's default, instead of the "
                                                      "document's first server")
    authType: Literal["None", "ApiKey", "Basic", "Bearer", "OAuth2"] | None = Field(
        None, description="an authentication, the connector's default (before any the document declares): "
                          "for a document that declares none, GitHub's say")
    apiKeyName: str | None = Field(None, description="ApiKey: the header or query parameter")
    apiKeyLocation: Literal["Header", "QueryString", "Body"] | None = None
    oauth2Type: Literal["AuthorisationCode", "ClientCredentials", "PasswordCredentials"] | None = None
    authoriseUrl: str | None = None
    accessTokenUrl: str | None = None
    scope: list[str] = Field(default_factory=list, description="OAuth2 scopes, one each")

    # Each choice's Authentication property (the connector format's name).
    PROPERTIES: ClassVar[dict[str, str]] = {
        "authType": "AuthType", "apiKeyName": "ApiKeyName", "apiKeyLocation": "ApiKeyLocation",
        "oauth2Type": "OAuth2Type", "authoriseUrl": "AuthoriseUrl", "accessTokenUrl": "AccessTokenUrl",
        "scope": "Scopes"}

    def options(self) -> openapi.Options:
        """The import's options; 422 naming the query parameter when the authentication cannot be."""
        chosen = {self.PROPERTIES[k]: v for k, v in self.model_dump(exclude_defaults=True).items()
                  if k in self.PROPERTIES}
        if chosen and "AuthType" not in chosen:
            raise ApiError(422, "Choose the authentication's authType too; nothing was saved.",
                           [Problem("query:authType", "is required with " + ", ".join(sorted(
                               k for k, v in self.PROPERTIES.items() if v in chosen)))])
        if problems := openapi.authentication_problems(chosen) if chosen else []:
            names = {v: k for k, v in self.PROPERTIES.items()}
            raise ApiError(422, "The authentication chosen cannot be used; nothing was saved.",
                           [Problem(f"query:{names.get(p.path.partition('[')[0], 'authType')}", p.message)
                            for p in problems])
        return openapi.Options(str(self.baseUrl) if self.baseUrl else None, chosen or None)


@router.post("/import/openapi", status_code=202, openapi_extra=_OPENAPI_BODY, responses=responses(503),
             summary="Import an OpenAPI document as a Draft connector, in the background (partner token)")
async def import_openapi(db: Db, _: PartnerClaims, document: Annotated[bytes, Depends(_body)],
                         query: Annotated[ImportQuery, Query()], client: Temporal, response: Response) -> ImportOut:
    """The import starts at once and is answered at once (202): poll `Location`
    (`GET /v1.0/connectors/imports/{id}`) for its progress and its outcome, a connector saved as
    a Draft to review and publish, with what could not be converted. A connector of the same name
    gets a new Draft (its Live release stays). Its endpoints start with the BaseUrl property, which
    an account connector may set (a sandbox, a region)."""
    options = query.options()
    if not document.strip():
        raise ApiError(422, "The body is empty: send an OpenAPI 3.x or Swagger 2.0 document.",
                       [Problem("$", "an OpenAPI document is required")])
    row = await run_in_threadpool(imports.create, db, document, options)
    await release(db)
    try:
        await client.start_workflow(ImportWorkflow.run, row.id, id=f"import-{row.id}", task_queue=TASK_QUEUE,
                                    rpc_timeout=TEMPORAL_TIMEOUT, static_summary=f"OpenAPI import {row.id}")
    except BaseException:
        await run_in_threadpool(imports.discard, db, row.id)  # not started: nothing accepted
        raise
    response.headers["Location"] = f"/v1.0/connectors/imports/{row.id}"
    return import_view(row)


@router.get("/imports/{import_id}", summary="An OpenAPI import: its progress, and what came of it (partner token)")
def get_import(import_id: str, db: Db, _: PartnerClaims) -> ImportOut:
    return import_view(found(db, OpenApiImport, import_id, "import"))


def import_view(row: OpenApiImport) -> ImportOut:
    outcome = imports.outcome(row, datetime.now(UTC))
    return ImportOut(Id=row.id, Status=outcome.status, Operations=row.operations, Converted=row.converted,
                     ConnectorId=row.connector_id, ReleaseId=row.release_id, Message=outcome.message,
                     Errors=[ErrorItem(**p) for p in row.problems], Skipped=[ErrorItem(**p) for p in row.skipped],
                     CreatedAt=row.created_at, FinishedAt=row.finished_at)


@router.get("", summary="List connectors")
def list_connectors(db: Db, _: Claims) -> list[ConnectorOut]:
    found = []
    for connector in db.exec(select(Connector).order_by(Connector.name)):
        release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
        found.append(view(connector, release))
    return found


@router.get("/{connector_id}", summary="Read a connector's document (partner token)")
def get_connector(connector_id: str, db: Db, _: PartnerClaims) -> ConnectorDocumentOut:
    connector = _get(db, connector_id)
    release = store.live_release(db, connector.id) or store.draft_release(db, connector.id)
    return ConnectorDocumentOut(**view(connector, release).model_dump(), Document=release.document)


@router.delete("/{connector_id}", status_code=204, responses=responses(409),
               summary="Delete a connector no cycle uses, with its releases and account connectors (partner token)")
def delete_connector(connector_id: str, db: Db, _: PartnerClaims) -> None:
    """409, naming the cycles, while a cycle has a step on any of its releases. Templates that
    name it are kept: installing one answers 422 until a connector of that name is uploaded."""
    store.delete_connector(db, _get(db, connector_id))


@router.get("/{connector_id}/releases", summary="A connector's releases, oldest first (partner token)")
def list_releases(connector_id: str, db: Db, _: PartnerClaims) -> list[ReleaseOut]:
    return [ReleaseOut(Id=r.id, Version=r.version, ReleaseStatus=r.status, CreatedAt=r.created_at)
            for r in store.releases(db, _get(db, connector_id).id)]


@router.post("/{connector_id}/releases/publish", responses=responses(409),
             summary="Make the Draft Live, and the Live release Deprecated (partner token)")
def publish(connector_id: str, body: PublishIn, db: Db, _: PartnerClaims) -> ConnectorOut:
    """409 when there is no Draft, or its Version is a published release's already (templates
    name releases by version). A Minor publish that would break a cycle's step (a method or a
    field a mapping uses is gone) answers 422 with each break; nothing is published then."""
    connector = _get(db, connector_id)
    try:
        return view(connector, releases.publish(db, connector, body.Major))
    except Invalid as err:
        raise ApiError(422, "A Minor publish would break these cycles: publish it as Major (they stay on "
                            "their release until upgraded), or change them first.", err.problems) from None


@router.get("/{connector_id}/authentication", summary="What an account connector of it needs: authentications "
            "and properties (the live release)")
def get_authentication(connector_id: str, db: Db, _: Claims) -> ConnectorAuthenticationOut:
    release = store.live_release(db, connector_id)
    if release is None:
        raise not_found("connector", connector_id)
    spec = store.spec_of(release)
    default = spec.default_authentication()
    return ConnectorAuthenticationOut(
        ConnectorId=connector_id, Name=spec.Name, Description=spec.Description, Verified=bool(spec.AuthTestMethod),
        Authentications=[AuthenticationOut(**a.model_dump(include=set(AuthenticationOut.model_fields) - {"IsDefault"}),
                                           IsDefault=a is default) for a in spec.Authentication],
        Properties=[PropertyOut(Name=p.Name, Description=p.Description, DataType=p.DataType, IsSensitive=p.IsSensitive,
                                IsOptional=p.IsOptional or p.DefaultValue is not None, DefaultValue=p.DefaultValue,
                                Values=p.Values) for p in spec.account_properties() if p.Name])


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
