from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import select

from api import post_install
from api.dependencies import CurrentAccount, Db, found, release
from api.errors import COMMON, ApiError, responses
from api.routers.connector_calls import limiter
from connectors import (
    Authentication,
    ConnectorError,
    Credentials,
    Problem,
    ScriptError,
    call_method,
)
from connectors import Connector as ConnectorSpec
from connectors.auth import auth_value_problem, secrets_of
from connectors.dates import OUTSIDE_A_RUN
from connectors.errors import InvalidInput
from connectors.urls import endpoint_problems
from store import partner_webhooks, text
from store.connections import load_release
from store.connectors import live_release, spec_of, uninstall
from store.crypto import decrypt, decrypt_json, encrypt, encrypt_json
from store.problems import Invalid
from store.tables import AccountConnector, Connector

router = APIRouter(prefix="/v1.0/account/connectors", tags=["account connectors"], responses=responses(*COMMON))


class PropertyIn(BaseModel):
    Name: text.Name
    Value: text.Value


class AccountConnectorIn(BaseModel):
    ConnectorId: text.Name
    Name: text.Name | None = None
    AuthenticationId: text.Name | None = None
    AuthValue: text.Secret | None = None
    Properties: list[PropertyIn] = Field(default=[], max_length=100)


class AccountConnectorUpdate(BaseModel):
    Name: text.Name | None = None
    AuthenticationId: text.Name | None = None
    AuthValue: text.Secret | None = None
    Properties: list[PropertyIn] | None = Field(default=None, max_length=100)


class AccountConnectorOut(BaseModel):
    Id: str
    ConnectorId: str
    Name: str
    AuthenticationId: str | None
    Authenticated: bool = Field(description="the credentials are known to work (Status Verified)")
    Status: Literal["NeedsAuthentication", "CredentialsSet", "Verified"] = Field(
        description="CredentialsSet: set, but the connector names no AuthTestMethod to verify them with")
    StatusReason: str | None
    Properties: list[str] = Field(description="the names of the properties set (values are never read back)")


def _status(row: AccountConnector) -> str:
    if not row.authenticated:
        return "NeedsAuthentication"
    return "Verified" if row.verified else "CredentialsSet"


def view(row: AccountConnector) -> AccountConnectorOut:
    status = _status(row)
    return AccountConnectorOut(Id=row.id, ConnectorId=row.connector_id, Name=row.name,
                               AuthenticationId=row.authentication, Authenticated=status == "Verified",
                               Status=status, StatusReason=row.status_reason,
                               Properties=sorted(decrypt_json(row.properties)))


async def _verify(request: Request, spec: ConnectorSpec, row: AccountConnector) -> None:
    """Run the connector's AuthTestMethod with the credentials about to be saved: 422 (and
    nothing saved) when the upstream refuses them. An upstream that is down or busy, or a
    connector script that fails, cannot tell: the credentials are saved unverified, with the
    reason, rather than refused for a fault that is not theirs."""
    auth = spec.authentication(row.authentication)
    # Without authentication there is nothing to prove; OAuth2 is proven when a token is issued.
    if not spec.AuthTestMethod or not row.authenticated or auth is None or auth.AuthType in ("None", "OAuth2"):
        return
    credentials = Credentials(decrypt(row.auth_value), decrypt_json(row.properties))
    try:
        await call_method(request.app.state.http, spec, spec.AuthTestMethod, credentials=credentials,
                          authentication=row.authentication, limiter=limiter, limit_key=row.id,
                          mergefields=OUTSIDE_A_RUN)
    except ConnectorError as err:
        if err.retryable or isinstance(err, ScriptError | InvalidInput):  # not the credentials' fault
            cause = f"script failed: {err.reason}" if isinstance(err, ScriptError) else err.brief()
            row.status_reason = (f"NotVerified: the connector's AuthTestMethod '{spec.AuthTestMethod}' "
                                 f"could not complete ({cause})")
            return
        answered = f"answered {err.brief().split(': ', 1)[-1]}" if err.status else f"failed: {err.reason}"
        if said := _upstream_said(err):
            answered += f": {said}"  # the upstream's own words, secrets masked: what the user can act on
        raise ApiError(422, "The credentials do not work; nothing was saved.", [Problem(
            "$.AuthValue", f"the connector's AuthTestMethod '{spec.AuthTestMethod}' {answered}")]) from None
    row.verified = True


UPSTREAM_WORDS = 300  # of the AuthTestMethod's error response shown with a refusal
MESSAGE_FIELDS = ("message", "error_description", "detail", "error")


def _upstream_said(err: ConnectorError) -> str:
    """The body of the upstream's refusal, as the debugger shows it (secrets masked), bounded."""
    body = (err.exchange.response_body or "").strip() if err.exchange else ""
    try:  # a JSON error names its message in one of a few usual fields
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        body = next((answer[k] for k in MESSAGE_FIELDS if isinstance(answer.get(k), str)), body)
    return body if len(body) <= UPSTREAM_WORDS else body[:UPSTREAM_WORDS] + "…"


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


def _set_credentials(spec: ConnectorSpec, row: AccountConnector) -> None:
    """What new credentials make of the row: all there or not, and unproven until a call
    proves them (`_verify`, or an OAuth2 token issued); without authentication, nothing to prove."""
    auth = spec.authentication(row.authentication)
    row.status_reason = None  # worth trying again
    row.authenticated = _authenticated(auth, row)
    row.verified = auth is None or auth.AuthType == "None"


def _authenticated(auth: Authentication | None, row: AccountConnector) -> bool:
    """Whether the credentials are all there (an OAuth consent, a client's id and secret, …)."""
    if auth is None or auth.AuthType == "None":
        return True
    if auth.AuthType != "OAuth2":
        return row.auth_value is not None
    if auth.OAuth2Type == "AuthorisationCode":
        return row.oauth_token is not None and row.status_reason is None
    client = decrypt_json(row.properties)
    has_client = bool(client.get("ClientId") and client.get("ClientSecret"))
    return has_client and (auth.OAuth2Type == "ClientCredentials" or row.auth_value is not None)


def _new_row(db: Db, account_id: str, body: AccountConnectorIn) -> tuple[ConnectorSpec, AccountConnector]:
    connector = db.get(Connector, body.ConnectorId)
    release = live_release(db, body.ConnectorId) if connector else None
    if release is None:
        raise ApiError(422, "unknown connector", [Problem("$.ConnectorId",
                                                           f"no connector with id '{body.ConnectorId}'")])
    spec = spec_of(release)
    _check(spec, body.AuthenticationId, body.Properties, body.AuthValue)
    properties = {p.Name: p.Value for p in body.Properties}
    row = AccountConnector(
        account_id=account_id, connector_id=connector.id, release_id=release.id,
        name=body.Name or connector.name, authentication=body.AuthenticationId,
        auth_value=encrypt(body.AuthValue), properties=encrypt_json(properties),
    )
    partner_webhooks.keep_key(row, spec, properties)
    _set_credentials(spec, row)
    return spec, row


def _save(db: Db, row: AccountConnector) -> AccountConnectorOut:
    db.add(row)
    db.commit()
    return view(row)


@router.post("", status_code=201, summary="Install a connector into the account, with its credentials")
async def install_connector(body: AccountConnectorIn, request: Request, account: CurrentAccount,
                            db: Db) -> AccountConnectorOut:
    spec, row = await run_in_threadpool(_new_row, db, account.id, body)
    await release(db)  # no pooled connection held while the upstream answers
    await _verify(request, spec, row)
    saved = await run_in_threadpool(_save, db, row)
    return await _looked_up(request, db, row) if post_install.due(spec, row) else saved


async def _looked_up(request: Request, db: Db, row: AccountConnector) -> AccountConnectorOut:
    """Credentials saved: the connector's post-install lookup fills the properties it names
    (or says why it could not, in the StatusReason)."""
    await release(db)
    await post_install.fill(request.app.state.http, row.id)
    return await run_in_threadpool(_reread, db, row)


def _reread(db: Db, row: AccountConnector) -> AccountConnectorOut:
    db.refresh(row)
    return view(row)


@router.get("", summary="The account's connectors")
def list_installed(account: CurrentAccount, db: Db) -> list[AccountConnectorOut]:
    rows = db.exec(select(AccountConnector).where(AccountConnector.account_id == account.id))
    return [view(r) for r in rows]


def _get(db: Db, account_id: str, id: str) -> AccountConnector:
    return found(db, AccountConnector, id, "account connector", account_id=account_id)


@router.get("/{id}", summary="One of the account's connectors")
def get_installed(id: str, account: CurrentAccount, db: Db) -> AccountConnectorOut:
    return view(_get(db, account.id, id))


def _changed_row(db: Db, account_id: str, id: str, body: AccountConnectorUpdate
                 ) -> tuple[ConnectorSpec, AccountConnector, bool]:
    """The row with the change applied (not yet committed), and whether its credentials changed."""
    row = _get(db, account_id, id)
    spec = load_release(db, row.release_id)
    _check(spec, body.AuthenticationId, body.Properties or [], body.AuthValue, row)
    if body.Name is not None:
        row.name = body.Name
    if body.AuthenticationId is not None:
        row.authentication = body.AuthenticationId
    if body.AuthValue is not None:
        row.auth_value = encrypt(body.AuthValue)
    if body.Properties is not None:
        properties = {**decrypt_json(row.properties), **{p.Name: p.Value for p in body.Properties}}
        row.properties = encrypt_json(properties)
        partner_webhooks.keep_key(row, spec, properties)
    changed = body.AuthValue is not None or body.Properties is not None or body.AuthenticationId is not None
    if changed:
        _set_credentials(spec, row)
    return spec, row, changed


@router.put("/{id}", summary="Change an account connector's name, credentials or properties")
async def update_installed(id: str, body: AccountConnectorUpdate, request: Request, account: CurrentAccount,
                           db: Db) -> AccountConnectorOut:
    spec, row, credentials_changed = await run_in_threadpool(_changed_row, db, account.id, id, body)
    if credentials_changed:
        db.expunge(row)  # set aside with its changes: the session gives its connection back meanwhile
        await release(db)
        await _verify(request, spec, row)  # refused: the row is never saved
    saved = await run_in_threadpool(_save, db, row)
    return await _looked_up(request, db, row) if credentials_changed and post_install.due(spec, row) else saved


@router.delete("/{id}", status_code=204, responses=responses(409),
               summary="Uninstall a connector from the account (409, naming them, while cycles use it)")
def delete_installed(id: str, account: CurrentAccount, db: Db) -> None:
    uninstall(db, _get(db, account.id, id))
