"""The egress policy where it holds: the engine's transport, against a real loopback server
(the demo API), so the address checked is the one actually connected to."""

from __future__ import annotations

import httpx
import pytest

from connectors import Credentials, parse_connector
from connectors.call import call_method
from connectors.client import http_client
from connectors.egress import EgressPolicy, EgressRefused
from connectors.errors import StepError
from connectors.oauth import obtain_token
from connectors.spec import Authentication
from connectors.transport import AiohttpTransport
from demo.oauth import CLIENT_ID, CLIENT_SECRET

STRICT = EgressPolicy.parse("", setting="CYCLEWRIGHT_EGRESS_ALLOW")


async def _reached(demo_url: str, prefix: str = "/") -> list[str]:
    """The paths the demo received (its /admin routes are not recorded)."""
    async with httpx.AsyncClient() as client:
        found = (await client.get(f"{demo_url}/admin/requests", params={"prefix": prefix})).json()
    return [r["path"] for r in found]


async def _status(policy: EgressPolicy, url: str, **options) -> int | str:
    """The status `url` answers through the engine's client, or the egress refusal."""
    async with http_client(2, policy) as client:
        try:
            return (await client.get(url, **options)).status_code
        except EgressRefused as err:
            return err.reason


@pytest.mark.parametrize("host, named", [
    ("127.0.0.1", "127.0.0.1, a non-public address (loopback)"),
    ("localhost", "'localhost' resolves to 127.0.0.1, a non-public address (loopback)"),
    ("[::ffff:127.0.0.1]", "127.0.0.1, a non-public address (loopback)"),
    ("0x7f000001", "'0x7f000001' resolves to 127.0.0.1"),  # an address spelled as a name
])
async def test_loopback_is_refused_by_address_and_by_name(demo, host, named):
    refusal = await _status(STRICT, f"http://{host}:{demo.port}/crm/contacts")
    assert named in refusal and "CYCLEWRIGHT_EGRESS_ALLOW" in refusal
    assert await _reached(demo.url) == []


async def test_an_allowed_network_admits_names_in_it_and_an_allowed_name_only_itself(demo):
    network, name = EgressPolicy.parse("127.0.0.0/8"), EgressPolicy.parse("localhost")
    assert await _status(network, f"http://127.0.0.1:{demo.port}/admin/stats") == 200
    assert await _status(network, f"http://localhost:{demo.port}/admin/stats") == 200
    assert await _status(name, f"http://localhost:{demo.port}/admin/stats") == 200
    assert "non-public" in await _status(name, f"http://127.0.0.1:{demo.port}/admin/stats")


async def test_every_redirect_is_checked(demo):
    """Allowed by name, the first request goes; its redirect to a refused address does not."""
    hop = f"http://localhost:{demo.port}/redirect?to=http://127.0.0.1:{demo.port}/crm/contacts"
    refusal = await _status(EgressPolicy.parse("localhost"), hop, follow_redirects=True)
    assert "127.0.0.1, a non-public address" in refusal
    assert await _reached(demo.url) == ["/redirect"]
    # The same hop with loopback allowed gets to the end (the demo wants a key there).
    assert await _status(EgressPolicy.parse("127.0.0.0/8,localhost"), hop, follow_redirects=True) == 401


async def test_only_http_and_https():
    transport = AiohttpTransport(EgressPolicy.parse("0.0.0.0/0"))  # every address allowed: the scheme decides
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"):
        with pytest.raises(EgressRefused, match="not an http"):
            await transport.handle_async_request(httpx.Request("GET", url))
    await transport.aclose()


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
    """httpx accepts '127.1' as a host, aiohttp does not: no retry would change that."""
    connector = parse_connector({"Name": "Odd", "Version": "1", "Methods": [
        {"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": f"http://127.1:{demo.port}/x"}]})
    async with http_client(2, EgressPolicy.parse("127.0.0.0/8")) as client:
        with pytest.raises(StepError, match="the URL cannot be sent") as caught:
            await call_method(client, connector, "list", credentials=Credentials())
    assert not caught.value.retryable
