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


def get_account(
    claims: Claims,
    db: Db,
    x_account_id: Annotated[str | None, Header()] = None,
    x_cyclr_account: Annotated[str | None, Header()] = None,
) -> Account:
    """The account named by X-Account-Id (or X-Cyclr-Account), if the token may act for it."""
    account_id = x_account_id or x_cyclr_account
    if not account_id:
        raise ApiError(400, "this call needs the X-Account-Id header")
    if claims.get("account") not in (None, account_id):
        raise ApiError(403, "the token is scoped to another account")
    account = db.get(Account, account_id)
    if account is None:
        raise not_found("account", account_id)
    return account


CurrentAccount = Annotated[Account, Depends(get_account)]


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


Temporal = Annotated[Client, Depends(get_temporal)]
