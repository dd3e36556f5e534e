"""The engine's one HTTP layer: every request the engine sends, on aiohttp.

A call builds one `Request` (method, URL, headers, body bytes) and gets one `Response` (status,
headers, the body read in full); aiohttp's connection pool and C parser do the wire, with
nothing in between. Nothing is kept between calls but open connections: no cookies (a cookie
one account's API sets never rides along with another account's request), no redirects
(connectors/redirects.py follows those a method allows, each hop a request of its own).
Bodies come decompressed.

Every request passes here, so this is where the egress policy holds: the scheme and an
IP-literal host are checked per request, and names through the resolver, which keeps only the
addresses the policy allows (what aiohttp connects to). A request that gets no response raises
`Unsent`: `TimedOut` and `ConnectionFailed` may pass on a retry, `Unsendable` never will.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from yarl import URL

from connectors.egress import SCHEMES, EgressPolicy, EgressRefused
from connectors.encoding import form_pairs
from connectors.framing import TolerantConnector

REDIRECTS = frozenset({301, 302, 303, 307, 308})
FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Request:
    method: str  # upper case
    url: URL
    headers: dict[str, str]
    content: bytes = b""
    shown_url: str | None = None  # the URL as a trace may record it (secrets masked): connectors/call.py's


def build_request(method: str, url: URL, headers: Mapping[str, str], *, content: str | bytes | None = None,
                  json: Any = None, data: Mapping[str, Any] | None = None) -> Request:
    """A request with its body encoded once: `content` as it is (text as UTF-8), `json` as
    compact UTF-8 JSON, `data` as a form (nested in brackets: connectors/encoding.py)."""
    headers = dict(headers)
    if json is not None:
        body = _json_bytes(json)
        headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        body = urlencode(list(form_pairs(data))).encode()
        headers.setdefault("Content-Type", FORM)
    else:
        body = content.encode() if isinstance(content, str) else content or b""
    return Request(method.upper(), url, headers, body)


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # made once: json.dumps
# with options makes an encoder per call


def _json_bytes(value: Any) -> bytes:
    return _JSON.encode(value).encode()


CHARSET = re.compile(r';\s*charset\s*=\s*"?([\w.:-]+)', re.IGNORECASE)
LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,]+)*)')
LINK_REL = re.compile(r'rel\s*=\s*"?([^";,]+)"?', re.IGNORECASE)


@dataclass(slots=True)
class Response:
    status_code: int
    reason_phrase: str
    headers: CIMultiDictProxy[str]
    content: bytes
    request: Request
    elapsed: float = 0.0  # seconds from sending until the whole body was read
    history: list[Response] = field(default_factory=list)  # the answers that redirected to this one

    @property
    def url(self) -> URL:
        return self.request.url

    @property
    def text(self) -> str:
        """The body decoded by the Content-Type's charset (UTF-8 when it names none, or one
        Python does not know), undecodable bytes replaced."""
        found = CHARSET.search(self.headers.get("Content-Type", ""))
        try:
            return self.content.decode(found.group(1) if found else "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECTS and "Location" in self.headers

    @property
    def links(self) -> dict[str, str]:
        """The Link headers' targets by relation (RFC 8288): {"next": URL text, ...}, the
        first of each relation."""
        found: dict[str, str] = {}
        for header in self.headers.getall("Link", ()):
            for target, params in LINK.findall(header):
                rel = LINK_REL.search(params)
                for name in rel.group(1).lower().split() if rel else ():
                    found.setdefault(name, target)
        return found


def header_dict(headers: Mapping[str, str] | CIMultiDictProxy[str]) -> dict[str, str]:
    """Headers as scripts and the debugger see them: names in lower case, repeated ones joined
    by commas."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


class Unsent(Exception):
    """A request that got no response; the message says why."""


class TimedOut(Unsent):
    """No connection, or no answer, within the timeout: a retry may pass."""


class ConnectionFailed(Unsent):
    """The connection failed, or broke before the answer was read: a retry may pass."""


class Unsendable(Unsent):
    """The URL cannot be sent (aiohttp refuses it): no retry will change that."""


# Most specific first: each aiohttp failure as the engine classifies it.
ERRORS: tuple[tuple[type[BaseException], type[Unsent]], ...] = (
    (asyncio.TimeoutError, TimedOut),  # aiohttp's timeouts are TimeoutErrors too
    (aiohttp.InvalidURL, Unsendable),
    (aiohttp.NonHttpUrlClientError, Unsendable),
    (aiohttp.ClientError, ConnectionFailed),
)
Send = Callable[[Request], Awaitable[Response]]


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


def _address_refusal(policy: EgressPolicy, host: str) -> str | None:
    """Why the policy refuses `host` when it is an address (None for a name, or an allowed
    address). Cached by each client, by host alone (hashing the policy costs more than the
    check): most calls go to the hosts of a few connectors."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return policy.refusal(host)


class HttpClient:
    """The engine's client: one per process, shared by every account connector.

    `timeout` bounds each part of a request: waiting for a connection, connecting, and each
    read. `observe`, when set (runtime/telemetry.py sets it), wraps every send.
    """

    def __init__(self, policy: EgressPolicy, timeout: float, max_connections: int = 100,
                 keepalive_seconds: float = 5.0) -> None:
        self.policy, self.timeout = policy, timeout
        self.address_refusal = lru_cache(maxsize=1024)(partial(_address_refusal, policy))
        self.max_connections, self.keepalive_seconds = max_connections, keepalive_seconds
        self.timeouts = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self.session: aiohttp.ClientSession | None = None
        self.observe: Callable[[Request, Send], Awaitable[Response]] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def send(self, request: Request) -> Response:
        if self.observe is not None:
            return await self.observe(request, self._send)
        return await self._send(request)

    def _session(self) -> aiohttp.ClientSession:
        # Made on first use: a ClientSession belongs to the event loop that makes it.
        if self.session is None:
            connector = TolerantConnector(limit=self.max_connections, keepalive_timeout=self.keepalive_seconds,
                                          resolver=_PolicyResolver(self.policy))
            self.session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                 timeout=self.timeouts)
        return self.session

    def _check(self, url: URL) -> None:
        """The scheme, and a host given as an address (aiohttp connects to those unresolved)."""
        if url.scheme not in SCHEMES:
            self.policy.check_scheme(url.scheme, str(url.with_query(None).with_fragment(None)))
        if refusal := self.address_refusal(url.raw_host or ""):
            raise EgressRefused(refusal)

    async def _send(self, request: Request) -> Response:
        self._check(request.url)
        started = time.perf_counter()
        try:
            async with self._session().request(request.method, request.url, headers=request.headers,
                                               data=request.content or None, allow_redirects=False) as answer:
                content = await answer.read()
        except tuple(source for source, _ in ERRORS) as err:
            kind = next(target for source, target in ERRORS if isinstance(err, source))
            raise kind(str(err) or type(err).__name__) from err
        return Response(answer.status, answer.reason or "", answer.headers, content, request,
                        time.perf_counter() - started)

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
