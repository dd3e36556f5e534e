"""Token refresh on the test database (SQLite): one refresh at a time per account connector,
under a lease, with no database lock held while the token request is on the network. The
cross-process test against a real authorization server is in e2e/test_oauth.py."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Coroutine
from datetime import timedelta

from connectors.oauth import Token
from runtime.settings import settings
from store import connectors, leases, tokens
from store.database import session
from store.tables import Account, AccountConnector
from store.tokens import DatabaseTokenStore
from tests.walkthrough import catalog_document

STALE = Token("expired", "single-use refresh token")


def _account_connector() -> str:
    document = catalog_document("connectors", "demo-oauth-crm.json")
    document["Name"] = f"Token store test {uuid.uuid4().hex[:8]}"
    with session() as db:
        connector, release = connectors.upload(db, document)
        account = Account(name="Tokens")
        db.add(account)
        db.flush()
        row = AccountConnector(account_id=account.id, connector_id=connector.id, release_id=release.id,
                               name=document["Name"])
        db.add(row)
        db.commit()
    tokens.save_token(row.id, STALE)
    return row.id


class HeldTokenRequest:
    """An `obtain` that stays at the 'token endpoint' until released, counting its calls."""

    def __init__(self) -> None:
        self.started, self.again, self.released, self.calls = asyncio.Event(), asyncio.Event(), asyncio.Event(), 0

    async def __call__(self, previous: Token | None) -> Token:
        self.calls += 1
        assert previous == STALE  # refreshed from what is stored
        (self.started if self.calls == 1 else self.again).set()
        await self.released.wait()
        return Token(f"access-{self.calls}", f"refresh-{self.calls}")


def _write_now() -> None:
    """A write transaction from another connection that does not wait for the write lock."""
    with sqlite3.connect(settings().database_url.removeprefix("sqlite:///"), timeout=0) as other:
        other.execute("BEGIN IMMEDIATE")  # raises 'database is locked' while another writer holds it
        other.execute("UPDATE account SET name = name WHERE name = 'Tokens'")


async def test_the_database_takes_writes_while_a_refresh_waits_on_the_token_endpoint():
    store, obtain = DatabaseTokenStore(_account_connector()), HeldTokenRequest()
    refresh = asyncio.create_task(store.replace(STALE, obtain))
    await obtain.started.wait()
    await asyncio.to_thread(_write_now)  # a transaction held across the token request fails this
    obtain.released.set()
    assert await refresh == Token("access-1", "refresh-1") == await store.current()


async def test_a_second_refresh_waits_for_the_first_and_spends_nothing(monkeypatch):
    store, obtain = DatabaseTokenStore(_account_connector()), HeldTokenRequest()
    refused, loop, take_lease = asyncio.Event(), asyncio.get_running_loop(), leases.take

    def take(*args) -> bool:  # runs in a thread
        taken = take_lease(*args)
        if not taken:
            loop.call_soon_threadsafe(refused.set)
        return taken

    monkeypatch.setattr(tokens.leases, "take", take)
    first = asyncio.create_task(store.replace(STALE, obtain))
    await obtain.started.wait()
    second = asyncio.create_task(DatabaseTokenStore(store.id).replace(STALE, obtain))
    await _first_of(refused.wait(), obtain.again.wait())  # the second found the lease held (or ran)
    obtain.released.set()
    assert await first == await second == Token("access-1", "refresh-1")
    assert obtain.calls == 1  # the single-use refresh token was spent once


async def _first_of(*waits: Coroutine) -> None:
    tasks = [asyncio.create_task(wait) for wait in waits]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()


def test_a_lease_is_held_until_given_back_or_expired():
    name = f"test:{uuid.uuid4()}"
    assert leases.take(name, "a", timedelta(minutes=1))
    assert not leases.take(name, "b", timedelta(minutes=1))
    leases.give_back(name, "b")  # not b's to give back
    assert not leases.take(name, "b", timedelta(minutes=1))
    leases.give_back(name, "a")
    assert leases.take(name, "b", timedelta(seconds=-1))  # taken, and expired at once (a holder that died)
    assert leases.take(name, "c", timedelta(minutes=1))
    assert not leases.take(name, "a", timedelta(minutes=1))
