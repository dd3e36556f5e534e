"""The HTTP client the engine sends through: one per process, shared by every account connector."""

from __future__ import annotations

from http.cookiejar import CookieJar

import httpx

from connectors.transport import AiohttpTransport


class _NoCookies(CookieJar):
    """Keeps no cookie: a cookie one account's API sets must never ride along with another
    account's requests on the shared client."""

    def extract_cookies(self, response, request) -> None:
        pass

    def add_cookie_header(self, request) -> None:
        pass


def http_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), cookies=_NoCookies(), transport=AiohttpTransport())
