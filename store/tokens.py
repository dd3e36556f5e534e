"""Account connectors' OAuth tokens: encrypted at rest, replaced once at a time across processes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import timedelta

from sqlalchemy import or_, update

from connectors.oauth import Obtain, Token
from store import leases, partner_events
from store.crypto import decrypt, encrypt
from store.database import session
from store.tables import AccountConnector

# Longer than any token request takes (its HTTP timeout); a holder that died frees it then.
REFRESH_LEASE = timedelta(minutes=2)
REAUTHENTICATE = "NeedsReauthentication"  # the StatusReason's start while a person must authorise again
# A waiter looks again soon (a refresh takes a round trip), then less often.
FIRST_POLL_SECONDS, LAST_POLL_SECONDS = 0.05, 1.0


def _decode(encrypted: str | None) -> Token | None:
    return Token(**json.loads(decrypt(encrypted))) if encrypted else None


def _encode(token: Token) -> str:
    return encrypt(json.dumps(dataclasses.asdict(token)))


def _replaced(stored: Token | None, stale: Token | None) -> bool:
    """Whether another holder of the lease already replaced the stale token."""
    return stored is not None and stored != stale


def save_token(account_connector_id: str, token: Token) -> None:
    with session() as db:
        row = db.get(AccountConnector, account_connector_id)
        row.oauth_token, row.status_reason = _encode(token), None
        row.authenticated = row.verified = True  # the provider issued a token: proven
        db.commit()


class DatabaseTokenStore:
    """The TokenStore of one account connector."""

    def __init__(self, account_connector_id: str) -> None:
        self.id = account_connector_id

    def _read(self) -> Token | None:
        with session() as db:
            return _decode(db.get(AccountConnector, self.id).oauth_token)

    async def current(self) -> Token | None:
        return await asyncio.to_thread(self._read)

    async def replace(self, stale: Token | None, obtain: Obtain) -> Token:
        # One refresh at a time per account connector, under a lease rather than a transaction:
        # the token request can take seconds, and no database lock is held meanwhile. A waiter
        # finds the new token instead of spending the (possibly single-use) refresh token again.
        lease, holder, pause = f"oauth:{self.id}", uuid.uuid4().hex, FIRST_POLL_SECONDS
        while not await asyncio.to_thread(leases.take, lease, holder, REFRESH_LEASE):
            if _replaced(stored := await self.current(), stale):
                return stored  # the holder saved it: no need to queue for the lease
            await asyncio.sleep(pause)  # ends: the token is replaced, or the lease given back or expired
            pause = min(2 * pause, LAST_POLL_SECONDS)
        try:
            if _replaced(stored := await self.current(), stale):
                return stored
            token = await obtain(stored)
            await asyncio.to_thread(save_token, self.id, token)  # saved before anyone can use it
            return token
        finally:
            await asyncio.to_thread(leases.give_back, lease, holder)

    async def needs_reauthentication(self, reason: str) -> None:
        await asyncio.to_thread(mark_needs_reauthentication, self.id, reason)


def mark_needs_reauthentication(account_connector_id: str, reason: str) -> None:
    """Unauthenticated until a person authorises again; the partner's backend is told once, in
    the same commit (a connector marked already keeps its first reason)."""
    table = AccountConnector.__table__
    with session() as db:
        marked = db.execute(update(table).where(
            table.c.id == account_connector_id,
            or_(table.c.status_reason.is_(None), ~table.c.status_reason.startswith(REAUTHENTICATE)),
        ).values(authenticated=False, verified=False, status_reason=f"{REAUTHENTICATE}: {reason}")).rowcount
        if marked:
            partner_events.needs_reauthentication(db, db.get(AccountConnector, account_connector_id), reason)
        db.commit()
