from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import CurrentAccount, Db
from api.errors import not_found
from api.routers.cycles import view as cycle_view
from store import cycles, templates, text
from store.tables import Template

router = APIRouter(prefix="/v1.0/templates", tags=["templates"])


class InstallIn(BaseModel):
    Name: text.Name | None = None
    AccountConnectors: dict[text.Name, text.Name] = Field(default={}, description="step id -> account connector id")


def view(template: Template) -> dict:
    return {"Id": template.id, "Name": template.name, "Version": template.version}


@router.post("", status_code=201)
def create_template(db: Db, _: PartnerClaims, document: Annotated[Any, Body()]) -> dict:
    return view(templates.create(db, document))


@router.get("")
def list_templates(db: Db, _: Claims) -> list[dict]:
    return [view(t) for t in db.exec(select(Template).order_by(Template.created_at))]


def _get(db: Db, template_id: str) -> Template:
    template = db.get(Template, template_id)
    if template is None:
        raise not_found("template", template_id)
    return template


@router.get("/{template_id}")
def get_template(template_id: str, db: Db, _: Claims) -> dict:
    template = _get(db, template_id)
    return {**view(template), "Steps": template.document["Steps"]}


@router.get("/{template_id}/export")
def export_template(template_id: str, db: Db, _: Claims) -> dict:
    return _get(db, template_id).document


@router.post("/{template_id}/install", status_code=201)
def install_template(template_id: str, account: CurrentAccount, db: Db, body: InstallIn | None = None) -> dict:
    body = body or InstallIn()
    cycle = cycles.install(db, _get(db, template_id), account.id, body.Name, body.AccountConnectors)
    return cycle_view(db, cycle)
