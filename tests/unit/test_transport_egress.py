"""The egress policy where it holds: the engine's HTTP client, against a real loopback server
(the demo API), so the address checked is the one actually connected to."""

from __future__ import annotations

import socket

import httpx
import pytest
from yarl import URL

from connectors import Credentials, parse_connector
from connectors.call import call_method
from connectors.client import http_client
from connectors.egress import EgressPolicy, EgressRefused
from connectors.errors import StepError
from connectors.oauth import obtain_token
from connectors.redirects import next_request
from connectors.spec import Authentication
from connectors.transport import HttpClient, _PolicyResolver, build_request
from demo.oauth import CLIENT_ID, CLIENT_SECRET

STRICT = EgressPolicy.parse("", setting="CYCLEWRIGHT_EGRESS_ALLOW")


async def _reached(demo_url: str, prefix: str = "/") -> list[str]:
    """The paths the demo received (its /admin routes are not recorded)."""
    async with httpx.AsyncClient() as client:
        found = (await client.get(f"{demo_url}/admin/requests", params={"prefix": prefix})).json()
    return [r["path"] for r in found]


async def _status(policy: EgressPolicy, url: str, hops: int = 0) -> int | str:
    """The status `url` answers through the engine's client (after following `hops` redirects,
    each a request of its own), or the egress refusal."""
    async with http_client(2, policy) as client:
        try:
            response = await client.send(build_request("GET", URL(url), {}))
            for _ in range(hops):
                response = await client.send(next_request(response))
            return response.status_code
        except EgressRefused as err:
            return err.reason


@pytest.mark.parametrize("host, named", [
    ("127.0.0.1", "127.0.0.1, a non-public address (loopback)"),
    ("localhost", "'localhost' resolves to 127.0.0.1, a non-public address (loopback)"),
    ("[::ffff:127.0.0.1]", "embedding 127.0.0.1, a non-public address (loopback)"),
    ("0x7f000001", "'0x7f000001' resolves to 127.0.0.1"),  # an address spelled as a name
])
async def test_loopback_is_refused_by_address_and_by_name(demo, host, named):
    refusal = await _status(STRICT, f"http://{host}:{demo.port}/crm/contacts")
    assert named in refusal and "CYCLEWRIGHT_EGRESS_ALLOW" in refusal
    assert await _reached(demo.url) == []


@pytest.mark.parametrize("host, named", [
    ("[::ffff:127.0.0.1]", "an IPv4-mapped address embedding 127.0.0.1, a non-public address (loopback)"),
    ("[::127.0.0.1]", "an IPv4-compatible address embedding 127.0.0.1, a non-public address (loopback)"),
    ("[64:ff9b::a9fe:a9fe]", "a NAT64 address embedding 169.254.169.254, a non-public address (link-local)"),
    ("[64:ff9b:1::7f00:1]", "a local-use NAT64 address embedding 127.0.0.1, a non-public address (loopback)"),
    ("[2002:7f00:1::1]", "a 6to4 address embedding 127.0.0.1, a non-public address (loopback)"),
    ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "a Teredo address embedding 127.0.0.1, a non-public address"),
    ("[fec0::1]", "fec0::1, a non-public address (site-local)"),
])
async def test_ipv6_forms_of_non_public_addresses_are_refused_before_any_connection(demo, host, named):
    """Refused, not tried: a connection attempt would fail otherwise (ConnectError) or reach
    the demo (the IPv4-mapped form does, when allowed: see below)."""
    refusal = await _status(STRICT, f"http://{host}:{demo.port}/crm/contacts")
    assert named in refusal and "CYCLEWRIGHT_EGRESS_ALLOW" in refusal
    assert await _reached(demo.url) == []


async def test_an_ipv4_mapped_address_reaches_its_ipv4_address_when_that_is_allowed(demo):
    assert await _status(EgressPolicy.parse("127.0.0.0/8"), f"http://[::ffff:127.0.0.1]:{demo.port}/crm/contacts") == 401
    assert await _reached(demo.url) == ["/crm/contacts"]


class _Answers:
    """A DNS that answers with the given addresses (getaddrinfo cannot be told to)."""

    def __init__(self, *hosts: str) -> None:
        self.hosts = hosts

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET6) -> list[dict]:
        return [{"hostname": host, "host": h, "port": port, "family": socket.AF_INET6, "proto": 0, "flags": 0}
                for h in self.hosts]


async def test_names_resolving_to_ipv6_forms_of_non_public_addresses_are_refused():
    resolver = _PolicyResolver(STRICT)
    resolver.inner = _Answers("64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1")
    with pytest.raises(EgressRefused, match="'metadata.example' resolves to 64:ff9b::a9fe:a9fe, a NAT64 address "
                                            "embedding 169.254.169.254, a non-public address"):
        await resolver.resolve("metadata.example", 80)
    resolver.inner = _Answers("64:ff9b::a9fe:a9fe", "64:ff9b::808:808", "2002:808:808::1")
    assert [r["host"] for r in await resolver.resolve("dns64.example", 80)] == ["64:ff9b::808:808"]


async def test_an_allowed_network_admits_names_in_it_and_an_allowed_name_only_itself(demo):
    network, name = EgressPolicy.parse("127.0.0.0/8"), EgressPolicy.parse("localhost")
    assert await _status(network, f"http://127.0.0.1:{demo.port}/admin/stats") == 200
    assert await _status(network, f"http://localhost:{demo.port}/admin/stats") == 200
    assert await _status(name, f"http://localhost:{demo.port}/admin/stats") == 200
    assert "non-public" in await _status(name, f"http://127.0.0.1:{demo.port}/admin/stats")


async def test_every_redirect_is_checked(demo):
    """Allowed by name, the first request goes; its redirect to a refused address does not."""
    hop = f"http://localhost:{demo.port}/redirect?to=http://127.0.0.1:{demo.port}/crm/contacts"
    refusal = await _status(EgressPolicy.parse("localhost"), hop, hops=1)
    assert "127.0.0.1, a non-public address" in refusal
    assert await _reached(demo.url) == ["/redirect"]
    # The same hop with loopback allowed gets to the end (the demo wants a key there).
    assert await _status(EgressPolicy.parse("127.0.0.0/8,localhost"), hop, hops=1) == 401


async def test_only_http_and_https():
    async with HttpClient(EgressPolicy.parse("0.0.0.0/0"), 2) as client:  # every address allowed: the scheme decides
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"):
            with pytest.raises(EgressRefused, match="not an http"):
                await client.send(build_request("GET", URL(url), {}))


async def test_token_requests_pass_the_policy(demo):
    auth = Authentication(AuthType="OAuth2", OAuth2Type="ClientCredentials",
                          AccessTokenUrl=f"{demo.url}/oauth/token")
    credentials = Credentials(properties={"ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET})
    async with http_client(2, STRICT) as client:
        with pytest.raises(EgressRefused, match="loopback"):
            await obtain_token(auth, credentials, None, client)
    assert await _reached(demo.url, "/oauth") == []
    async with http_client(2, EgressPolicy.parse("127.0.0.0/8")) as client:
        assert (await obtain_token(auth, credentials, None, client)).access_token


async def test_a_refused_call_is_a_final_step_error_the_debugger_shows(demo):
    connector = parse_connector({"Name": "Loopback", "Version": "1", "Methods": [
        {"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": f"{demo.url}/crm/contacts"}]})
    exchanges = []
    async with http_client(2, STRICT) as client:
        with pytest.raises(StepError) as caught:
            await call_method(client, connector, "list", credentials=Credentials(), on_exchange=exchanges.append)
    err = caught.value
    assert isinstance(err, EgressRefused) and not err.retryable
    assert str(err).startswith("Loopback list: 127.0.0.1, a non-public address (loopback)")
    (exchange,) = exchanges
    assert exchange.url == f"{demo.url}/crm/contacts" and exchange.status is None and "loopback" in exchange.error


async def test_a_url_the_transport_cannot_send_is_final_too(demo):
    """aiohttp refuses '127.1' as a host (an IPv4 address must be canonical): no retry would change that."""
    connector = parse_connector({"Name": "Odd", "Version": "1", "Methods": [
        {"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": f"http://127.1:{demo.port}/x"}]})
    async with http_client(2, EgressPolicy.parse("127.0.0.0/8")) as client:
        with pytest.raises(StepError, match="the URL cannot be sent") as caught:
            await call_method(client, connector, "list", credentials=Credentials())
    assert not caught.value.retryable
