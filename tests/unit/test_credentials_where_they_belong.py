"""Credentials go only to the connector's endpoint origins, call-time input cannot move them,
and secrets are masked by where they travel (DESIGN §7). The engine alone, mock transports."""

from __future__ import annotations

import httpx
import pytest
from yarl import URL

from connectors import Credentials, StepError, call_method, fetch_pages, parse_connector
from connectors.errors import UnknownParameter
from connectors.exchange import exchange_of
from connectors.transport import build_request
from tests.mock_http import answered, mock_client

KEY = "k"  # as short as a secret gets: masked by where it travels, never by substring
HOME, ELSEWHERE = "https://api.example.com", "https://elsewhere.example.net"

CONNECTOR = {
    "Name": "Keyed", "Version": "1", "PagedInbound": True,
    "Authentication": [{"Name": "Key", "AuthType": "ApiKey", "ApiKeyLocation": "Header", "ApiKeyName": "X-Api-Key"}],
    "Parameters": [
        {"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True},
        {"Name": "Token", "TargetType": "HttpHeader", "TargetName": "X-Token", "DefaultValue": "t {{Auth_ApiKey}}",
         "Hide": True},
        {"Name": "Tenant", "TargetType": "QueryString", "TargetName": "tenant", "DefaultValue": "t1",
         "IsSensitive": True, "Hide": True},
        {"Name": "Region", "TargetType": "MergeField", "DefaultValue": "eu"},  # visible: a caller may set it
    ],
    "Methods": [
        {"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get", "Endpoint": "{{BaseUrl}}/items",
         "Parameters": [
             {"Name": "Status", "TargetType": "QueryString", "TargetName": "status", "IsOptional": True},
             {"TargetType": "ResponseField", "TargetName": "next", "Values": ["PAGE_NEXT_URL"], "Hide": True}],
         "ResponseFormat": {"Fields": [{"ConnectorField": "[items].id", "SystemField": "Id"}]}},
        {"UniqueIdentifier": "regional", "Name": "Regional", "HttpMethod": "Get",
         "Endpoint": "https://{{Region}}.example.com/items?key={{Auth_ApiKey}}"},
    ],
}


def _credentials() -> Credentials:
    return Credentials(KEY, {"BaseUrl": HOME})


def _carries_secrets(request: httpx.Request) -> bool:
    return "x-api-key" in request.headers or "x-token" in request.headers or "tenant" in request.url.params


async def _call(handler, method: str = "list", **options):
    async with mock_client(handler) as client:
        return await call_method(client, parse_connector(CONNECTOR), method, credentials=_credentials(), **options)


def _answer(sent: list[httpx.Request], body: dict | None = None, headers: dict | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=body or {"items": [{"id": 1}]}, headers=headers)

    return handler


async def test_the_endpoint_origin_gets_the_credentials_and_their_parameters():
    sent = []
    await _call(_answer(sent))
    (request,) = sent
    assert request.headers["X-Api-Key"] == KEY and request.headers["X-Token"] == f"t {KEY}"
    assert request.url.params["tenant"] == "t1"


async def test_a_callers_next_url_elsewhere_is_followed_without_them():
    sent = []
    await _call(_answer(sent), cursor={"next_url": f"{ELSEWHERE}/items?page=2"})
    (request,) = sent
    assert request.url.host == "elsewhere.example.net" and not _carries_secrets(request)
    # Same host, other scheme or port: another origin too.
    for url in ("http://api.example.com/items", "https://api.example.com:8443/items"):
        await _call(_answer(sent), cursor={"next_url": url})
        assert not _carries_secrets(sent[-1]), url
    await _call(_answer(sent), cursor={"next_url": f"{HOME}/items?page=2"})
    assert _carries_secrets(sent[-1])


async def test_an_upstream_next_url_elsewhere_is_followed_without_them():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        following = {"next": f"{ELSEWHERE}/items?page=2"} if request.url.host == "api.example.com" else {}
        return httpx.Response(200, json={"items": [{"id": len(sent)}], **following})

    async with mock_client(handler) as client:
        pages = await fetch_pages(client, parse_connector(CONNECTOR), "list", credentials=_credentials())
    assert pages.pages == 2 and [r["Id"] for r in pages.records] == ["1", "2"]
    assert _carries_secrets(sent[0]) and not _carries_secrets(sent[1])


async def test_call_time_parameters_set_only_the_methods_visible_parameters():
    sent = []
    for name in ("BaseUrl", "Tenant", "tenant", "X-Token", "next"):
        with pytest.raises(UnknownParameter, match=f"'{name}'") as caught:
            await _call(_answer(sent), parameters={name: ELSEWHERE})
        assert "it may set: Region, Status, status" in str(caught.value)
    assert sent == []  # refused before anything was sent
    await _call(_answer(sent), parameters={"Status": "open"})
    assert sent[0].url.params["status"] == "open"


async def test_an_origin_moved_by_call_time_input_gets_no_credentials():
    """A visible parameter may decide the host; the credentials stay with the trusted one."""
    sent = []
    await _call(_answer(sent), "regional")
    assert sent[0].url.host == "eu.example.com" and sent[0].url.params["key"] == KEY
    with pytest.raises(StepError, match="would carry the credentials to https://attacker.example.com"):
        await _call(_answer(sent), "regional", parameters={"Region": "attacker"})
    assert len(sent) == 1


def test_a_one_character_secret_masks_only_where_it_travels():
    request = build_request("POST", URL(f"{HOME}/keys?key={KEY}&kind=kiosk"), {"X-Api-Key": KEY},
                            json={"key": KEY, "kind": "kiosk", "book": "k"})
    response = answered(httpx.Response(200, json={"looked": "k-k-k"}), request)
    shown = exchange_of(request, response, [KEY], masked_names=["X-Api-Key", "key"])
    assert shown.request_headers["x-api-key"] == "***"
    assert shown.url == f"{HOME}/keys?key=***&kind=kiosk"
    assert shown.request_body == '{"key": "***", "kind": "kiosk", "book": "k"}'
    assert shown.response_body == '{"looked":"k-k-k"}'


def test_token_bodies_are_masked_by_name_and_long_secrets_in_free_text():
    form = build_request("POST", URL(f"{HOME}/oauth/token"), {}, data={
        "grant_type": "refresh_token", "refresh_token": "r1", "client_id": "app", "client_secret": "s"})
    answer = answered(httpx.Response(200, json={"access_token": "a1", "token_type": "Bearer", "code": "ok",
                                                "nested": [{"id_token": "i1", "password": "p"}]}), form)
    shown = exchange_of(form, answer, [])
    assert shown.request_body == "grant_type=refresh_token&refresh_token=***&client_id=app&client_secret=***"
    assert shown.response_body == ('{"access_token": "***", "token_type": "Bearer", "code": "ok", '
                                   '"nested": [{"id_token": "***", "password": "***"}]}')
    echo = build_request("GET", URL(f"{HOME}/echo"), {})
    text = answered(httpx.Response(500, text="no such key: long-secret-1; short k"), echo)
    assert exchange_of(echo, text, ["long-secret-1", KEY]).response_body == "no such key: ***; short k"
