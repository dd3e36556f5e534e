"""A small OAuth 2 authorization server and a resource it protects, for the demo and tests.

Grants: authorization_code (with PKCE S256, consent given at once), refresh_token (which
rotates: each refresh token works once), client_credentials and password. Access tokens
expire after `lifetime` seconds. It counts token requests so tests can see a single refresh.
With an `instance_url` set, token responses name it as Salesforce's do: the host where the
user's data lives (another demo app sharing this server's tokens, see demo.app.create_app).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse

CLIENT_ID, CLIENT_SECRET = "demo-client", "demo-secret"
USERNAME, PASSWORD = "ada", "lovelace"
PORTAL_ID = 62515


@dataclass
class AuthServer:
    lifetime: float = 3600
    access: dict[str, float] = field(default_factory=dict)  # token -> expires at
    refresh: set[str] = field(default_factory=set)
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (challenge, redirect)
    token_requests: list[str] = field(default_factory=list)  # grant types, in order
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    instance_url: str | None = None  # named in token responses when set

    def issue(self, with_refresh: bool) -> dict:
        access = secrets.token_urlsafe(16)
        self.access[access] = time.time() + self.lifetime
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime}
        if self.instance_url:
            body["instance_url"] = self.instance_url
        if with_refresh:
            body["refresh_token"] = secrets.token_urlsafe(16)
            self.refresh.add(body["refresh_token"])
        return body


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _client(authorization: str | None, client_id: str | None, client_secret: str | None) -> bool:
    if authorization and authorization.lower().startswith("basic "):
        client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
    return client_id == CLIENT_ID and client_secret == CLIENT_SECRET


def oauth_router(server: AuthServer) -> APIRouter:
    router = APIRouter()
    server.gate.set()

    @router.get("/oauth/authorize")
    def authorize(response_type: str, client_id: str, redirect_uri: str, state: str,
                  code_challenge: str, code_challenge_method: str = "plain") -> RedirectResponse:
        if response_type != "code" or client_id != CLIENT_ID or code_challenge_method != "S256":
            return _error("invalid_request", "expected a code request with a S256 PKCE challenge")
        code = secrets.token_urlsafe(12)
        server.codes[code] = (code_challenge, redirect_uri)
        return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", status_code=302)

    @router.post("/oauth/token")
    async def token(
        grant_type: Annotated[str, Form()],
        authorization: Annotated[str | None, Header()] = None,
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
        code: Annotated[str | None, Form()] = None,
        code_verifier: Annotated[str | None, Form()] = None,
        redirect_uri: Annotated[str | None, Form()] = None,
        refresh_token: Annotated[str | None, Form()] = None,
        username: Annotated[str | None, Form()] = None,
        password: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        server.token_requests.append(grant_type)
        server.waiting += 1
        try:
            await server.gate.wait()
        finally:
            server.waiting -= 1
        if not _client(authorization, client_id, client_secret):
            return _error("invalid_client", "unknown client", 401)
        if grant_type == "authorization_code":
            challenge, expected_redirect = server.codes.pop(code or "", (None, None))
            if challenge is None or redirect_uri != expected_redirect:
                return _error("invalid_grant", "the code is unknown or was used")
            if create_s256_code_challenge(code_verifier or "") != challenge:
                return _error("invalid_grant", "PKCE verification failed")
            return JSONResponse(server.issue(with_refresh=True))
        if grant_type == "refresh_token":
            if refresh_token not in server.refresh:
                return _error("invalid_grant", "the refresh token was revoked or already used")
            server.refresh.discard(refresh_token)  # rotation: each refresh token works once
            return JSONResponse(server.issue(with_refresh=True))
        if grant_type == "client_credentials":
            return JSONResponse(server.issue(with_refresh=False))
        if grant_type == "password":
            if (username, password) != (USERNAME, PASSWORD):
                return _error("invalid_grant", "wrong username or password")
            return JSONResponse(server.issue(with_refresh=True))
        return _error("unsupported_grant_type", grant_type)

    def authorised(authorization: str | None) -> bool:
        return server.access.get((authorization or "").removeprefix("Bearer "), 0) >= time.time()

    @router.get("/oauth-api/contacts")
    def protected(request: Request, authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        if not authorised(authorization):
            return _error("invalid_token", "the access token is missing, unknown or expired", 401)
        return JSONResponse({"records": request.app.state.demo.contacts})

    @router.get("/oauth-api/whoami")
    def whoami(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        """Who the token is for, and the portal (a HubSpot-like account id) the data is in."""
        if not authorised(authorization):
            return _error("invalid_token", "the access token is missing, unknown or expired", 401)
        return JSONResponse({"user": USERNAME, "portal": {"id": PORTAL_ID}})

    @router.get("/oauth/done")
    def done(status: str = "", id: str = "", message: str = "") -> dict:
        return {"status": status, "id": id, **({"message": message} if message else {})}

    @router.post("/admin/oauth/expire")
    def expire() -> dict:
        server.access.clear()  # every access token is now unknown: the next call gets a 401
        return {"expired": True}

    @router.post("/admin/oauth/lifetime")
    def set_lifetime(seconds: float) -> dict:
        server.lifetime = seconds
        return {"lifetime": seconds}

    @router.post("/admin/oauth/instance")
    def set_instance(url: str | None = None) -> dict:
        server.instance_url = url
        return {"instance_url": url}

    @router.post("/admin/oauth/revoke")
    def revoke() -> dict:
        server.refresh.clear()
        return {"revoked": True}

    @router.post("/admin/oauth/hold")
    def hold() -> dict:
        server.gate.clear()
        return {"held": True}

    @router.post("/admin/oauth/release")
    def release() -> dict:
        server.gate.set()
        return {"held": False}

    @router.get("/admin/oauth")
    def stats() -> dict:
        return {"token_requests": server.token_requests, "waiting": server.waiting,
                "live_refresh_tokens": len(server.refresh)}

    return router
