"""The HTTP client the engine sends through: one per process, shared by every account connector."""

from __future__ import annotations

from http.cookiejar import CookieJar

import httpx

from connectors.egress import EgressPolicy
from connectors.transport import AiohttpTransport


class _NoCookies(CookieJar):
    """Keeps no cookie: a cookie one account's API sets must never ride along with another
    account's requests on the shared client."""

    def extract_cookies(self, response, request) -> None:
        pass

    def add_cookie_header(self, request) -> None:
        pass


def http_client(timeout: float, egress: EgressPolicy) -> httpx.AsyncClient:
    """Every request the engine sends: the API's, the worker's, OAuth token requests included."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), cookies=_NoCookies(), transport=AiohttpTransport(egress))


class _Borrowed(httpx.AsyncBaseTransport):
    """The engine's transport lent to a short-lived client: closing that client leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # the engine's client owns it


def borrowed_transport(client: httpx.AsyncClient) -> httpx.AsyncBaseTransport:
    """The engine's transport, for clients of other libraries (authlib's OAuth2 client) that
    must send through it too (httpx has no public accessor for a client's transport)."""
    return _Borrowed(client._transport)
