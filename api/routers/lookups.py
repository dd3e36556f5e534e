"""Lookups on an account connector: a trigger's values, and the custom fields of a method.

Both call methods the way data on demand does (connector_calls.Caller): the account
connector's credentials, its shared rate limits, the egress policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Claims
from api.dependencies import AccountHeader, CurrentAccount, Db, found
from api.errors import COMMON, ApiError, ErrorItem, not_found, responses
from api.routers.connector_calls import Caller, load_caller, method_of
from connectors import FieldSpec
from connectors.lookups import (
    FormatKind,
    custom_fields,
    lookup_methods,
    trigger_reader,
    trigger_values,
)
from store import custom_fields as custom_field_store
from store.connections import load_release
from store.database import session
from store.tables import AccountConnector, CustomFieldSet

router = APIRouter(prefix="/v1.0/account/connectors", tags=["account connectors"], responses=responses(*COMMON))


class TriggerIn(BaseModel):
    Parameters: dict[str, str] = Field(default={}, description="values for the trigger method's own parameters")


class TriggerValueOut(BaseModel):
    Value: str = Field(description="what a mapping of a parameter or field with this TriggerName sets")
    Name: str | None = Field(description="its label, to choose by")


class CustomFieldsOut(BaseModel):
    Method: str
    RequestFields: list[FieldSpec] = Field(description="fields a mapping may fill, sent in the request body")
    ResponseFields: list[FieldSpec] = Field(description="fields read from the response into the step's record")
    Skipped: list[ErrorItem] = Field(description="descriptions the lookups gave that make no field, each with why")
    RefreshedAt: datetime | None = Field(description="when the lookups last ran; null: never")


@router.post("/{id}/triggers/{name}", summary="A trigger's values: what a parameter or field with its "
             "TriggerName may take", responses=responses(429, 502))
async def trigger(id: str, name: str, request: Request, claims: Claims, account_id: AccountHeader,
                  body: TriggerIn | None = None) -> list[TriggerValueOut]:
    caller = await load_caller(claims, account_id, id)
    try:
        reader, method = trigger_reader(caller.connector, name)
    except KeyError:
        raise not_found(f"trigger of '{caller.connector.Name}'", name) from None
    pages = await dataclasses.replace(caller, connector=reader).fetch(
        request, method, parameters=(body or TriggerIn()).Parameters)
    return [TriggerValueOut(**value) for value in trigger_values(pages.records)]


@router.post("/{id}/methods/{method}/customfields", summary="Run a method's custom-fields lookups and keep "
             "the fields they describe for this account connector",
             responses=responses(429, 502))
async def refresh_custom_fields(id: str, method: str, request: Request, claims: Claims,
                                account_id: AccountHeader) -> CustomFieldsOut:
    caller = await load_caller(claims, account_id, id)
    lookups = lookup_methods(caller.connector.method(method_of(caller.connector, method)))
    if not lookups:
        raise ApiError(422, f"method '{method}' has no custom-fields lookup: neither its RequestFormat nor its "
                            "ResponseFormat names a CustomFieldsLookupMethod")
    records = {lookup: (await caller.fetch(request, lookup)).records for lookup in set(lookups.values())}
    found_by_kind = {kind: records[lookup] for kind, lookup in lookups.items()}
    return view(await run_in_threadpool(_save, caller, method, found_by_kind))


def _save(caller: Caller, method: str, records: Mapping[FormatKind, Sequence[Mapping[str, Any]]]) -> CustomFieldSet:
    """The fields the records describe, against the release's own fields (not those found before)."""
    with session() as db:
        own = load_release(db, caller.row.release_id).method(method)
        fields, skipped = {}, []
        for kind, described in records.items():
            fields[kind], problems = custom_fields(own, kind, described)
            skipped += problems
        return custom_field_store.save(db, caller.row.id, method, fields, skipped)


@router.get("/{id}/methods/{method}/customfields", summary="The custom fields a method has for this account "
            "connector")
def get_custom_fields(id: str, method: str, account: CurrentAccount, db: Db) -> CustomFieldsOut:
    row = found(db, AccountConnector, id, "account connector", account_id=account.id)
    method_of(load_release(db, row.release_id), method)
    saved = custom_field_store.get(db, row.id, method)
    return view(saved) if saved else CustomFieldsOut(Method=method, RequestFields=[], ResponseFields=[],
                                                     Skipped=[], RefreshedAt=None)


def view(row: CustomFieldSet) -> CustomFieldsOut:
    fields = custom_field_store.fields_of(row)
    return CustomFieldsOut(Method=row.method, RequestFields=fields.get("RequestFormat", []),
                           ResponseFields=fields.get("ResponseFormat", []),
                           Skipped=[ErrorItem(**p) for p in row.skipped], RefreshedAt=row.refreshed_at)
