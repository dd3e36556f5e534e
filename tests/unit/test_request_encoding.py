"""Requests as the API expects them (issue 17): forms nested in brackets, query arrays per
style, multipart and binary bodies with files, no body when a method has none, path
parameters as one segment, and input checked before anything is sent — the engine alone, on
mock transports."""

from __future__ import annotations

import base64
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors import Credentials, call_method, parse_connector
from connectors.encoding import form_pairs, path_segment, query_value
from connectors.errors import InvalidInput, RetryableError, StepError
from tests.mock_http import mock_client

PDF = b"%PDF-1.4\x00\xff binary \r\n--not-a-boundary\r\n"
FILE = {"Content": base64.b64encode(PDF).decode(), "FileName": "report.pdf", "ContentType": "application/pdf"}


def connector(**method) -> dict:
    return {"Name": "Wire", "Authentication": [{"Name": "None", "AuthType": "None"}],
            "Methods": [{"UniqueIdentifier": "m", "Name": "M", "HttpMethod": "Post",
                         "Endpoint": "https://api.test/x", **method}]}


async def sent(document: dict, **kwargs) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with mock_client(handler) as client:
        await call_method(client, parse_connector(document), "m", credentials=Credentials(), **kwargs)
    return seen


def test_form_pairs_nest_in_brackets_never_a_repr():
    body = {"name": "T-shirt", "default_price_data": {"currency": "usd", "unit_amount": 1200},
            "images": ["a.png", "b.png"], "metadata": {"tags": [{"k": "v"}]}, "active": True, "note": None}
    assert list(form_pairs(body)) == [
        ("name", "T-shirt"), ("default_price_data[currency]", "usd"), ("default_price_data[unit_amount]", "1200"),
        ("images[0]", "a.png"), ("images[1]", "b.png"), ("metadata[tags][0][k]", "v"), ("active", "true"),
        ("note", "")]


def test_query_arrays_repeat_or_join_and_path_segments_encode_reserved_characters():
    assert query_value(["a", "b"]) == ["a", "b"]
    assert query_value(["a", "b"], explode=False) == "a,b"
    assert query_value(7) == "7"
    assert path_segment("a/b") == "a%2Fb"
    assert path_segment("50% off?#x y") == "50%25%20off%3F%23x%20y"


async def test_a_nested_form_body_goes_out_in_brackets():
    fields = {"Fields": [{"ConnectorField": "name", "SystemField": "Name"},
                         {"ConnectorField": "default_price_data.currency", "SystemField": "Currency"},
                         {"ConnectorField": "default_price_data.unit_amount", "SystemField": "Amount",
                          "DataType": "Integer"}]}
    (request,) = await sent(connector(DataType="Form", RequestFormat=fields),
                            fields={"Name": "T", "Currency": "usd", "Amount": "1200"})
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"name=T&default_price_data%5Bcurrency%5D=usd&default_price_data%5Bunit_amount%5D=1200"


async def test_query_arrays_follow_the_parameters_explode():
    params = [{"TargetType": "QueryString", "TargetName": "ids", "IsOptional": True},
              {"TargetType": "QueryString", "TargetName": "tags", "IsOptional": True, "Explode": False}]
    (request,) = await sent(connector(HttpMethod="Get", Parameters=params),
                            parameters={"ids": ["1", "2"], "tags": ["x", "y"]})
    assert parse_qsl(request.url.query.decode()) == [("ids", "1"), ("ids", "2"), ("tags", "x,y")]


def _parts(request: httpx.Request) -> dict[str, tuple[str | None, str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.content)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_parts()}


async def test_a_multipart_body_carries_the_file_intact_beside_its_fields():
    fields = {"Fields": [{"ConnectorField": "file", "SystemField": "File", "DataType": "File"},
                         {"ConnectorField": "purpose", "SystemField": "Purpose"},
                         {"ConnectorField": "file_link_data.create", "SystemField": "Link", "DataType": "Boolean",
                          "IsOptional": True}]}
    (request,) = await sent(connector(DataType="Multipart", RequestFormat=fields),
                            fields={"File": FILE, "Purpose": "dispute_evidence", "Link": "true"})
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert _parts(request) == {"file": ("report.pdf", "application/pdf", PDF),
                               "purpose": (None, "text/plain", b"dispute_evidence"),
                               "file_link_data[create]": (None, "text/plain", b"true")}


async def test_a_binary_body_is_the_file_itself():
    fields = {"Fields": [{"ConnectorField": "content", "SystemField": "Content", "DataType": "File"}]}
    (request,) = await sent(connector(DataType="Binary", RequestFormat=fields), fields={"Content": FILE})
    assert request.content == PDF and request.headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("verb", ["Post", "Delete", "Put"])
async def test_a_method_without_a_body_sends_none(verb):
    (request,) = await sent(connector(HttpMethod=verb))
    assert request.content == b"" and "Content-Type" not in request.headers


async def test_a_path_parameter_is_one_segment():
    params = [{"Name": "media_id", "TargetType": "MergeField"}]
    (request,) = await sent(connector(HttpMethod="Get", Endpoint="https://api.test/media/{{media_id}}/info",
                                      Parameters=params), parameters={"media_id": "a/b%c?d#e"})
    assert request.url.raw_path == b"/media/a%2Fb%25c%3Fd%23e/info"


async def test_missing_and_unacceptable_input_is_named_and_nothing_is_sent():
    params = [{"Name": "media_id", "TargetType": "MergeField"},
              {"TargetType": "QueryString", "TargetName": "fields"},
              {"TargetType": "HttpHeader", "TargetName": "X-Version", "Values": ["1", "2"]},
              {"TargetType": "QueryString", "TargetName": "limit", "DataType": "Integer", "IsOptional": True}]
    fields = {"Fields": [{"ConnectorField": "caption", "SystemField": "Caption"},
                         {"ConnectorField": "kind", "SystemField": "Kind", "Values": ["IMAGE", "VIDEO"]}]}
    document = connector(Endpoint="https://api.test/media/{{media_id}}", Parameters=params, RequestFormat=fields)
    with pytest.raises(InvalidInput) as raised:
        await sent(document, parameters={"X-Version": "3", "limit": "ten"}, fields={"Kind": "GIF"})
    assert raised.value.problems == [
        ("$.Parameters.media_id", "required path parameter 'media_id' has no value"),
        ("$.Parameters.fields", "required query parameter 'fields' has no value"),
        ("$.Parameters.X-Version", "parameter 'X-Version': a value is not one of the allowed values: '1', '2'"),
        ("$.Parameters.limit", "parameter 'limit': a value is not a valid Integer"),
        ("$.Fields.Caption", "required field 'Caption' has no value"),
        ("$.Fields.Kind", "field 'Kind': a value is not one of the allowed values: 'IMAGE', 'VIDEO'"),
    ]
    with pytest.raises(InvalidInput, match="'media_id': a list is only for a query or header parameter"):
        await sent(document, parameters={"media_id": ["1", "2"], "fields": "id", "X-Version": "2"},
                   fields={"Caption": "c", "Kind": "IMAGE"})
    # the premise: the same call with its input right is sent
    assert len(await sent(document, parameters={"media_id": "1", "fields": "id", "X-Version": "2", "limit": "5"},
                          fields={"Caption": "c", "Kind": "IMAGE"})) == 1


async def test_a_file_field_refuses_what_is_not_a_file():
    fields = {"Fields": [{"ConnectorField": "file", "SystemField": "File", "DataType": "File"}]}
    with pytest.raises(InvalidInput, match="'File': a value is not a valid File"):
        await sent(connector(DataType="Multipart", RequestFormat=fields), fields={"File": "not a file"})


def test_the_importer_declares_query_styles_and_file_bodies():
    from tests.unit.test_openapi_import import body_document, imported

    document = body_document({"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "purpose": {"type": "string", "enum": ["a", "b"]}}},
        "multipart/form-data")
    document["paths"]["/x"]["post"]["parameters"] = [
        {"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "tags", "in": "query", "explode": False, "schema": {"type": "array", "items": {"type": "string"}}}]
    _, connector, _ = imported(document)
    method = connector.method("x")
    assert [(p.TargetName, p.Explode) for p in method.Parameters] == [("ids", True), ("tags", False)]
    assert method.DataType == "Multipart"
    assert [(f.ConnectorField, f.DataType, f.IsOptional, f.Values) for f in method.request_fields] == [
        ("file", "File", False, []), ("purpose", "Text", True, ["a", "b"])]


@pytest.mark.parametrize(("error", "status"), [
    (InvalidInput([("$.Parameters.id", "required path parameter 'id' has no value")]), 422),
    (StepError("the URL would carry the credentials elsewhere"), 422),  # the engine's own: no status
    (StepError("Bad Request", status=400), None),  # the upstream's answer: a 502
    (RetryableError("connection failed"), None),
])
def test_only_the_upstreams_errors_are_reported_as_the_upstreams(error, status):
    from api.routers.connector_calls import _refused

    refused = _refused(error)
    assert (refused.status if refused else None) == status


def test_declarations_that_would_send_something_else_are_refused_at_upload():
    from connectors import ConnectorInvalid

    file = {"ConnectorField": "file", "SystemField": "File", "DataType": "File"}
    for method, path, message in [
        ({"RequestFormat": {"Fields": [file]}}, "$.Methods[0].RequestFormat.Fields[0].DataType",
         "a File field is sent only by a Multipart or Binary method, not a Json one"),
        ({"DataType": "Binary", "RequestFormat": {"Fields": [file, {"ConnectorField": "a", "SystemField": "A"}]}},
         "$.Methods[0].DataType", ("a Binary method sends one file as its body: it needs exactly one request "
                                   "field, of DataType File")),
        ({"Parameters": [{"TargetType": "HttpHeader", "TargetName": "X", "Explode": False}]},
         "$.Methods[0].Parameters[0].Explode", "Explode is for a QueryString parameter given a list"),
    ]:
        with pytest.raises(ConnectorInvalid) as raised:
            parse_connector(connector(**method))
        assert [(p.path, p.message) for p in raised.value.problems] == [(path, message)]
    parse_connector(connector(DataType="Multipart", RequestFormat={"Fields": [file]}))  # the right one loads
