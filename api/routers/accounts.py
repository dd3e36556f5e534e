from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import Claims
from api.dependencies import Db
from api.errors import ApiError, not_found
from store.tables import Account, Cycle

router = APIRouter(prefix="/v1.0/accounts", tags=["accounts"])


class AccountIn(BaseModel):
    Name: str = Field(min_length=1)
    Timezone: str = "UTC"


def view(account: Account) -> dict:
    return {"Id": account.id, "Name": account.name, "Timezone": account.timezone,
            "CreatedDate": account.created_at}


@router.post("", status_code=201)
def create_account(body: AccountIn, db: Db, _: Claims) -> dict:
    account = Account(name=body.Name, timezone=body.Timezone)
    db.add(account)
    db.commit()
    return view(account)


@router.get("")
def list_accounts(db: Db, claims: Claims) -> list[dict]:
    query = select(Account).order_by(Account.created_at)
    if claims.get("account"):
        query = query.where(Account.id == claims["account"])
    return [view(a) for a in db.exec(query)]


def _get(db: Db, claims: dict, account_id: str) -> Account:
    account = db.get(Account, account_id)
    if account is None or claims.get("account") not in (None, account_id):
        raise not_found("account", account_id)
    return account


@router.get("/{account_id}")
def get_account(account_id: str, db: Db, claims: Claims) -> dict:
    return view(_get(db, claims, account_id))


@router.delete("/{account_id}", status_code=204)
def delete_account(account_id: str, db: Db, claims: Claims) -> None:
    account = _get(db, claims, account_id)
    if db.exec(select(Cycle).where(Cycle.account_id == account_id)).first():
        raise ApiError(409, "the account has cycles; delete them first")
    db.delete(account)
    db.commit()
