"""Request dependencies: the database session, the calling account, the Temporal client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import Claims
from api.errors import ApiError, not_found, unavailable
from runtime.settings import settings
from store.database import engine, is_local_database
from store.tables import Account

Row = TypeVar("Row")


def found(db: Session, model: type[Row], id: str, what: str, **owner: str) -> Row:
    """Row `id` of `model` if it exists and belongs to `owner` (account_id=…, cycle_id=…);
    404 otherwise: another account's objects do not exist for the caller."""
    row = db.get(model, id)
    if row is None or any(getattr(row, column) != value for column, value in owner.items()):
        raise not_found(what, id)
    return row


class RequestSession(Session):
    """A request's session: it knows whether it holds writes not yet committed (`release`)."""


@event.listens_for(RequestSession, "after_flush")
def _wrote(db: Session, _: object) -> None:
    db.info["unsaved"] = True


@event.listens_for(RequestSession, "after_transaction_end")
def _ended(db: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back
        db.info.pop("unsaved", None)


async def get_db() -> AsyncIterator[Session]:
    """The request's session. It takes a pooled connection at its first use and gives it back
    when the route returns (scope="function": before the answer is sent), or earlier through
    `release`; creating it takes neither a connection nor a thread, nor does closing it on
    SQLite (ending a transaction there is local: no round trip to wait for)."""
    db = RequestSession(engine(), expire_on_commit=False)
    try:
        yield db
    finally:
        if db.in_transaction() and not is_local_database():
            await run_in_threadpool(db.close)  # rolls back what was not committed
        else:
            db.close()


Db = Annotated[Session, Depends(get_db, scope="function")]


async def release(db: Session) -> None:
    """Give the session's pooled connection back before the request waits on something else
    (Temporal, an upstream API); its next use takes one again, and its objects keep their
    loaded state. A session holding changes not yet committed keeps its connection: what it
    commits later must be one transaction."""
    if db.in_transaction() and not (db.new or db.dirty or db.deleted or db.info.get("unsaved")):
        if is_local_database():
            db.commit()  # nothing to write: it only ends the transaction, here and at once
        else:
            await run_in_threadpool(db.commit)


async def account_header(
    x_account_id: Annotated[str | None, Header()] = None,
    x_cyclr_account: Annotated[str | None, Header()] = None,
) -> str | None:
    """X-Account-Id, or Cyclr's X-Cyclr-Account."""
    return x_account_id or x_cyclr_account


AccountHeader = Annotated[str | None, Depends(account_header)]


def allowed_account(claims: dict, account_id: str | None) -> str:
    """The account id named in the request (an account token's own by default), if the token
    may act for it (no database needed)."""
    account_id = account_id or claims.get("account")
    if not account_id:
        raise ApiError(400, "this call needs the X-Account-Id header")
    if claims.get("account") not in (None, account_id):
        raise ApiError(403, "the token is scoped to another account")
    return account_id


@dataclass(frozen=True)
class AccountRef:
    """The account a request acts for, known to exist."""

    id: str


# An account found is taken to exist for ACCOUNT_KNOWN_FOR seconds without asking the database
# again: otherwise every account-level request spends a thread and a query on knowing it. One
# deleted through this process is forgotten at once (`forget_account`); through another, it
# is seen gone within that time.
ACCOUNT_KNOWN_FOR = 2.0
KNOWN_ACCOUNTS_KEPT = 10_000
_found: dict[str, float] = {}  # account id -> when it was last found


async def get_account(claims: Claims, db: Db, account_id: AccountHeader) -> AccountRef:
    """The account named in the request, if the token may act for it; 404 if it does not exist."""
    account_id = allowed_account(claims, account_id)
    now = time.monotonic()
    if now - _found.get(account_id, -ACCOUNT_KNOWN_FOR) >= ACCOUNT_KNOWN_FOR:
        if await run_in_threadpool(db.get, Account, account_id) is None:
            raise not_found("account", account_id)
        if len(_found) >= KNOWN_ACCOUNTS_KEPT:
            _found.clear()
        _found[account_id] = now
    return AccountRef(account_id)


def forget_account(account_id: str) -> None:
    _found.pop(account_id, None)


CurrentAccount = Annotated[AccountRef, Depends(get_account)]


# Calls that need Temporal answer 503 in about this long when it is down, rather than hang.
TEMPORAL_TIMEOUT = timedelta(seconds=2)


async def get_temporal(request: Request) -> Client:
    """The Temporal client, connected (the API starts without Temporal and connects on first use)."""
    client: Client = request.app.state.temporal
    if not getattr(request.app.state, "temporal_connected", False):
        try:
            await asyncio.wait_for(client.service_client.check_health(), TEMPORAL_TIMEOUT.total_seconds())
        except (RPCError, RuntimeError, TimeoutError) as err:
            reason = err.message if isinstance(err, RPCError) else "no answer" if isinstance(err, TimeoutError) \
                else "cannot connect"
            raise unavailable(f"Temporal is unavailable at {settings().temporal_address}: {reason}") from None
        request.app.state.temporal_connected = True
    return client


Temporal = Annotated[Client, Depends(get_temporal)]
