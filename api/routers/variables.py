"""Cycle and account variables, and what Storage steps keep (read only)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import AfterValidator, BaseModel
from sqlmodel import Session

from api.dependencies import CurrentAccount, Db, found
from api.errors import COMMON, not_found, responses
from store import storage, text, variables
from store.tables import Cycle

router = APIRouter(tags=["variables and storage"], responses=responses(*COMMON))
CYCLE = "/v1.0/cycles/{cycle_id}"
ACCOUNT = "/v1.0/account"


def _variable_name(name: str) -> str:
    # Variables are mergefield names ({{Name}}): an identifier, nothing that would end one.
    if not re.fullmatch(variables.NAME_PATTERN, name):
        raise ValueError(f"'{name}' is not a variable name: letters, digits and _, not starting with a digit")
    return name


# The pattern is documented; the validator refuses a name with a message that names it.
VariableName = Annotated[text.Name, AfterValidator(_variable_name),
                         Path(json_schema_extra={"pattern": variables.NAME_PATTERN})]


class VariableIn(BaseModel):
    Value: text.Value


class VariableOut(BaseModel):
    Name: str
    Value: str


class StorageItemOut(BaseModel):
    Key: str
    Value: Any


def _cycle(db: Session, account_id: str, cycle_id: str) -> str:
    """The cycle's id, if the cycle is the account's (404 otherwise)."""
    return found(db, Cycle, cycle_id, "cycle", account_id=account_id).id


def _list(db: Session, owner_id: str) -> list[VariableOut]:
    return [VariableOut(Name=n, Value=v) for n, v in variables.listing(db, owner_id).items()]


def _put(db: Session, owner_id: str, name: str, body: VariableIn) -> VariableOut:
    variables.put(db, owner_id, name, body.Value)
    return VariableOut(Name=name, Value=body.Value)


def _delete(db: Session, owner_id: str, name: str) -> None:
    if not variables.delete(db, owner_id, name):
        raise not_found("variable", name)


def _storage(db: Session, scope_id: str) -> list[StorageItemOut]:
    return [StorageItemOut(Key=k, Value=v) for k, v in storage.listing(db, scope_id).items()]


@router.get(f"{CYCLE}/variables", summary="The cycle's variables (they override the account's)")
def list_cycle_variables(cycle_id: str, account: CurrentAccount, db: Db) -> list[VariableOut]:
    return _list(db, _cycle(db, account.id, cycle_id))


@router.put(f"{CYCLE}/variables/{{name}}", summary="Set a cycle variable")
def put_cycle_variable(cycle_id: str, name: VariableName, body: VariableIn, account: CurrentAccount,
                       db: Db) -> VariableOut:
    return _put(db, _cycle(db, account.id, cycle_id), name, body)


@router.delete(f"{CYCLE}/variables/{{name}}", status_code=204, summary="Delete a cycle variable")
def delete_cycle_variable(cycle_id: str, name: VariableName, account: CurrentAccount, db: Db) -> None:
    _delete(db, _cycle(db, account.id, cycle_id), name)


@router.get(f"{CYCLE}/storage", summary="What the cycle's Storage steps keep")
def cycle_storage(cycle_id: str, account: CurrentAccount, db: Db) -> list[StorageItemOut]:
    return _storage(db, _cycle(db, account.id, cycle_id))


@router.get(f"{ACCOUNT}/variables", summary="The account's variables (for every cycle of the account)")
def list_account_variables(account: CurrentAccount, db: Db) -> list[VariableOut]:
    return _list(db, account.id)


@router.put(f"{ACCOUNT}/variables/{{name}}", summary="Set an account variable")
def put_account_variable(name: VariableName, body: VariableIn, account: CurrentAccount, db: Db) -> VariableOut:
    return _put(db, account.id, name, body)


@router.delete(f"{ACCOUNT}/variables/{{name}}", status_code=204, summary="Delete an account variable")
def delete_account_variable(name: VariableName, account: CurrentAccount, db: Db) -> None:
    _delete(db, account.id, name)


@router.get(f"{ACCOUNT}/storage", summary="What Storage steps keep in the account's scope")
def account_storage(account: CurrentAccount, db: Db) -> list[StorageItemOut]:
    return _storage(db, account.id)
