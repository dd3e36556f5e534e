"""OAuth 2 for connector calls: tokens obtained and refreshed through authlib's httpx client,
which sends through the engine's client (connectors/client.py: the egress policy holds).

The engine keeps no token itself. A `TokenStore` (the store's, shared by every process)
holds the account connector's token and serialises refreshes, so that N processes finding
it stale cause one token request, and a rotated refresh token is saved before anyone uses it.
"""

from __future__ import annotations

import base64
import binascii
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():  # authlib announces a move to "httpx2"; nothing for us to do yet
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from connectors import nesting
from connectors.auth import Credentials
from connectors.client import httpx_transport
from connectors.errors import ConnectorError, RetryableError
from connectors.mergefields import render
from connectors.spec import Authentication
from connectors.transport import HttpClient

# Refresh this long before expiry, so a token never expires on the way to the API.
EARLY = 30.0


class NeedsReauthentication(ConnectorError):
    """The provider refused the grant (invalid_grant): a person must authorise again."""

    def __str__(self) -> str:
        return f"{super().__str__()} (the account connector needs re-authentication)"


@dataclass(frozen=True)
class Token:
    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # epoch seconds

    @classmethod
    def of(cls, body: dict[str, Any], previous: Token | None = None) -> Token:
        expires_at = body.get("expires_at")
        if expires_at is None and body.get("expires_in") is not None:
            expires_at = time.time() + float(body["expires_in"])
        # A provider that does not rotate sends no new refresh token: keep the old one.
        refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
        return cls(body["access_token"], refresh, float(expires_at) if expires_at else None)

    def fresh(self) -> bool:
        return self.expires_at is None or self.expires_at - time.time() > EARLY


Obtain = Callable[[Token | None], Awaitable[Token]]


class TokenStore(Protocol):
    async def current(self) -> Token | None: ...

    async def replace(self, stale: Token | None, obtain: Obtain) -> Token:
        """Under a lock: if the stored token is no longer `stale` another process already
        replaced it, so return that one; otherwise `obtain` a new one, save it, return it."""
        ...

    async def needs_reauthentication(self, reason: str) -> None: ...


def _client(auth: Authentication, credentials: Credentials, engine: HttpClient) -> AsyncOAuth2Client:
    properties = credentials.properties
    return bounded(AsyncOAuth2Client(
        client_id=properties.get("ClientId"), client_secret=properties.get("ClientSecret"),
        scope=" ".join(auth.Scopes) or None, timeout=engine.timeout,
        transport=httpx_transport(engine),  # token requests pass the egress policy too
    ))


def bounded(client: AsyncOAuth2Client) -> AsyncOAuth2Client:
    """authlib's client, its token responses checked for depth before authlib parses them."""
    for kind in ("access_token_response", "refresh_token_response"):
        client.register_compliance_hook(kind, _token_response)
    return client


def _token_response(response: httpx.Response) -> httpx.Response:
    nesting.check_text(response.content, "the token response")
    return response


def _user_password(credentials: Credentials) -> tuple[str, str]:
    try:
        user, _, password = base64.b64decode(credentials.auth_value or "").decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise NeedsReauthentication("AuthValue must be base64(username:password)") from None
    return user, password


def token_url(auth: Authentication, credentials: Credentials, refresh: bool = False) -> str:
    url = (auth.RefreshUrl if refresh and auth.RefreshUrl else auth.AccessTokenUrl) or ""
    return render(url, credentials.properties)


async def obtain_token(
    auth: Authentication, credentials: Credentials, previous: Token | None, client: HttpClient
) -> Token:
    """A new token: by refresh token when there is one, else by the grant the connector names."""
    try:
        async with _client(auth, credentials, client) as oauth:
            if previous is not None and previous.refresh_token:
                body = await oauth.refresh_token(token_url(auth, credentials, refresh=True),
                                                 refresh_token=previous.refresh_token)
            elif auth.OAuth2Type == "ClientCredentials":
                body = await oauth.fetch_token(token_url(auth, credentials), grant_type="client_credentials")
            elif auth.OAuth2Type == "PasswordCredentials":
                user, password = _user_password(credentials)
                body = await oauth.fetch_token(token_url(auth, credentials), grant_type="password",
                                               username=user, password=password)
            else:
                raise NeedsReauthentication("not authorised yet: complete the connector authentication link")
    except OAuthError as err:
        if err.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise NeedsReauthentication(f"{err.error}: {err.description or 'refused by the provider'}") from None
        raise RetryableError(f"token request failed: {err.error}") from None
    except httpx.TransportError as err:
        raise RetryableError(f"token request failed: {type(err).__name__}") from None
    return Token.of(dict(body), previous)


async def bearer(
    auth: Authentication, credentials: Credentials, store: TokenStore, client: HttpClient,
    rejected: Token | None = None,
) -> Token:
    """A token to send: the stored one while fresh, else one refreshed once across processes.

    `rejected` is a token the API answered 401 to: it is replaced even if it looks fresh.
    """
    token = await store.current()
    if token is not None and token.fresh() and token != rejected:
        return token

    async def obtain(stored: Token | None) -> Token:
        return await obtain_token(auth, credentials, stored, client)

    try:
        return await store.replace(rejected or token, obtain)
    except NeedsReauthentication as err:
        await store.needs_reauthentication(err.reason)
        raise
