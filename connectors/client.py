"""The engine's HTTP client, and the way other libraries' httpx clients send through it."""

from __future__ import annotations

import httpx
from yarl import URL

from connectors.egress import EgressPolicy
from connectors.transport import HttpClient, Request, TimedOut, Unsendable, Unsent

# Headers httpx adds that the engine's client sets itself (framing, compression it can decode).
OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})


def http_client(timeout: float, egress: EgressPolicy) -> HttpClient:
    """Every request the engine sends: the API's, the worker's, OAuth token requests included."""
    return HttpClient(egress, timeout)


class _Through(httpx.AsyncBaseTransport):
    """An httpx transport that sends through the engine's client (so through the egress policy),
    its failures as the httpx errors the library expects. Closing it leaves the client open."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in OWN_HEADERS}
        sent = Request(request.method, URL(str(request.url), encoded=True), headers, await request.aread())
        try:
            response = await self.client.send(sent)
        except Unsent as err:
            kind = (httpx.TimeoutException if isinstance(err, TimedOut) else
                    httpx.UnsupportedProtocol if isinstance(err, Unsendable) else httpx.NetworkError)
            raise kind(str(err), request=request) from err
        return httpx.Response(response.status_code, headers=list(response.headers.items()),
                              content=response.content, request=request)


def httpx_transport(client: HttpClient) -> httpx.AsyncBaseTransport:
    """The engine's client as an httpx transport, for libraries built on httpx (authlib's OAuth2
    client) whose requests must pass the egress policy too."""
    return _Through(client)
