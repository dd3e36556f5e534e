"""Partner authentication: client credentials in, a signed short-lived bearer token out."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from api.errors import ApiError
from runtime.settings import settings

TOKEN_LIFETIME = 3600
router = APIRouter(tags=["auth"])


@router.post("/oauth/token")
def issue_token(
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form()],
    client_secret: Annotated[str, Form()],
    account_id: Annotated[str | None, Form(description="scope the token to one account")] = None,
) -> dict:
    if grant_type != "client_credentials":
        raise ApiError(400, "grant_type must be client_credentials")
    config = settings()
    known = secrets.compare_digest(client_id, config.client_id) and secrets.compare_digest(
        client_secret, config.client_secret
    )
    if not known:
        raise ApiError(401, "unknown client id or secret")
    now = int(time.time())
    claims = {"sub": client_id, "iat": now, "exp": now + TOKEN_LIFETIME}
    if account_id:
        claims["account"] = account_id
    token = jwt.encode({"alg": "HS256"}, claims, _key())
    return {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME}


def _key() -> OctKey:
    return OctKey.import_key(settings().token_signing_key)


async def partner_claims(authorization: Annotated[str | None, Header()] = None) -> dict:
    """The verified claims of the caller's bearer token; 401 without a valid one."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "a bearer token is required (POST /oauth/token)")
    try:
        claims = jwt.decode(token, _key(), algorithms=["HS256"]).claims
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
    except (JoseError, ValueError):
        raise ApiError(401, "the bearer token is invalid or expired") from None
    return claims


Claims = Annotated[dict, Depends(partner_claims)]
