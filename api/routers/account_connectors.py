from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import select

from api.dependencies import CurrentAccount, Db
from api.errors import ApiError, not_found
from connectors import Connector as ConnectorSpec
from connectors import Credentials, Problem
from connectors.auth import auth_value_problem, secrets_of
from connectors.urls import endpoint_problems
from store.connections import load_release
from store.connectors import live_release, spec_of
from store.crypto import decrypt_json, encrypt, encrypt_json
from store.problems import Invalid
from store.tables import AccountConnector, Connector

router = APIRouter(prefix="/v1.0/account/connectors", tags=["account connectors"])


class PropertyIn(BaseModel):
    Name: str
    Value: str


class AccountConnectorIn(BaseModel):
    ConnectorId: str
    Name: str | None = None
    AuthenticationId: str | None = None
    AuthValue: str | None = None
    Properties: list[PropertyIn] = []


class AccountConnectorUpdate(BaseModel):
    Name: str | None = None
    AuthenticationId: str | None = None
    AuthValue: str | None = None
    Properties: list[PropertyIn] | None = None


def view(row: AccountConnector) -> dict:
    # Property names only: values may be secrets and are never read back.
    return {"Id": row.id, "ConnectorId": row.connector_id, "Name": row.name,
            "AuthenticationId": row.authentication, "Authenticated": row.authenticated,
            "Status": "Authenticated" if row.authenticated else "NeedsAuthentication",
            "StatusReason": row.status_reason, "Properties": sorted(decrypt_json(row.properties))}


def _check(spec: ConnectorSpec, authentication: str | None, properties: list[PropertyIn],
           auth_value: str | None, current: AccountConnector | None = None) -> None:
    """Refuse now what would fail every call later; `current` is the row an update changes."""
    problems = []
    if authentication is not None and spec.authentication(authentication) is None:
        problems.append(Problem("$.AuthenticationId",
                                f"connector '{spec.Name}' has no authentication '{authentication}'"))
    known = {p.Name for p in spec.Parameters if p.Name} | {"ClientId", "ClientSecret"}
    for i, prop in enumerate(properties):
        if prop.Name not in known:
            problems.append(Problem(f"$.Properties[{i}].Name",
                                    f"connector '{spec.Name}' has no property '{prop.Name}'"))
    if authentication is None and current is not None:
        authentication = current.authentication
    stored = decrypt_json(current.properties) if current is not None else {}
    problems += _value_problems(spec, authentication, auth_value, properties, stored)
    if problems:
        raise Invalid(problems)


def _value_problems(spec: ConnectorSpec, authentication: str | None, auth_value: str | None,
                    properties: list[PropertyIn], stored: Mapping[str, str]) -> list[Problem]:
    """An AuthValue that cannot be sent, and properties that make an Endpoint no http(s) URL.
    Messages never quote the AuthValue; sensitive property values are masked."""
    problems = []
    if auth_value is not None and (why := auth_value_problem(spec.authentication(authentication), auth_value)):
        problems.append(Problem("$.AuthValue", why))
    merged = {**stored, **{p.Name: p.Value for p in properties}}
    secrets = secrets_of(Credentials(auth_value, merged), spec)
    found = endpoint_problems(spec, merged, {p.Name for p in properties}, secrets)
    problems += [Problem(f"$.Properties[{i}].Value", found[p.Name])
                 for i, p in enumerate(properties) if p.Name in found]
    return problems


def _authenticated(spec: ConnectorSpec, row: AccountConnector) -> bool:
    """Whether the credentials are all there (an OAuth consent, a client's id and secret, …)."""
    auth = spec.authentication(row.authentication)
    if auth is None or auth.AuthType == "None":
        return True
    if auth.AuthType != "OAuth2":
        return row.auth_value is not None
    if auth.OAuth2Type == "AuthorisationCode":
        return row.oauth_token is not None and row.status_reason is None
    client = decrypt_json(row.properties)
    has_client = bool(client.get("ClientId") and client.get("ClientSecret"))
    return has_client and (auth.OAuth2Type == "ClientCredentials" or row.auth_value is not None)


@router.post("", status_code=201)
def install_connector(body: AccountConnectorIn, account: CurrentAccount, db: Db) -> dict:
    connector = db.get(Connector, body.ConnectorId)
    release = live_release(db, body.ConnectorId) if connector else None
    if release is None:
        raise ApiError(422, "unknown connector", [Problem("$.ConnectorId",
                                                           f"no connector with id '{body.ConnectorId}'")])
    spec = spec_of(release)
    _check(spec, body.AuthenticationId, body.Properties, body.AuthValue)
    row = AccountConnector(
        account_id=account.id, connector_id=connector.id, release_id=release.id,
        name=body.Name or connector.name, authentication=body.AuthenticationId,
        auth_value=encrypt(body.AuthValue), properties=encrypt_json({p.Name: p.Value for p in body.Properties}),
    )
    row.authenticated = _authenticated(spec, row)
    db.add(row)
    db.commit()
    return view(row)


@router.get("")
def list_installed(account: CurrentAccount, db: Db) -> list[dict]:
    rows = db.exec(select(AccountConnector).where(AccountConnector.account_id == account.id))
    return [view(r) for r in rows]


def _get(db: Db, account_id: str, id: str) -> AccountConnector:
    row = db.get(AccountConnector, id)
    if row is None or row.account_id != account_id:
        raise not_found("account connector", id)
    return row


@router.get("/{id}")
def get_installed(id: str, account: CurrentAccount, db: Db) -> dict:
    return view(_get(db, account.id, id))


@router.put("/{id}")
def update_installed(id: str, body: AccountConnectorUpdate, account: CurrentAccount, db: Db) -> dict:
    row = _get(db, account.id, id)
    spec = load_release(db, row.release_id)
    _check(spec, body.AuthenticationId, body.Properties or [], body.AuthValue, row)
    if body.Name is not None:
        row.name = body.Name
    if body.AuthenticationId is not None:
        row.authentication = body.AuthenticationId
    if body.AuthValue is not None:
        row.auth_value = encrypt(body.AuthValue)
    if body.Properties is not None:
        row.properties = encrypt_json({**decrypt_json(row.properties),
                                       **{p.Name: p.Value for p in body.Properties}})
    if body.AuthValue is not None or body.Properties is not None:
        row.status_reason = None  # new credentials: worth trying again
    row.authenticated = _authenticated(spec, row)
    db.commit()
    return view(row)
