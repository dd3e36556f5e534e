"""Bearer tokens for the partner API (OAuth2 client credentials, RFC 6749 §4.4).

A partner token (`scope=partner`, the default) does everything. An account token
(`scope=account:{id}`, for an account that exists) acts for that one account: its account
connectors, cycles, runs and transactions, and reading what it can install. A portal session's
token (api/portal_access.py) is an account token limited to the portal's routes. All expire.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterable
from functools import cache
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Form, Header, Request
from fastapi.routing import APIRoute
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pydantic import BaseModel

from api.control import control
from api.errors import ApiError, OAuthErrorBody, responses
from api.portal_access import check_portal_route
from api.routes import needs
from runtime.settings import settings
from store.database import control_session
from store.tables import Account

TOKEN_LIFETIME = 3600
PARTNER_SCOPE = "partner"
ACCOUNT_SCOPE = "account:"
router = APIRouter(tags=["auth"])

# For the OpenAPI document ("Authorize" in /docs, either kind of token): `document_security`.
SCHEMES = {"OAuth2": {"type": "oauth2", "flows": {"clientCredentials": {
               "tokenUrl": "/oauth/token",
               "scopes": {PARTNER_SCOPE: "everything", f"{ACCOUNT_SCOPE}{{id}}": "one account"}}}},
           "Bearer": {"type": "http", "scheme": "bearer"}}


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    scope: str


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    headers = {"WWW-Authenticate": "Basic"} if error == "invalid_client" else None
    return ApiError(status, description, headers=headers, extra={"error": error, "error_description": description})


def _client(authorization: str | None, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """The client's id and secret: from HTTP Basic (client_secret_basic) or the form (client_secret_post)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _oauth_error(401, "invalid_client", "the Basic credentials are not base64 of id:secret") from None
    if not client_id or not client_secret:
        raise _oauth_error(401, "invalid_client", "client_id and client_secret are required (form or HTTP Basic)")
    return client_id, client_secret


async def _scope_claims(scope: str | None) -> dict:
    """The claims a scope grants; an account scope only for an account that exists."""
    scope = (scope or PARTNER_SCOPE).strip()
    if scope == PARTNER_SCOPE:
        return {"scope": scope}
    if not scope.startswith(ACCOUNT_SCOPE) or " " in scope:
        raise _oauth_error(400, "invalid_scope", f"scope must be '{PARTNER_SCOPE}' or '{ACCOUNT_SCOPE}<account id>'")
    account_id = scope.removeprefix(ACCOUNT_SCOPE)
    if not await control(_account_exists, account_id):
        raise _oauth_error(400, "invalid_scope", f"account '{account_id}' does not exist")
    return {"scope": scope, "account": account_id}


def _account_exists(account_id: str) -> bool:
    with control_session() as db:
        return db.get(Account, account_id) is not None


@router.post("/oauth/token", summary="Issue a bearer token (OAuth2 client credentials)",
             responses={400: {"model": OAuthErrorBody}, 401: {"model": OAuthErrorBody}, **responses(413, 422)})
async def issue_token(
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form(description=f"'{PARTNER_SCOPE}' (default) or '{ACCOUNT_SCOPE}<account id>'")]
    = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenOut:
    if grant_type != "client_credentials":
        raise _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id, client_secret = _client(authorization, client_id, client_secret)
    if not known_client(client_id, client_secret):
        raise _oauth_error(401, "invalid_client", "unknown client id or secret")
    claims = await _scope_claims(scope)
    return TokenOut(access_token=new_token(client_id, claims), expires_in=TOKEN_LIFETIME, scope=claims["scope"])


def known_client(client_id: str, client_secret: str) -> bool:
    """The partner's client id and secret (compared in constant time)."""
    config = settings()
    return secrets.compare_digest(client_id.encode(), config.client_id.encode()) & secrets.compare_digest(
        client_secret.encode(), config.client_secret.encode())


def new_token(client_id: str, claims: dict) -> str:
    """A signed token carrying `claims`, for TOKEN_LIFETIME seconds (unless `claims` has an `exp`)."""
    now = int(time.time())
    return jwt.encode({"alg": "HS256"}, {"sub": client_id, "iat": now, "exp": now + TOKEN_LIFETIME, **claims},
                      _key())


def _key() -> OctKey:
    return _imported(settings().token_signing_key)


@cache
def _imported(secret: str) -> OctKey:
    return OctKey.import_key(secret)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def partner_claims(request: Request) -> dict:
    """The verified claims of the caller's bearer token; 401 without a valid one, 403 for a
    portal session's token off the portal's routes. On the event loop: a token is verified once
    (`verified_claims`), then only looked up."""
    claims = verified_claims(bearer_token(request.headers.get("authorization")))
    check_portal_route(claims, request)
    return claims


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required (POST /oauth/token)")
    return token


def verified_claims(token: str) -> dict:
    """A partner or account token's claims; 401 when it is not one of ours, or expired.

    A token verified is remembered, by its exact text, until it expires (VERIFIED_KEPT tokens
    at most, the oldest forgotten first): a client sends the same token with every request,
    and checking its signature each time is most of what authentication costs. A token that
    fails is not remembered (made-up tokens must not grow the memory)."""
    known = _verified.get(token)
    if known is not None and known["exp"] > time.time():
        return known
    try:
        claims = jwt.decode(token, _key(), algorithms=["HS256"]).claims
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
    except (JoseError, ValueError):
        raise _unauthorized("the bearer token is invalid or expired") from None
    if len(_verified) >= VERIFIED_KEPT:
        del _verified[next(iter(_verified))]
    _verified[token] = claims
    return claims


VERIFIED_KEPT = 10_000
_verified: dict[str, dict] = {}  # token -> its claims, in the order they were verified


Claims = Annotated[dict, Depends(partner_claims)]


async def require_partner(claims: Claims) -> dict:
    """Only a partner token: account tokens may not create accounts, connectors or templates."""
    if claims.get("account"):
        raise ApiError(403, "this call needs a partner token; the token is scoped to one account")
    return claims


PartnerClaims = Annotated[dict, Depends(require_partner)]


def document_security(app: FastAPI, routes: Iterable[APIRoute]) -> None:
    """Declare the bearer token in the OpenAPI document for each of `routes` that checks one
    (depends on partner_claims): FastAPI's security dependencies would do it at the cost of two
    more dependencies solved for every request, for what only the document needs."""
    secured = {(route.path, method.lower()) for route in routes if needs(route.dependant, partner_claims)
               for method in route.methods}
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = build()
            document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    if (path, method) in secured:
                        operation["security"] = [{name: []} for name in SCHEMES]
        return app.openapi_schema

    app.openapi = openapi
