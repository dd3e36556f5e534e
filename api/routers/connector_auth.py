"""The connector authentication link: a partner's user authorises an OAuth connector.

    POST /v1.0/accounts/{id}/signintoken          → a single-use token valid for 5 minutes
    GET  /connectorauth/updateaccountconnectoroauth?id=&token=&targetOrigin=
                                                  → the provider's consent page (state + PKCE)
    GET  /connectorauth/callback?code=&state=     → tokens stored encrypted → back to targetOrigin
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import AnyHttpUrl, BaseModel

from api import post_install
from api.auth import Claims
from api.dependencies import Db, release
from api.errors import COMMON, ApiError, not_found, responses
from connectors import Authentication, Credentials
from connectors.client import httpx_transport
from connectors.dates import as_utc  # SQLite drops the zone of stored times
from connectors.mergefields import render
from connectors.nesting import TooDeep
from connectors.oauth import AsyncOAuth2Client, Token, bounded, token_url
from connectors.transport import HttpClient
from runtime.settings import settings
from store.connections import load_credentials, load_owned, load_release
from store.crypto import decrypt, encrypt
from store.tables import Account, OAuthState, SignInToken
from store.tokens import save_token

router = APIRouter(tags=["connector authentication"])
SIGN_IN_LIFETIME = timedelta(minutes=5)
CONSENT_LIFETIME = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class SignInTokenOut(BaseModel):
    Token: str
    ExpiresAt: datetime


@router.post("/v1.0/accounts/{account_id}/signintoken", status_code=201,
             summary="A single-use token for an account's connector authentication link",
             responses=responses(*COMMON))
def sign_in_token(account_id: str, db: Db, claims: Claims) -> SignInTokenOut:
    if db.get(Account, account_id) is None or claims.get("account") not in (None, account_id):
        raise not_found("account", account_id)
    token = secrets.token_urlsafe(32)
    expires = _now() + SIGN_IN_LIFETIME
    db.add(SignInToken(token_hash=_hash(token), account_id=account_id, expires_at=expires))
    db.commit()
    return SignInTokenOut(Token=token, ExpiresAt=expires)


def _redeem(db: Db, token: str) -> str:
    """The account a sign-in token was issued for; the token is spent."""
    row = db.get(SignInToken, _hash(token))
    if row is None or row.used or as_utc(row.expires_at) < _now():
        raise ApiError(401, "the sign-in token is unknown, used or expired")
    row.used = True
    db.commit()
    return row.account_id


def _callback_url() -> str:
    return f"{settings().public_url}/connectorauth/callback"


def _oauth_client(authentication, properties: dict[str, str], engine: HttpClient | None = None
                  ) -> AsyncOAuth2Client:
    """authlib's client for the consent; its token request goes through the engine's transport."""
    transport = httpx_transport(engine) if engine is not None else None
    return bounded(AsyncOAuth2Client(
        client_id=properties.get("ClientId"), client_secret=properties.get("ClientSecret"),
        scope=" ".join(authentication.Scopes) or None, redirect_uri=_callback_url(),
        code_challenge_method="S256", transport=transport,
    ))


@router.get("/connectorauth/updateaccountconnectoroauth", status_code=302, response_class=RedirectResponse,
            summary="Start an OAuth consent: redirects to the provider", responses=responses(401, 404, 413, 422))
def start_consent(id: str, token: str, targetOrigin: AnyHttpUrl, db: Db) -> RedirectResponse:
    try:
        row, credentials = load_owned(db, _redeem(db, token), id)
    except LookupError:
        raise not_found("account connector", id) from None
    authentication = load_release(db, row.release_id).authentication(row.authentication)
    if authentication is None or authentication.OAuth2Type != "AuthorisationCode":
        raise ApiError(422, "this account connector does not use OAuth2 AuthorisationCode")
    verifier = generate_token(48)
    url, state = _oauth_client(authentication, dict(credentials.properties)).create_authorization_url(
        render(authentication.AuthoriseUrl or "", credentials.properties), code_verifier=verifier)
    db.add(OAuthState(state=state, account_connector_id=row.id, code_verifier=encrypt(verifier),
                      target_origin=str(targetOrigin), expires_at=_now() + CONSENT_LIFETIME))
    db.commit()
    return RedirectResponse(url, status_code=302)


def _back(target: str, **outcome: str) -> RedirectResponse:
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(outcome)}", status_code=302)


def _spend_state(db: Db, state: str) -> OAuthState:
    """The consent a callback answers; a state is good for one callback."""
    pending = db.get(OAuthState, state)
    if pending is None or as_utc(pending.expires_at) < _now():
        raise ApiError(400, "the authorisation is unknown or expired; start again from the link")
    db.delete(pending)
    db.commit()
    return pending


def _authentication(db: Db, id: str) -> tuple[Authentication, Credentials]:
    row, credentials = load_credentials(db, id)
    return load_release(db, row.release_id).authentication(row.authentication), credentials


@router.get("/connectorauth/callback", status_code=302, response_class=RedirectResponse,
            summary="The provider's redirect back: stores the tokens, redirects to targetOrigin",
            responses=responses(400, 413, 422))
async def finish_consent(request: Request, db: Db, state: str, code: str | None = None, error: str | None = None) -> RedirectResponse:
    pending = await run_in_threadpool(_spend_state, db, state)
    target, id = pending.target_origin, pending.account_connector_id
    if error or not code:
        return _back(target, status="error", id=id, message=error or "no code was returned")
    authentication, credentials = await run_in_threadpool(_authentication, db, id)
    await release(db)  # no pooled connection held while the provider answers
    try:
        async with _oauth_client(authentication, dict(credentials.properties), request.app.state.http) as client:
            body = await client.fetch_token(token_url(authentication, credentials), code=code,
                                            code_verifier=decrypt(pending.code_verifier))
    except OAuthError as err:
        return _back(target, status="error", id=id, message=f"{err.error}: {err.description or ''}")
    except TooDeep as err:
        return _back(target, status="error", id=id, message=err.reason)
    await run_in_threadpool(save_token, id, Token.of(dict(body)))
    if reason := await post_install.fill(request.app.state.http, id, dict(body)):
        return _back(target, status="error", id=id, message=reason)  # authorised; its properties are not all there
    return _back(target, status="success", id=id)
