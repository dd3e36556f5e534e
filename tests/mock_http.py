"""The engine's HTTP client with a function in place of the wire, for unit tests.

The function answers as an httpx.MockTransport handler does: an httpx.Request in (what the
engine sent), an httpx.Response out (built with httpx's conveniences: json=, text=, headers=),
or an httpx error raised (a timeout, a refused connection), which the client reports as the
engine's own transport would.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import httpx
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.egress import EgressPolicy
from connectors.transport import (
    ConnectionFailed,
    HttpClient,
    Request,
    Response,
    TimedOut,
    Unsendable,
)

Handler = Callable[[httpx.Request], httpx.Response]


def as_httpx(request: Request) -> httpx.Request:
    return httpx.Request(request.method, str(request.url), headers=request.headers, content=request.content)


def answered(reply: httpx.Response, request: Request) -> Response:
    """`reply` as the engine's client returns an answer to `request`."""
    reply.read()
    headers = CIMultiDictProxy(CIMultiDict(reply.headers.multi_items()))
    return Response(reply.status_code, reply.reason_phrase, headers, reply.content, request)


class MockClient(HttpClient):
    def __init__(self, handler: Handler) -> None:
        super().__init__(EgressPolicy(), timeout=2)
        self.handler = handler

    async def _send(self, request: Request) -> Response:
        try:
            reply = self.handler(as_httpx(request))
            if inspect.isawaitable(reply):
                reply = await reply
        except httpx.TimeoutException as err:
            raise TimedOut(str(err)) from err
        except httpx.UnsupportedProtocol as err:
            raise Unsendable(str(err)) from err
        except httpx.TransportError as err:
            raise ConnectionFailed(str(err)) from err
        return answered(reply, request)


def mock_client(handler: Handler) -> MockClient:
    return MockClient(handler)
