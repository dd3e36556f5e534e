from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from sqlmodel import select

from api.auth import Claims, PartnerClaims
from api.dependencies import Db, forget_account
from api.errors import COMMON, not_found, responses
from store import accounts, text
from store.tables import Account

router = APIRouter(prefix="/v1.0/accounts", tags=["accounts"], responses=responses(*COMMON))

MAX_RETENTION_DAYS = 3650
# Fractional days are allowed (a test keeps runs for a fraction of a second); strict, so that
# "30" or true is refused rather than guessed at.
Retention = Annotated[float, Field(
    gt=0, le=MAX_RETENTION_DAYS, allow_inf_nan=False, strict=True,
    description="days runs and transactions are kept; null: the server's default (CYCLEWRIGHT_RETENTION_DAYS)",
)]


class AccountIn(BaseModel):
    Name: text.Name
    Timezone: text.Timezone = "UTC"
    RetentionDays: Retention | None = None


class AccountChange(BaseModel):
    """Only the properties sent change; `"RetentionDays": null` returns to the server's default."""

    Name: text.Name | None = None
    Timezone: text.Timezone | None = None
    RetentionDays: Retention | None = None

    @field_validator("Name", "Timezone", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for properties sent: an absent one keeps its value, a null one is a mistake.
        if value is None:
            raise ValueError("may not be null")
        return value


COLUMNS = {"Name": "name", "Timezone": "timezone", "RetentionDays": "retention_days"}


class AccountOut(BaseModel):
    Id: str
    Name: str
    Timezone: str
    RetentionDays: float | None
    CreatedDate: datetime


def view(account: Account) -> AccountOut:
    return AccountOut(Id=account.id, Name=account.name, Timezone=account.timezone,
                      RetentionDays=account.retention_days, CreatedDate=account.created_at)


@router.post("", status_code=201, summary="Create an account (partner token)")
def create_account(body: AccountIn, db: Db, _: PartnerClaims) -> AccountOut:
    account = Account(name=body.Name, timezone=body.Timezone, retention_days=body.RetentionDays)
    db.add(account)
    db.commit()
    return view(account)


@router.get("", summary="List accounts (an account token sees its own)")
def list_accounts(db: Db, claims: Claims) -> list[AccountOut]:
    query = select(Account).order_by(Account.created_at)
    if claims.get("account"):
        query = query.where(Account.id == claims["account"])
    return [view(a) for a in db.exec(query)]


def _get(db: Db, claims: dict, account_id: str) -> Account:
    account = db.get(Account, account_id)
    if account is None or claims.get("account") not in (None, account_id):
        raise not_found("account", account_id)
    return account


@router.get("/{account_id}", summary="Read an account")
def get_account(account_id: str, db: Db, claims: Claims) -> AccountOut:
    return view(_get(db, claims, account_id))


@router.put("/{account_id}", summary="Change an account's name, time zone or retention (partner token)")
def change_account(account_id: str, body: AccountChange, db: Db, claims: PartnerClaims) -> AccountOut:
    account = _get(db, claims, account_id)
    for name in body.model_fields_set:
        setattr(account, COLUMNS[name], getattr(body, name))
    db.commit()
    return view(account)


@router.delete("/{account_id}", status_code=204, responses=responses(409),
               summary="Delete an account without cycles, with its account connectors (partner token)")
def delete_account(account_id: str, db: Db, claims: PartnerClaims) -> None:
    accounts.delete_account(db, _get(db, claims, account_id))
    forget_account(account_id)
