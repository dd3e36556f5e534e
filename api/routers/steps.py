from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.auth import Claims, PartnerClaims
from api.dependencies import CurrentAccount, Db
from api.errors import COMMON, ApiError, not_found, responses
from api.inbox import Inbox, inbox
from runtime.settings import settings
from store import cycles, step_fields, text
from store.crypto import encrypt
from store.tables import Cycle, CycleStep, FieldMapping
from store.template_spec import MappingSpec

router = APIRouter(prefix="/v1.0/steps", tags=["steps"], responses=responses(*COMMON))


class FieldMappingOut(MappingSpec):
    Field: str


class StepFieldOut(BaseModel):
    Label: str
    DataType: str
    IsOptional: bool = Field(description="the call works without it (optional, or with a default)")
    Values: list[str] = Field(description="the values it may take; empty: any")
    TriggerName: str | None = Field(description="its values are those of this trigger of the account connector "
                                                "(POST /v1.0/account/connectors/{id}/triggers/{name})")
    Description: str | None
    Custom: bool = Field(description="found by the account connector's custom-fields lookup")
    Mapping: MappingSpec | None = Field(description="how it is filled now; null: not mapped")
    UserConfigurable: bool = Field(description="the account may set its mapping (an account token's PUT)")
    # Last: the class body's name Field is pydantic's until here.
    Field: str = Field(description="the SystemField or parameter: PUT …/fieldmappings/{Field} maps it")


class StepFieldsOut(BaseModel):
    StepId: str
    AccountConnectorId: str | None = Field(description="the account connector the step calls")
    Method: str | None
    CustomFields: Literal["None", "NotLookedUp", "LookedUp"] = Field(
        description="NotLookedUp: the method has custom-fields lookups that have not run for the account connector "
                    "(POST …/account/connectors/{id}/methods/{method}/customfields runs them)")
    Fields: list[StepFieldOut]


def view(m: FieldMapping) -> FieldMappingOut:
    return FieldMappingOut.model_construct(Field=m.field, **MappingSpec.model_validate(m.mapping).model_dump())


def _get(db: Db, account_id: str, step_id: str) -> CycleStep:
    step = db.get(CycleStep, step_id)
    if step is None or db.get(Cycle, step.cycle_id).account_id != account_id:
        raise not_found("step", step_id)
    return step


@router.get("/{step_id}/fields", summary="The fields a step's method takes, their mappings, and which the "
            "account may set")
def list_fields(step_id: str, account: CurrentAccount, db: Db) -> StepFieldsOut:
    step = _get(db, account.id, step_id)
    found = step_fields.step_fields(db, step)
    return StepFieldsOut(
        StepId=step.id, AccountConnectorId=found.account_connector_id, Method=found.method,
        CustomFields=found.custom_fields,
        Fields=[StepFieldOut(Field=f.field, Label=f.label, DataType=f.data_type, IsOptional=f.optional,
                             Values=f.values, TriggerName=f.trigger_name, Description=f.description, Custom=f.custom,
                             Mapping=MappingSpec.model_validate(f.mapping) if f.mapping else None,
                             UserConfigurable=f.user_configurable) for f in found.fields])


@router.get("/{step_id}/fieldmappings", summary="A step's field mappings", response_model_exclude_none=True)
def list_mappings(step_id: str, account: CurrentAccount, db: Db) -> list[FieldMappingOut]:
    return [view(m) for m in cycles.mappings(db, _get(db, account.id, step_id).id)]


@router.put("/{step_id}/fieldmappings/{field}", summary="Set how a step's field gets its value",
            description="With an account token, only a mapping the template marked UserConfigurable.",
            response_model_exclude_none=True)
def set_mapping(step_id: str, field: Annotated[text.Name, Path(description="the SystemField or parameter")],
                body: MappingSpec, account: CurrentAccount, claims: Claims, db: Db) -> FieldMappingOut:
    step = _get(db, account.id, step_id)
    return view(cycles.set_mapping(db, step, field, body, by_account="account" in claims))


@router.delete("/{step_id}/fieldmappings/{field}", status_code=204,
               summary="Remove a step's mapping of a field (partner token)",
               description="What an upgrade to a release whose method lacks the field needs.")
def delete_mapping(step_id: str, field: Annotated[text.Name, Path(description="the SystemField or parameter")],
                   account: CurrentAccount, _: PartnerClaims, db: Db) -> None:
    if not cycles.delete_mapping(db, _get(db, account.id, step_id), field):
        raise not_found("field mapping", field)


class WebhookIn(BaseModel):
    Secret: text.Secret | None = Field(
        description="events must carry X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> "
                    "with this secret, each taken once within the tolerance window; null: no signature is checked")
    BareSignatures: bool = Field(
        default=False, description="also take the bare X-Signature, the hex HMAC-SHA256 of the body alone: "
                                   "weaker, as a captured request can be posted again")


class WebhookOut(BaseModel):
    WebhookUrl: str
    Signed: bool = Field(description="events must be signed")
    BareSignatures: bool = Field(description="the bare (untimestamped) signature is taken too")


@router.put("/{step_id}/webhook", summary="Set (or clear) the secret a Webhook step's events are signed with")
def set_webhook_secret(step_id: str, body: WebhookIn, account: CurrentAccount, db: Db,
                       box: Annotated[Inbox, Depends(inbox)]) -> WebhookOut:
    step = _get(db, account.id, step_id)
    if step.webhook_id is None:
        raise ApiError(422, f"step '{step.name}' is a {step.type}, not a Webhook")
    step.webhook_secret = encrypt(body.Secret) if body.Secret else None
    step.webhook_bare_signatures = body.BareSignatures and body.Secret is not None
    db.commit()
    box.forget(step.webhook_id)
    return WebhookOut(WebhookUrl=settings().webhook_url(step.webhook_id), Signed=body.Secret is not None,
                      BareSignatures=step.webhook_bare_signatures)
