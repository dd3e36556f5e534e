"""Issue 17, acceptance 7: a response with both `Transfer-Encoding: chunked` and `Content-Length`
is read by its Transfer-Encoding (RFC 9112 §6.3), against a raw socket server that sends
exactly that; its connection is not reused, and every other response still is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from connectors import Credentials, call_method, parse_connector
from connectors.client import http_client
from connectors.egress import EgressPolicy
from connectors.transport import build_request

BODY = b'{"records": [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com"}]}'
# Chunked, with a Content-Length that would cut the body short were it believed.
BOTH = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 12\r\n\r\n" + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n")
PLAIN = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


class RawServer:
    """Answers each request on a connection with `BOTH` for paths under /both, else `PLAIN`,
    written as bytes to the socket; counts connections and keeps what it sent."""

    def __init__(self) -> None:
        self.connections, self.sent = 0, []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                answer = BOTH if head.split(b" ", 2)[1].startswith(b"/both") else PLAIN
                self.sent.append(answer)
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[tuple[RawServer, str]]:
    server = RawServer()
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    async with listening:
        yield server, f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"


async def test_plain_aiohttp_refuses_what_the_engine_reads(raw):
    """The premise: aiohttp alone (its C parser) refuses the response, so the engine's reading
    of it below is its own doing."""
    server, url = raw
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientResponseError, match="Content-Length can't be present"):
            await session.get(f"{url}/both")
    assert server.sent == [BOTH]


async def test_a_call_reads_a_response_with_both_by_its_chunks(raw):
    server, url = raw
    connector = parse_connector({"Name": "Both", "Version": "1", "Methods": [
        {"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": f"{url}/both",
         "ResponseFormat": {"Fields": [{"ConnectorField": "[records].email", "SystemField": "Email"}]}}]})
    async with http_client(2, EgressPolicy.parse("127.0.0.0/8")) as client:
        result = await call_method(client, connector, "list", credentials=Credentials())
    assert server.sent == [BOTH]
    assert result.status == 200 and [r["Email"] for r in result.records] == ["a@example.com", "b@example.com"]


async def test_its_connection_is_closed_after_it_and_others_are_kept(raw):
    server, url = raw
    async with http_client(2, EgressPolicy.parse("127.0.0.0/8")) as client:
        bodies = [(await client.send(build_request("GET", URL(f"{url}{path}"), {}))).content
                  for path in ("/a", "/b", "/both", "/c", "/both", "/d")]
    assert bodies == [BODY] * 6 and server.sent == [PLAIN, PLAIN, BOTH, PLAIN, BOTH, PLAIN]
    # /a, /b and /both on the first connection; /c and /both on a second; /d on a third.
    assert server.connections == 3
