"""The connector engine on its own: no Temporal, no database, mock HTTP transports."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors import (
    ConnectorInvalid,
    Credentials,
    FieldValueError,
    MissingMergefield,
    RetryableError,
    StepError,
    Unauthorized,
    call_method,
    parse_connector,
)
from connectors.mergefields import render
from connectors.paths import body_from_values, parse_path, records_from_body
from connectors.spec import FieldSpec
from tests.mock_http import mock_client

DESIGN_EXAMPLE = {
    "Name": "Demo CRM", "Description": "Contacts and deals.", "Version": "1.0",
    "Authentication": [
        {"Name": "API key", "AuthType": "ApiKey", "ApiKeyLocation": "Header", "ApiKeyName": "X-Api-Key",
         "IsDefault": True},
        {"Name": "OAuth", "AuthType": "OAuth2", "OAuth2Type": "AuthorisationCode",
         "AuthoriseUrl": "https://{{Domain}}/oauth/authorize", "AccessTokenUrl": "https://{{Domain}}/oauth/token",
         "Scopes": ["contacts.read", "contacts.write"]},
    ],
    "Parameters": [{"Name": "Domain", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "PagedInbound": True, "PageSizeInbound": 100,
    "RateLimits": [{"MaxRequests": 100, "TimeFrame": "Minutes"}, {"MaxRequests": 10000, "TimeFrame": "Days"}],
    "Methods": [{
        "UniqueIdentifier": "list-contacts", "Name": "List Contacts", "Category": "Contacts",
        "MethodType": "Action", "HttpMethod": "Get", "Endpoint": "https://{{Domain}}/api/contacts",
        "DataType": "Json",
        "Parameters": [
            {"TargetType": "QueryString", "TargetName": "page", "Values": ["PAGE_NUMBER"], "Hide": True},
            {"TargetType": "QueryString", "TargetName": "per_page", "Values": ["PAGE_SIZE"], "Hide": True},
            {"TargetType": "QueryString", "TargetName": "updated_since",
             "DefaultValue": "{{LastSuccessfulRunDate format=yyyy-MM-ddTHH:mm:ssZ}}"},
        ],
        "ResponseFormat": {"Fields": [
            {"ConnectorField": "[records].id", "SystemField": "Id", "DisplayField": "Id", "DataType": "Text"},
            {"ConnectorField": "[records].email", "SystemField": "Email", "DisplayField": "Email"},
            {"ConnectorField": "[records].company.name", "SystemField": "CompanyName", "DisplayField": "Company"},
        ]},
    }],
}

WRITER = {
    "Name": "Writer", "Authentication": [{"Name": "Token", "AuthType": "Bearer"}],
    "Methods": [{
        "UniqueIdentifier": "create", "Name": "Create", "HttpMethod": "post",
        "Endpoint": "https://api.test/items", "IdempotencyKeyHeader": "Idempotency-Key",
        "RequestFormat": {"Fields": [
            {"ConnectorField": "item.name", "SystemField": "Name"},
            {"ConnectorField": "item.count", "SystemField": "Count", "DataType": "Integer", "IsOptional": True},
        ]},
        "ResponseFormat": {"Fields": [{"ConnectorField": "id", "SystemField": "Id"}]},
    }],
}


def fields(*pairs: str) -> list[FieldSpec]:
    return [FieldSpec(ConnectorField=path, SystemField=name) for path, name in zip(pairs[::2], pairs[1::2])]


def test_the_design_example_loads():
    connector = parse_connector(DESIGN_EXAMPLE)
    assert connector.method("list-contacts").response_fields[2].SystemField == "CompanyName"
    assert connector.default_authentication().Name == "API key"
    assert [p.Name for p in connector.account_properties()] == ["Domain"]


def test_every_mistake_is_listed_with_its_json_path():
    document = {**DESIGN_EXAMPLE, "Authentication": [{"AuthType": "ApiKey", "Colour": "red"}],
                "RateLimits": [{"MaxRequests": 5}]}
    document["Methods"] = [
        {**DESIGN_EXAMPLE["Methods"][0], "HttpMethod": "Fetch", "Endpoint": "https://{{Domian}}/x"},
        {**DESIGN_EXAMPLE["Methods"][0], "ResponseFormat": {"Fields": [
            {"ConnectorField": "[records.id", "SystemField": "Id"}]}},
    ]
    with pytest.raises(ConnectorInvalid) as caught:
        parse_connector(document)
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems["$.Authentication[0].Colour"] == "unknown property"
    assert "ApiKeyName" in problems["$.Authentication[0].ApiKeyName"]
    assert "$.Methods[0].HttpMethod" in problems
    assert "{{Domian}}" in problems["$.Methods[0].Endpoint"]
    assert "list-contacts" in problems["$.Methods[1].UniqueIdentifier"]
    assert "$.Methods[1].ResponseFormat.Fields[0].ConnectorField" in problems
    assert "$.RateLimits[0]" in problems
    with pytest.raises(ConnectorInvalid) as caught:
        parse_connector(["not", "an", "object"])
    assert caught.value.problems[0].path == "$"


def test_field_paths_read_every_shape():
    body = {"records": [{"id": 1, "company": {"name": "A"}, "tags": [{"id": "t1"}, {"id": "t2"}],
                         "odd.name": "x"}], "total": 1}
    got = records_from_body(body, fields("[records].id", "Id", "[records].company.name", "Company",
                                         "[records].[tags].id", "Tags", "[records].\\odd.name\\", "Odd",
                                         "total", "Total"))
    assert got == [{"Id": "1", "Company": "A", "Tags": ["t1", "t2"], "Odd": "x", "Total": "1"}]
    assert records_from_body([{"id": 7}, {"id": 8}], fields("[].id", "Id")) == [{"Id": "7"}, {"Id": "8"}]
    assert records_from_body({"contact": {"company": "B"}}, fields("contact.company", "C")) == [{"C": "B"}]
    assert records_from_body({"records": []}, fields("[records].id", "Id")) == []
    with pytest.raises(ValueError):
        parse_path("a.[b")


def test_request_bodies_and_types():
    spec = [FieldSpec(ConnectorField="item.name", SystemField="Name"),
            FieldSpec(ConnectorField="[lines].qty", SystemField="Qty", DataType="Integer"),
            FieldSpec(ConnectorField="flag", SystemField="Flag", DataType="Boolean", IsOptional=True)]
    assert body_from_values(spec, {"Name": "n", "Qty": "3", "Flag": "true"}) == {
        "item": {"name": "n"}, "lines": [{"qty": 3}], "flag": True}
    with pytest.raises(FieldValueError, match="'Qty'.*Integer"):
        body_from_values(spec, {"Name": "n", "Qty": "three"})
    with pytest.raises(FieldValueError, match="required field 'Name'"):
        body_from_values(spec, {"Qty": 1})


def test_mergefields_with_formats_and_missing_names():
    when = datetime(2026, 3, 4, 5, 6, 7, 89000, tzinfo=UTC)
    assert render("{{D format=yyyy-MM-ddTHH:mm:ss.fffZ}}/{{Id}}", {"D": when, "Id": 9}) == \
        "2026-03-04T05:06:07.089Z/9"
    with pytest.raises(MissingMergefield, match="Nope"):
        render("{{Nope}}", {})


async def call(handler, document=WRITER, credentials=None, **kwargs):
    credentials = credentials or Credentials("tok-secret-123")
    async with mock_client(handler) as client:
        connector = parse_connector(document)
        method = document["Methods"][0]["UniqueIdentifier"]
        return await call_method(client, connector, method, credentials=credentials, **kwargs)


async def test_a_write_sends_auth_body_and_idempotency_key():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 42})

    result = await call(handler, fields={"Name": "n", "Count": "2"}, idempotency_key="k1")
    assert result.records == [{"Id": "42"}]
    request = seen[0]
    assert request.method == "POST" and request.headers["Authorization"] == "Bearer tok-secret-123"
    assert request.headers["Idempotency-Key"] == "k1"
    assert request.read() == b'{"item":{"name":"n","count":2}}'


@pytest.mark.parametrize("auth, expect", [
    ({"AuthType": "ApiKey", "ApiKeyLocation": "Header", "ApiKeyName": "X-Key"}, ("header", "X-Key", "s3cret")),
    ({"AuthType": "ApiKey", "ApiKeyLocation": "QueryString", "ApiKeyName": "key"}, ("query", "key", "s3cret")),
    ({"AuthType": "Basic"}, ("header", "Authorization", "Basic s3cret")),
    ({"AuthType": "None"}, ("header", "Authorization", None)),
])
async def test_each_auth_type(auth, expect):
    document = {**DESIGN_EXAMPLE, "Authentication": [{"Name": "a", **auth}]}
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"records": [{"id": 1, "email": "e"}]})

    result = await call(handler, document, Credentials("s3cret", {"Domain": "crm.test"}),
                        mergefields={"LastSuccessfulRunDate": datetime(2026, 1, 2, tzinfo=UTC)})
    where, name, value = expect
    request = seen[0]
    found = request.headers.get(name) if where == "header" else request.url.params.get(name)
    assert found == value
    assert request.url.params["page"] == "1" and request.url.params["per_page"] == "100"
    assert request.url.params["updated_since"] == "2026-01-02T00:00:00Z"
    assert result.records == [{"Id": "1", "Email": "e", "CompanyName": None}]


async def test_client_errors_are_final_and_name_everything_without_secrets():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "bad email", "echo": "tok-secret-123"})

    with pytest.raises(StepError) as caught:
        await call(handler, fields={"Name": "n"})
    err = caught.value
    assert not err.retryable and err.status == 400
    assert "Writer" in str(err) and "create" in str(err) and "bad email" in str(err)
    assert "tok-secret-123" not in str(err)


async def test_unauthorized():
    with pytest.raises(Unauthorized):
        await call(lambda r: httpx.Response(401), fields={"Name": "n"})


@pytest.mark.parametrize("headers, delay", [
    ({"Retry-After": "2"}, 2.0),
    ({}, None),
])
async def test_rate_limited_and_server_errors_are_retryable(headers, delay):
    with pytest.raises(RetryableError) as caught:
        await call(lambda r: httpx.Response(429, headers=headers), fields={"Name": "n"})
    assert caught.value.retryable and caught.value.retry_after == delay
    with pytest.raises(RetryableError):
        await call(lambda r: httpx.Response(503), fields={"Name": "n"})


async def test_retry_after_as_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with pytest.raises(RetryableError) as caught:
        await call(lambda r: httpx.Response(429, headers={"Retry-After": when}), fields={"Name": "n"})
    assert 25 <= caught.value.retry_after <= 30


async def test_timeouts_and_connection_errors_are_retryable():
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        with pytest.raises(RetryableError):
            await call(handler, fields={"Name": "n"})


def test_basic_credentials_are_secrets():
    from connectors.auth import secrets_of

    value = base64.b64encode(b"user:hunter22").decode()
    assert "hunter22" in secrets_of(Credentials(value))


def test_a_template_may_map_only_what_a_call_may_set():
    """One rule for both (connectors.call.settable): a mapping accepted at install time is
    never refused as an unknown parameter at run time."""
    from connectors.spec import Method
    from store.templates import target_fields

    method = Method.model_validate({
        "UniqueIdentifier": "m", "Name": "M", "HttpMethod": "Get", "Endpoint": "https://x/{{Region}}",
        "Parameters": [
            {"Name": "Region", "TargetType": "MergeField"},
            {"TargetType": "QueryString", "TargetName": "page", "Values": ["PAGE_NUMBER"]},
            {"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True},
            {"TargetType": "QueryString", "TargetName": "secret", "Hide": True},
        ]})
    assert target_fields(method) == {"Region"}
