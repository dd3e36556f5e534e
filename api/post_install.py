"""The post-install lookup of an account connector (connectors/post_install.py), run by the API
once its credentials are set and after each OAuth consent; what it fills is saved with the
account connector's other properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx
from fastapi.concurrency import run_in_threadpool

from api.routers.connector_calls import limiter
from connectors import Authentication, Connector, ConnectorError, Credentials, post_install
from connectors.auth import secrets_of
from connectors.urls import endpoint_problems
from store import partner_webhooks
from store.connections import call_options, load_credentials, load_release
from store.crypto import decrypt_json, encrypt_json
from store.database import session
from store.tables import AccountConnector

NOT_LOOKED_UP = "NotLookedUp"  # the StatusReason's first word when a lookup could not complete


def due(spec: Connector, row: AccountConnector) -> bool:
    """Whether credentials just set call for the lookup: they are all there and nothing said
    they do not work (an OAuth2 consent runs it when it completes)."""
    return row.authenticated and row.status_reason is None and post_install.fills_properties(
        spec, spec.authentication(row.authentication))


async def fill(http: httpx.AsyncClient, account_connector_id: str,
               token_response: Mapping[str, Any] | None = None) -> str | None:
    """Run the lookups for the account connector (the consent's `token_response`, then the
    PostInstallLookupMethod) and save the properties they fill; the reason, also saved as its
    StatusReason, when one could not complete (what was filled before is kept)."""
    spec, auth, credentials = await run_in_threadpool(_load, account_connector_id)
    if not post_install.fills_properties(spec, auth):
        return None
    filled: dict[str, str] = {}
    reason = None
    try:
        if token_response is not None and auth is not None:
            filled |= _usable(spec, credentials, post_install.token_properties(spec, auth, token_response))
        with_filled = replace(credentials, properties={**credentials.properties, **filled})
        found = await post_install.looked_up(http, spec, **call_options(account_connector_id, with_filled, limiter))
        filled |= _usable(spec, with_filled, found)
    except ConnectorError as err:
        reason = f"{NOT_LOOKED_UP}: the connector's post-install lookup could not complete ({err.brief()})"
    await run_in_threadpool(_save, account_connector_id, filled, reason)
    return reason


def _usable(spec: Connector, credentials: Credentials, found: dict[str, str]) -> dict[str, str]:
    """`found`, unless a value makes an endpoint no http(s) URL (LookupIncomplete, naming it)."""
    merged = {**credentials.properties, **found}
    secrets = secrets_of(Credentials(credentials.auth_value, merged), spec)
    unsendable = endpoint_problems(spec, merged, set(found), secrets)
    if unsendable:
        raise post_install.LookupIncomplete("; ".join(unsendable[name] for name in sorted(unsendable)))
    return found


def _load(account_connector_id: str) -> tuple[Connector, Authentication | None, Credentials]:
    with session() as db:
        row, credentials = load_credentials(db, account_connector_id)
        spec = load_release(db, row.release_id)
        return spec, spec.authentication(row.authentication), credentials


def _save(account_connector_id: str, filled: dict[str, str], reason: str | None) -> None:
    with session() as db:
        row = db.get(AccountConnector, account_connector_id)
        if filled:
            properties = {**decrypt_json(row.properties), **filled}
            row.properties = encrypt_json(properties)
            partner_webhooks.keep_key(row, load_release(db, row.release_id), properties)
        if reason is not None or (row.status_reason or "").startswith(NOT_LOOKED_UP):
            row.status_reason = reason
        db.commit()
