"""Errors that no retry can fix are final and plain; HTTP errors carry their exchange."""

from __future__ import annotations

import base64

import httpx
import pytest

from connectors import (
    ConfigurationError,
    ConnectorError,
    Credentials,
    InvalidCredentials,
    InvalidUrl,
    RetryableError,
    StepError,
    Unauthorized,
    call_method,
    parse_connector,
)
from connectors.auth import auth_value_problem
from connectors.spec import Authentication
from connectors.urls import checked_url, endpoint_problems
from tests.mock_http import mock_client

SECRET = "tok-secret-123"


def connector(auth: dict | None = None, endpoint: str = "{{BaseUrl}}/leads", parameters=(), **method) -> dict:
    return {
        "Name": "Leads", "Authentication": [{"Name": "a", **(auth or {"AuthType": "Bearer"})}],
        "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
        "Methods": [{"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": endpoint,
                     "Parameters": list(parameters), **method,
                     "ResponseFormat": {"Fields": [{"ConnectorField": "[items].id", "SystemField": "Id"}]}}],
    }


async def call(document: dict, handler=None, auth_value: str = SECRET, base_url: str = "https://api.test",
               **kwargs):
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request) if handler else httpx.Response(200, json={"items": [{"id": 1}]})

    async with mock_client(record) as client:
        result = await call_method(client, parse_connector(document), "list",
                                   credentials=Credentials(auth_value, {"BaseUrl": base_url}), **kwargs)
    return result, sent


# Invalid URLs


@pytest.mark.parametrize("base_url, problem", [
    ("not a url", "is not an http(s) URL"),
    ("", "is not an http(s) URL"),
    ("ftp://x", "is not an http(s) URL"),
    ("http://", "has no host"),
    ("https://host:port", "is not a valid URL"),
])
async def test_an_endpoint_that_is_no_http_url_is_final_and_says_why(base_url, problem):
    with pytest.raises(InvalidUrl) as caught:
        await call(connector(), base_url=base_url)
    err = caught.value
    assert isinstance(err, ConfigurationError) and not err.retryable
    assert f"the URL '{base_url}/leads' {problem}" in str(err)
    assert err.connector == "Leads" and err.method == "list" and err.problem.startswith(problem)


async def test_an_invalid_url_never_shows_a_secret():
    with pytest.raises(InvalidUrl) as caught:
        await call(connector(), base_url=f"ftp://{SECRET}@x")
    assert SECRET not in str(caught.value) and "ftp://***@x/leads" in str(caught.value)


async def test_an_invalid_next_page_url_is_final():
    paged = connector(parameters=[{"TargetType": "ResponseField", "TargetName": "next",
                                   "Values": ["PAGE_NEXT_URL"]}], PagedInbound=True)
    result, _ = await call(paged, lambda r: httpx.Response(200, json={"items": [], "next": "ftp://x/2"}))
    assert result.next_cursor["next_url"] == "ftp://x/2"
    with pytest.raises(InvalidUrl, match="the next-page URL 'ftp://x/2' is not an http"):
        await call(paged, cursor=result.next_cursor)


@pytest.mark.parametrize("following, expected", [
    ("/api/x?page=2", "https://api.test/api/x?page=2"),
    ("?page=2", "https://api.test/v1/leads?page=2"),
    ("page2", "https://api.test/v1/page2"),
    ("https://other.test/p", "https://other.test/p"),
])
async def test_a_relative_link_header_is_resolved_against_the_page(following, expected):
    paged = connector(PagedInbound=True)
    reply = httpx.Response(200, json={"items": [{"id": 1}]}, headers={"Link": f'<{following}>; rel="next"'})
    result, _ = await call(paged, lambda r: reply, base_url="https://api.test/v1")
    assert result.next_cursor["next_url"] == expected


# Credentials that cannot be sent


@pytest.mark.parametrize("auth, header", [
    ({"AuthType": "ApiKey", "ApiKeyLocation": "Header", "ApiKeyName": "X-Api-Key"}, "X-Api-Key"),
    ({"AuthType": "Bearer"}, "Authorization"),
    ({"AuthType": "Basic"}, "Authorization"),
])
async def test_a_non_ascii_auth_value_in_a_header_is_final_and_not_quoted(auth, header):
    with pytest.raises(InvalidCredentials) as caught:
        await call(connector(auth), auth_value="clé-secrète")
    err = caught.value
    assert isinstance(err, ConfigurationError) and not err.retryable
    assert f"the AuthValue cannot be sent in the '{header}' header: it must be ASCII" in str(err)
    assert "clé" not in str(err) and err.method == "list"


async def test_a_non_ascii_api_key_in_the_query_is_sent():
    auth = {"AuthType": "ApiKey", "ApiKeyLocation": "QueryString", "ApiKeyName": "key"}
    _, sent = await call(connector(auth), auth_value="clé")
    assert sent[0].url.params["key"] == "clé"


async def test_a_non_ascii_header_from_a_mergefield():
    secret_header = {"TargetType": "HttpHeader", "TargetName": "X-Key", "DefaultValue": "{{Auth_ApiKey}}"}
    with pytest.raises(InvalidCredentials, match="'X-Key' header"):
        await call(connector({"AuthType": "None"}, parameters=[secret_header]), auth_value="clé")
    plain_header = {"TargetType": "HttpHeader", "TargetName": "X-Region", "DefaultValue": "Zürich"}
    with pytest.raises(StepError, match="'X-Region' header: it must be ASCII"):
        await call(connector({"AuthType": "None"}, parameters=[plain_header]))


async def test_auth_username_needs_a_base64_auth_value_only_where_used():
    user = {"TargetType": "QueryString", "TargetName": "user", "DefaultValue": "{{Auth_Username}}"}
    with pytest.raises(InvalidCredentials, match=r"\{\{Auth_Username\}\} cannot be sent: the AuthValue must be"):
        await call(connector({"AuthType": "None"}, parameters=[user]), auth_value="not base64!")
    await call(connector({"AuthType": "None"}), auth_value="not base64!")  # unused: no error
    encoded = base64.b64encode(b"ann:pw").decode()
    _, sent = await call(connector({"AuthType": "None"}, parameters=[user]), auth_value=encoded)
    assert sent[0].url.params["user"] == "ann"


@pytest.mark.parametrize("auth, value, problem", [
    ({"AuthType": "ApiKey", "ApiKeyName": "X-Api-Key"}, "clé", "'X-Api-Key' header: it must be ASCII"),
    ({"AuthType": "ApiKey", "ApiKeyLocation": "QueryString"}, "clé", None),
    ({"AuthType": "Bearer"}, "clé", "'Authorization' header: it must be ASCII"),
    ({"AuthType": "Basic"}, base64.b64encode(b"ann:pw").decode(), None),
    ({"AuthType": "Basic"}, "s3cret", "base64 of 'user:password'"),
    ({"AuthType": "Basic"}, base64.b64encode(b"no colon").decode(), "base64 of 'user:password'"),
    ({"AuthType": "Basic"}, base64.b64encode(b"\xff:\xfe").decode(), "base64 of 'user:password'"),
    ({"AuthType": "None"}, "clé", None),
])
def test_auth_value_problem(auth, value, problem):
    found = auth_value_problem(Authentication(Name="a", **auth), value)
    assert found == problem if problem is None else problem in found
    assert found is None or value not in found


# The exchange on errors


async def test_an_http_error_carries_its_exchange_with_secrets_masked():
    reply = httpx.Response(400, json={"error": "bad", "echo": SECRET})
    with pytest.raises(StepError) as caught:
        await call(connector(), lambda r: reply)
    exchange = caught.value.exchange
    assert exchange.status == 400 and exchange.method == "GET" and exchange.url == "https://api.test/leads"
    assert exchange.request_headers["authorization"] == "***"
    assert SECRET not in exchange.response_body and '"error":"bad"' in exchange.response_body


@pytest.mark.parametrize("status, error", [(401, Unauthorized), (503, RetryableError), (429, RetryableError)])
async def test_every_http_error_carries_its_exchange(status, error):
    with pytest.raises(error) as caught:
        await call(connector(), lambda r: httpx.Response(status, text="no"))
    assert caught.value.exchange.status == status and caught.value.exchange.response_body == "no"


async def test_a_transport_failure_carries_its_exchange():
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {SECRET}", request=request)

    with pytest.raises(RetryableError) as caught:
        await call(connector(), refused)
    exchange = caught.value.exchange
    assert exchange.status is None and exchange.response_body is None
    assert "connection failed" in exchange.error and SECRET not in exchange.error


async def test_no_exchange_is_built_on_success(monkeypatch):
    import connectors.call

    built = []
    monkeypatch.setattr(connectors.call, "exchange_of", lambda *a, **k: built.append(a))
    result, _ = await call(connector())
    assert result.records == [{"Id": "1"}] and built == []
    assert ConnectorError("x").exchange is None


# Checks the API makes up front


def test_checked_url():
    assert checked_url("https://api.test/x").host == "api.test"
    with pytest.raises(InvalidUrl, match="the URL 'http:///x' has no host"):
        checked_url("http:///x")


@pytest.mark.parametrize("endpoint, properties, checked, blamed", [
    ("{{BaseUrl}}/crm/contacts", {"BaseUrl": "https://crm.test"}, {"BaseUrl"}, {}),
    ("{{BaseUrl}}/crm/contacts", {"BaseUrl": "ftp://crm.test"}, {"BaseUrl"}, {"BaseUrl": "is not an http(s)"}),
    ("{{BaseUrl}}/crm/contacts", {"BaseUrl": "crm.test"}, {"BaseUrl"}, {"BaseUrl": "is not an http(s)"}),
    ("https://{{BaseUrl}}/crm", {"BaseUrl": ""}, {"BaseUrl"}, {"BaseUrl": "has no host"}),
    ("https://{{BaseUrl}}/{{Id}}", {"BaseUrl": "crm.test"}, {"BaseUrl"}, {}),  # Id: a placeholder
    ("{{Region}}/{{BaseUrl}}", {"BaseUrl": "x"}, {"BaseUrl"}, {}),  # Region decides the host: skipped
    ("{{BaseUrl}}/crm", {"BaseUrl": "ftp://crm.test"}, set(), {}),  # only the properties given are checked
])
def test_endpoint_problems(endpoint, properties, checked, blamed):
    document = connector(endpoint=endpoint)
    document["Parameters"] += [{"Name": n, "TargetType": "MergeField"} for n in ("Id", "Region")]
    spec = parse_connector(document)
    found = endpoint_problems(spec, properties, checked)
    assert set(found) == set(blamed)
    for name, why in blamed.items():
        assert f"property '{name}'" in found[name] and "method 'list'" in found[name] and why in found[name]


def test_the_api_refuses_what_would_fail_every_call():
    from api.routers.account_connectors import PropertyIn, _check
    from store.problems import Invalid

    spec = parse_connector(connector({"AuthType": "ApiKey", "ApiKeyName": "X-Api-Key"}))
    with pytest.raises(Invalid) as caught:
        _check(spec, None, [PropertyIn(Name="BaseUrl", Value="ftp://crm.test")], "clé")
    problems = {p.path: p.message for p in caught.value.problems}
    assert set(problems) == {"$.AuthValue", "$.Properties[0].Value"}
    assert "must be ASCII" in problems["$.AuthValue"] and "clé" not in problems["$.AuthValue"]
    assert "ftp://crm.test/leads" in problems["$.Properties[0].Value"]
    _check(spec, None, [PropertyIn(Name="BaseUrl", Value="https://crm.test")], "key")
