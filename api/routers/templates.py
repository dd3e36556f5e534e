from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import CurrentAccount, Db, found
from api.errors import COMMON, ApiError, responses
from api.routers.cycles import CycleOut
from api.routers.cycles import view as cycle_view
from store import cycles, templates, text
from store.tables import Template
from store.template_spec import StepSpec, TemplateSpec

router = APIRouter(prefix="/v1.0/templates", tags=["templates"], responses=responses(*COMMON))
MAX_VERSION = 2**31 - 1  # what any database's integer column holds


class InstallIn(BaseModel):
    Name: text.Name | None = None
    AccountConnectors: dict[text.Name, text.Name] = Field(default={}, description="step id -> account connector id")


class TemplateOut(BaseModel):
    Id: str
    Name: str
    Version: int


class VersionOut(BaseModel):
    Version: int
    CreatedAt: datetime


class TemplateDetail(TemplateOut):
    Steps: list[StepSpec]


def view(template: Template) -> TemplateOut:
    return TemplateOut(Id=template.id, Name=template.name, Version=template.version)


@router.post("", status_code=201, summary="Create a template (partner token)")
def create_template(db: Db, _: PartnerClaims, document: Annotated[TemplateSpec, Body()]) -> TemplateOut:
    return view(templates.create(db, document))


@router.get("", summary="List templates")
def list_templates(db: Db, _: Claims) -> list[TemplateOut]:
    return [view(t) for t in db.exec(select(Template).order_by(Template.created_at))]


def _get(db: Db, template_id: str) -> Template:
    return found(db, Template, template_id, "template")


@router.get("/{template_id}", summary="Read a template and its steps")
def get_template(template_id: str, db: Db, _: Claims) -> TemplateDetail:
    template = _get(db, template_id)
    return TemplateDetail(**view(template).model_dump(), Steps=template.document["Steps"])


@router.put("/{template_id}", summary="Upload a new version of a template (partner token)")
def update_template(template_id: str, db: Db, _: PartnerClaims, document: Annotated[TemplateSpec, Body()]) -> TemplateOut:
    """The document becomes the template's next version: installing uses it from now on; cycles
    installed before keep their version (and show that an update is available)."""
    return view(templates.new_version(db, _get(db, template_id), document))


@router.delete("/{template_id}", status_code=204, responses=responses(409),
               summary="Delete a template no cycle was installed from, with its versions (partner token)")
def delete_template(template_id: str, db: Db, _: PartnerClaims) -> None:
    templates.delete(db, _get(db, template_id))


@router.get("/{template_id}/versions", summary="The template's versions, oldest first")
def list_versions(template_id: str, db: Db, _: Claims) -> list[VersionOut]:
    return [VersionOut(Version=v.version, CreatedAt=v.created_at) for v in templates.versions(db, _get(db, template_id))]


@router.get("/{template_id}/export", summary="The template's document, as it was uploaded",
            response_model=TemplateSpec, response_model_exclude_none=True)
def export_template(template_id: str, db: Db, _: Claims,
                    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION,
                                                        description="a version; the latest by default")] = None,
                    ) -> JSONResponse:
    """Exactly the document saved (as validated): importing it (`POST /v1.0/templates`) and
    exporting again gives the same JSON."""
    template = _get(db, template_id)
    document = templates.version_document(db, template, template.version if version is None else version)
    if document is None:
        raise ApiError(404, f"template '{template_id}' has no version {version}")
    return JSONResponse(document)


@router.post("/{template_id}/install", status_code=201, summary="Install a template into the account as a cycle")
def install_template(template_id: str, account: CurrentAccount, db: Db, body: InstallIn | None = None) -> CycleOut:
    body = body or InstallIn()
    cycle = cycles.install(db, _get(db, template_id), account.id, body.Name, body.AccountConnectors)
    return cycle_view(db, cycle)
