"""Account connectors' OAuth tokens: encrypted at rest, replaced once at a time across processes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from contextlib import ExitStack

from sqlalchemy import update

from connectors.oauth import Obtain, Token
from store.crypto import decrypt, encrypt
from store.database import session
from store.locks import exclusive
from store.tables import AccountConnector


def _decode(encrypted: str | None) -> Token | None:
    return Token(**json.loads(decrypt(encrypted))) if encrypted else None


def _encode(token: Token) -> str:
    return encrypt(json.dumps(dataclasses.asdict(token)))


def save_token(account_connector_id: str, token: Token) -> None:
    with session() as db:
        row = db.get(AccountConnector, account_connector_id)
        row.oauth_token, row.authenticated, row.status_reason = _encode(token), True, None
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
        # The lock is held across the token request: a second process waits, then finds the
        # new token instead of spending the (possibly single-use) refresh token again.
        with ExitStack() as held:
            connection = await asyncio.to_thread(held.enter_context, exclusive(f"oauth:{self.id}"))
            stored = await asyncio.to_thread(self._read_in, connection)
            if stored is not None and stored != stale:
                return stored
            token = await obtain(stored)
            await asyncio.to_thread(self._write_in, connection, token)
            await asyncio.to_thread(held.close)  # commit: saved before anyone can use it
            return token

    def _read_in(self, connection) -> Token | None:
        row = connection.execute(
            AccountConnector.__table__.select().where(AccountConnector.id == self.id)
        ).mappings().first()
        return _decode(row["oauth_token"])

    def _write_in(self, connection, token: Token) -> None:
        connection.execute(
            update(AccountConnector).where(AccountConnector.id == self.id)
            .values(oauth_token=_encode(token), authenticated=True, status_reason=None)
        )

    async def needs_reauthentication(self, reason: str) -> None:
        def mark() -> None:
            with session() as db:
                row = db.get(AccountConnector, self.id)
                row.authenticated, row.status_reason = False, f"NeedsReauthentication: {reason}"
                db.commit()

        await asyncio.to_thread(mark)
