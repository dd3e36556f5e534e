"""Request dependencies: the database session, the calling account, the Temporal client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session
from temporalio.client import Client

from api.auth import Claims
from api.errors import ApiError, not_found
from store.database import session
from store.tables import Account


def get_db() -> Iterator[Session]:
    with session() as db:
        yield db


Db = Annotated[Session, Depends(get_db)]


async def account_header(
    x_account_id: Annotated[str | None, Header()] = None,
    x_cyclr_account: Annotated[str | None, Header()] = None,
) -> str | None:
    """X-Account-Id, or Cyclr's X-Cyclr-Account."""
    return x_account_id or x_cyclr_account


AccountHeader = Annotated[str | None, Depends(account_header)]


def allowed_account(claims: dict, account_id: str | None) -> str:
    """The account id named in the request, if the token may act for it (no database needed)."""
    if not account_id:
        raise ApiError(400, "this call needs the X-Account-Id header")
    if claims.get("account") not in (None, account_id):
        raise ApiError(403, "the token is scoped to another account")
    return account_id


def check_account(db: Session, claims: dict, account_id: str | None) -> Account:
    """The account named in the request, if the token may act for it."""
    account_id = allowed_account(claims, account_id)
    account = db.get(Account, account_id)
    if account is None:
        raise not_found("account", account_id)
    return account


def get_account(claims: Claims, db: Db, account_id: AccountHeader) -> Account:
    return check_account(db, claims, account_id)


CurrentAccount = Annotated[Account, Depends(get_account)]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


Temporal = Annotated[Client, Depends(get_temporal)]
