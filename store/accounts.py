"""Deleting an account: refused while it has cycles; otherwise with everything that is only its."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, select

from store import event_endpoints
from store.connectors import delete_account_connectors
from store.problems import Conflict
from store.tables import (
    Account,
    AccountConnector,
    Cycle,
    PortalSession,
    SignInToken,
    StorageItem,
    Variable,
)


def delete_account(db: Session, account: Account) -> None:
    """The account, its account connectors, sign-in tokens, portal sessions, event endpoints,
    variables and storage; Conflict while a cycle is installed in it."""
    if db.exec(select(Cycle.id).where(Cycle.account_id == account.id)).first():
        raise Conflict("the account has cycles; delete them first (DELETE /v1.0/cycles/{id})")
    delete_account_connectors(db, AccountConnector.account_id == account.id)
    event_endpoints.remove_for_account(db, account.id)
    db.execute(delete(SignInToken).where(SignInToken.account_id == account.id))
    db.execute(delete(PortalSession).where(PortalSession.account_id == account.id))
    db.execute(delete(Variable).where(Variable.owner_id == account.id))
    db.execute(delete(StorageItem).where(StorageItem.scope_id == account.id))
    db.delete(account)
    db.commit()
