"""Account connectors as the engine needs them: the connector spec and decrypted credentials."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Row, bindparam
from sqlmodel import Session, select

from connectors import Connector, Credentials, load_connector
from connectors.hooks import Scripting
from connectors.limits import Limiter
from runtime.settings import settings
from store.crypto import decrypt, decrypt_json
from store.reads import Slow
from store.storage import CycleStorage
from store.tables import AccountConnector, ConnectorRelease
from store.tokens import DatabaseTokenStore


def load_release(db: Session, release_id: str, at_once: bool = False) -> Connector:
    """A release's connector. Parsing is the costly part of loading one, and a release's document
    never changes under its id (an upload is a new release): each is parsed once a process, and
    the RELEASES_KEPT used last are kept. `at_once` (a read on the event loop, store/reads.py):
    Slow for one not parsed yet."""
    with _parsing:
        connector = _parsed.pop(release_id, None)
    if connector is None:
        if at_once:
            raise Slow(f"release {release_id} is not parsed yet")
        connector = load_connector(db.get(ConnectorRelease, release_id).document)
    with _parsing:
        if release_id not in _parsed and len(_parsed) >= RELEASES_KEPT:
            del _parsed[next(iter(_parsed))]  # the one used longest ago
        _parsed[release_id] = connector  # last: the one used most recently
    return connector


RELEASES_KEPT = 256
_parsed: dict[str, Connector] = {}  # release id -> its connector, the one used longest ago first
_parsing = threading.Lock()  # API and worker threads load releases at once
# Made once: every call of an account connector loads it (building a statement costs more than
# running it).
_INSTALLED = select(AccountConnector).where(AccountConnector.id == bindparam("id"))


def load_owned(db: Session, account_id: str, account_connector_id: str) -> tuple[AccountConnector, Credentials]:
    """Like load_credentials, for an account connector of `account_id` only (LookupError if not)."""
    row, credentials = load_credentials(db, account_connector_id)
    if row.account_id != account_id:
        raise LookupError(f"account connector {account_connector_id} does not exist")
    return row, credentials


def load_credentials(db: Session, account_connector_id: str) -> tuple[AccountConnector, Credentials]:
    row = db.execute(_INSTALLED, {"id": account_connector_id}).scalar_one_or_none()
    if row is None:
        raise LookupError(f"account connector {account_connector_id} does not exist")
    return row, credentials_of(row)


def credentials_of(row: AccountConnector | Row) -> Credentials:
    return Credentials(auth_value=decrypt(row.auth_value), properties=decrypt_json(row.properties),
                       authentication=row.authentication)


def call_options(account_connector_id: str, credentials: Credentials, limiter: Limiter, *,
                 cycle_id: str | None = None, step_script: str | None = None) -> dict[str, Any]:
    """What every call for an account connector passes the engine: its credentials and the
    authentication it chose, its rate limits, where its OAuth tokens are kept (and refreshed),
    and for its scripts the step's own script, the cycle's Storage (a call for a cycle) and the
    limits every isolate runs under."""
    storage = CycleStorage(cycle_id) if cycle_id else None
    return {"credentials": credentials, "authentication": credentials.authentication, "limiter": limiter,
            "limit_key": account_connector_id, "tokens": DatabaseTokenStore(account_connector_id),
            "scripting": Scripting(step_script, storage, settings().script_limits)}
