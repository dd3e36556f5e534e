"""httpx's interface over aiohttp's connection pool and HTTP parser.

The engine speaks httpx (requests, responses, errors); this transport sends through aiohttp,
whose C parser costs about a third of httpcore's CPU per request — the difference between a
worker that keeps up with its upstreams and one that does not. Nothing is kept between calls
but open connections: no cookies, no redirects (httpx decides those), no decompression
(httpx decodes the body it is given).

Every request the engine sends passes here, so this is where the egress policy holds: the
scheme and an IP-literal host are checked per request, and names through the resolver, which
keeps only the addresses the policy allows (what aiohttp connects to).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from connectors.egress import EgressPolicy, EgressRefused

CHUNK = 64 * 1024

# Most specific first: each aiohttp failure as the httpx error the engine classifies.
ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (asyncio.TimeoutError, httpx.PoolTimeout),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except tuple(source for source, _ in ERRORS) as err:
        target = next(target for source, target in ERRORS if isinstance(err, source))
        raise target(str(err) or type(err).__name__, request=request) from err


class _PolicyResolver(AbstractResolver):
    """DNS answers filtered by the egress policy: a name that resolves only to refused
    addresses fails; one that resolves to some allowed ones connects only to those."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy, self.inner = policy, aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        if self.policy.allows_host(host):
            return found
        allowed = [r for r in found if self.policy.refusal(r["host"], host) is None]
        if not allowed:
            raise EgressRefused(self.policy.refusal(found[0]["host"], host))
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, policy: EgressPolicy, max_connections: int = 100, keepalive_seconds: float = 5.0) -> None:
        self.policy = policy
        self.max_connections, self.keepalive_seconds = max_connections, keepalive_seconds
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        # Made on first use: a ClientSession belongs to the event loop that makes it.
        if self.session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=self.keepalive_seconds,
                                             resolver=_PolicyResolver(self.policy))
            self.session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                 auto_decompress=False)
        return self.session

    def _check(self, url: httpx.URL) -> None:
        """The scheme, and a host given as an address (aiohttp connects to those unresolved)."""
        self.policy.check_scheme(url.scheme, str(url.copy_with(query=None, fragment=None)))
        if _is_address(url.host) and (refusal := self.policy.refusal(url.host)):
            raise EgressRefused(refusal)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request.url)
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _as_httpx_errors(request):
            response = await self._session().request(
                request.method, str(request.url), headers=request.headers.multi_items(), data=body or None,
                allow_redirects=False, compress=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout.get("pool"),
                                              sock_connect=timeout.get("connect"), sock_read=timeout.get("read")),
            )
        return httpx.Response(
            response.status, headers=response.raw_headers, stream=_Body(response, request), request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self.response, self.request = response, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self.request):
            async for chunk in self.response.content.iter_chunked(CHUNK):
                yield chunk

    async def aclose(self) -> None:
        self.response.release()
