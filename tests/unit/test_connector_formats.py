"""Bodies by DataType, field types and formats, parameters (inherited, ignored, filters),
API keys in the body, and outbound paging — the engine alone, on mock transports."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from connectors import ConnectorInvalid, Credentials, FieldValueError, call_method, parse_connector
from connectors.paths import body_from_values
from connectors.spec import FieldSpec
from connectors.types import from_response
from tests.mock_http import mock_client


def connector(method: dict, **top) -> dict:
    return {"Name": "Formats", "Authentication": [{"Name": "None", "AuthType": "None"}],
            "Methods": [{"UniqueIdentifier": "m", "Name": "M", "HttpMethod": "Post",
                         "Endpoint": "https://api.test/x", **method}], **top}


async def call(document: dict, reply: httpx.Response, credentials: Credentials | None = None, **kwargs):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply

    async with mock_client(handler) as client:
        result = await call_method(client, parse_connector(document), "m",
                                   credentials=credentials or Credentials(), **kwargs)
    return result, seen


LEAD = {"Fields": [{"ConnectorField": "lead.email", "SystemField": "Email"},
                   {"ConnectorField": "lead.score", "SystemField": "Score", "DataType": "Integer"}]}


async def test_xml_request_and_response():
    reply = httpx.Response(200, text="<result><lead><id>7</id></lead></result>",
                           headers={"Content-Type": "application/xml"})
    document = connector({"DataType": "Xml", "RequestFormat": LEAD, "ResponseFormat": {"Fields": [
        {"ConnectorField": "result.[lead].id", "SystemField": "Id", "DataType": "Integer"}]}})
    result, (request,) = await call(document, reply, fields={"Email": "a@b.c", "Score": "3"})
    assert request.headers["Content-Type"] == "application/xml"
    assert b"<lead><email>a@b.c</email><score>3</score></lead>" in request.content
    assert result.records == [{"Id": 7}]


async def test_form_plain_text_and_none():
    flat = {"Fields": [{"ConnectorField": "email", "SystemField": "Email"},
                       {"ConnectorField": "score", "SystemField": "Score", "DataType": "Integer"}]}
    result, (request,) = await call(connector({"DataType": "Form", "RequestFormat": flat}),
                                    httpx.Response(200, json={}), fields={"Email": "a@b.c", "Score": "1"})
    assert parse_qs(request.content.decode()) == {"email": ["a@b.c"], "score": ["1"]}

    document = connector({"DataType": "PlainText",
                          "RequestFormat": {"Fields": [{"ConnectorField": "note", "SystemField": "Note"}]},
                          "ResponseFormat": {"Fields": [{"ConnectorField": "text", "SystemField": "Reply"}]}})
    result, (request,) = await call(document, httpx.Response(200, text="noted"), fields={"Note": "hello"})
    assert request.content == b"hello" and result.records == [{"Reply": "noted"}]

    result, (request,) = await call(connector({"DataType": "None"}), httpx.Response(204))
    assert request.content == b"" and result.records == []


def test_datetime_formats_both_ways():
    field = FieldSpec(ConnectorField="due", SystemField="Due", DataType="DateTime", Format="dd/MM/yyyy HH:mm")
    assert body_from_values([field], {"Due": "2026-11-22T09:05:00+00:00"}) == {"due": "22/11/2026 09:05"}
    with pytest.raises(FieldValueError, match="'Due'.*DateTime"):
        body_from_values([field], {"Due": "next tuesday"})


def test_a_boolean_sent_as_text_is_spelled_as_json_spells_it():
    # GitHub's POST /gists "public" is oneOf boolean or "true"/"false": imported as Text, a
    # record's False was sent as "False", which neither allows.
    field = FieldSpec(ConnectorField="public", SystemField="Public", DataType="Text")
    assert body_from_values([field], {"Public": False}) == {"public": "false"}
    assert body_from_values([field], {"Public": True}) == {"public": "true"}


def test_an_array_element_without_a_fields_value_leaves_the_field_out():
    # SendGrid's POST /contactdb/recipients example has "first_name": "" in one element: the
    # engine took "" as no value and sent "first_name": null, which the schema refuses.
    fields = [FieldSpec(ConnectorField="[].email", SystemField="Email"),
              FieldSpec(ConnectorField="[].first_name", SystemField="FirstName", IsOptional=True)]
    assert body_from_values(fields, {"Email": ["a@example.com", "b@example.com"], "FirstName": ["", "B"]}) == [
        {"email": "a@example.com"}, {"email": "b@example.com", "first_name": "B"}]


def test_a_date_format_no_date_reads_in_is_refused_where_it_is_written_and_fails_plainly():
    # strptime makes a format a regular expression: one naming a part twice cannot compile, which
    # was an re.error no caller expected (a 500, or a run's step retried as if the upstream failed).
    document = connector({"HttpMethod": "Get", "ResponseFormat": {"Fields": [
        {"ConnectorField": "[].at", "SystemField": "At", "DataType": "DateTime", "Format": "dd dd"}]}})
    with pytest.raises(ConnectorInvalid) as refused:
        parse_connector(document)
    assert [(p.path, p.message) for p in refused.value.problems] == [(
        "$.Methods[0].ResponseFormat.Fields[0].Format", ("the format 'dd dd' names a part of the date twice: "
                                                         "no date reads in it"))]
    # One saved before it was refused: a response's value is kept as it came, as any that does not convert.
    field = FieldSpec(ConnectorField="at", SystemField="At", DataType="DateTime", Format="yyyy yyyy")
    assert from_response("2026 2026", field) == "2026 2026"


async def test_datetime_in_a_response_becomes_iso():
    document = connector({"HttpMethod": "Get", "ResponseFormat": {"Fields": [
        {"ConnectorField": "[].at", "SystemField": "At", "DataType": "DateTime", "Format": "yyyyMMddHHmmss"}]}})
    result, _ = await call(document, httpx.Response(200, json=[{"at": "20261122090500"}]))
    assert result.records == [{"At": "2026-11-22T09:05:00+00:00"}]


async def test_values_defaults_and_optional_fields():
    fields = {"Fields": [
        {"ConnectorField": "kind", "SystemField": "Kind", "Values": ["a", "b"]},
        {"ConnectorField": "source", "SystemField": "Source", "DefaultValue": "api"},
        {"ConnectorField": "note", "SystemField": "Note", "IsOptional": True}]}
    _, (request,) = await call(connector({"RequestFormat": fields}), httpx.Response(200, json={}),
                               fields={"Kind": "a"})
    assert json.loads(request.content) == {"kind": "a", "source": "api"}
    with pytest.raises(FieldValueError, match="'Kind'"):
        await call(connector({"RequestFormat": fields}), httpx.Response(200, json={}), fields={"Kind": "c"})


async def test_connector_parameters_are_inherited_unless_ignored():
    top = {"Parameters": [{"Name": "Version", "TargetType": "HttpHeader", "TargetName": "X-Version",
                           "DefaultValue": "2"},
                          {"Name": "Region", "TargetType": "QueryString", "TargetName": "region",
                           "DefaultValue": "eu"}]}
    _, (request,) = await call(connector({"HttpMethod": "Get"}, **top), httpx.Response(200, json={}))
    assert request.headers["X-Version"] == "2" and request.url.params["region"] == "eu"
    ignoring = {"HttpMethod": "Get", "Parameters": [
        {"Name": "Region", "TargetType": "QueryString", "TargetName": "region",
         "DefaultValue": "IGNORE_PARAMETER"}]}
    _, (request,) = await call(connector(ignoring, **top), httpx.Response(200, json={}),
                               parameters={"Version": "3"})
    assert "region" not in request.url.params and request.headers["X-Version"] == "3"


async def test_filter_fields_keep_matching_records():
    document = connector({"HttpMethod": "Get", "Parameters": [
        {"Name": "Status", "TargetType": "FilterField", "TargetName": "Status"}],
        "ResponseFormat": {"Fields": [{"ConnectorField": "[].id", "SystemField": "Id"},
                                      {"ConnectorField": "[].status", "SystemField": "Status"}]}})
    reply = httpx.Response(200, json=[{"id": 1, "status": "open"}, {"id": 2, "status": "closed"}])
    result, _ = await call(document, reply, parameters={"Status": "open"})
    assert result.records == [{"Id": "1", "Status": "open"}]


async def test_api_key_in_the_body():
    document = connector({"RequestFormat": LEAD},
                         Authentication=[{"Name": "k", "AuthType": "ApiKey", "ApiKeyLocation": "Body",
                                          "ApiKeyName": "api_key"}])
    _, (request,) = await call(document, httpx.Response(200, json={}), Credentials("s3cret"),
                               fields={"Email": "a@b.c", "Score": 1})
    assert json.loads(request.content)["api_key"] == "s3cret"


async def test_outbound_paging_splits_an_array_into_requests():
    document = connector({"PagedOutbound": True, "PageSizeOutbound": 2, "PagedOutboundLocation": "items",
                          "RequestFormat": {"Fields": [{"ConnectorField": "[items].email", "SystemField": "Email"}]},
                          "ResponseFormat": {"Fields": [{"ConnectorField": "[created].id", "SystemField": "Id"}]}})
    reply = httpx.Response(200, json={"created": [{"id": "x"}]})
    result, requests = await call(document, reply, fields={"Email": ["a", "b", "c", "d", "e"]})
    sent = [[item["email"] for item in json.loads(r.content)["items"]] for r in requests]
    assert sent == [["a", "b"], ["c", "d"], ["e"]]
    assert len(result.records) == 3  # one per response


def test_scripts_and_mergefields_are_checked_where_they_are():
    document = {
        "Name": "Checked", "Script": "function before_action() {\n  return (;\n}",
        "Authentication": [{"AuthType": "OAuth2", "OAuth2Type": "ClientCredentials",
                            "AccessTokenUrl": "https://{{Tenant}}.example.com/token"}],
        "Methods": [
            {"UniqueIdentifier": "create", "Name": "Create", "HttpMethod": "Post", "Endpoint": "https://example.com/x",
             "Script": "function after_action() { }", "RequestFormat": {"Fields": [
                 {"ConnectorField": "hook", "SystemField": "Hook", "DefaultValue": "{{Webhook_Url}}"},
                 {"ConnectorField": "owner", "SystemField": "Owner", "DefaultValue": "{{Owner}}"}]}},
        ],
    }
    with pytest.raises(ConnectorInvalid) as raised:
        parse_connector(document)
    assert {(p.path, p.message.split(":")[0]) for p in raised.value.problems} == {
        ("$.Authentication[0].AccessTokenUrl", "unknown mergefield '{{Tenant}}'"),
        ("$.Script", "the script does not parse"),
        ("$.Methods[0].RequestFormat.Fields[0].DefaultValue", "unknown mergefield '{{Webhook_Url}}'"),
        ("$.Methods[0].RequestFormat.Fields[1].DefaultValue", "unknown mergefield '{{Owner}}'"),
    }
