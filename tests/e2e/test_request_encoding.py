"""Requests as the API expects them (issue 17, acceptance 2 and 3), through the API and the
engine to a recording HTTP server: Stripe's PostProducts, imported from Stripe's own document,
sends its nested default_price_data in brackets; an imported multipart upload sends a file the
server receives intact; a method without a body sends none; a path parameter `a/b` goes as
`a%2Fb`; a missing required parameter answers 422 naming it and nothing is sent."""

from __future__ import annotations

import base64
import json
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from tests.conftest import ThreadedServer
from tests.vendor_specs import STRIPE, missing, path
from tests.walkthrough import import_openapi

PDF = b"%PDF-1.4\x00\x01\xff\xfe binary\r\n--boundary-lookalike\r\n" * 50


class Recorder:
    """Answers every request with a product, and keeps each as it arrived on the wire."""

    def __init__(self) -> None:
        self.app, self.seen = FastAPI(), []

        @self.app.api_route("/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        async def record(request: Request, rest: str) -> Response:
            self.seen.append({"method": request.method, "raw_path": request.scope["raw_path"].decode(),
                              "headers": dict(request.headers), "body": await request.body()})
            return Response(json.dumps({"id": "prod_1", "object": "product", "name": "T-shirt"}),
                            media_type="application/json")


def stripe_cut() -> dict:
    """Stripe's document cut to the product operations (every schema kept for their $refs)."""
    document = json.loads(path(STRIPE).read_text())
    paths = {"/v1/products": {"post": document["paths"]["/v1/products"]["post"]},
             "/v1/products/{id}": {k: document["paths"]["/v1/products/{id}"][k] for k in ("get", "delete")}}
    return {**{k: v for k, v in document.items() if k != "paths"}, "paths": paths}


UPLOAD = {"openapi": "3.0.3", "info": {"title": "Uploads", "version": "1"}, "servers": [{"url": "https://x.test"}],
          "paths": {"/files": {"post": {"operationId": "uploadFile", "requestBody": {"required": True, "content": {
              "multipart/form-data": {"schema": {"type": "object", "required": ["file", "purpose"], "properties": {
                  "file": {"type": "string", "format": "binary"},
                  "purpose": {"type": "string", "enum": ["dispute_evidence", "identity_document"]}}}}}},
              "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"id": {"type": "string"}}}}}}}}}}}


async def installed(api: httpx.AsyncClient, document: dict, base_url: str, auth_value: str) -> tuple[dict, str, dict]:
    """The document imported, published and installed by an account of its own: (its connector
    document, the account connector's id, the account's headers)."""
    job = await import_openapi(api, json.dumps(document))
    assert job["Status"] == "Succeeded", job
    published = await api.post(f"/v1.0/connectors/{job['ConnectorId']}/releases/publish", json={"Major": False})
    assert published.status_code == 200, published.text
    connector = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}")).json()["Document"]
    account = (await api.post("/v1.0/accounts", json={"Name": document["info"]["title"]})).json()["Id"]
    headers = {"X-Account-Id": account}
    response = await api.post("/v1.0/account/connectors", headers=headers, json={
        "ConnectorId": job["ConnectorId"], "AuthValue": auth_value,
        "Properties": [{"Name": "BaseUrl", "Value": base_url}]})
    assert response.status_code == 201, response.text
    return connector, response.json()["Id"], headers


def system_fields(connector: dict, method: str) -> dict[str, str]:
    """The method's request fields: ConnectorField -> SystemField."""
    found = next(m for m in connector["Methods"] if m["UniqueIdentifier"] == method)
    return {f["ConnectorField"]: f["SystemField"] for f in found["RequestFormat"]["Fields"]}


@pytest.mark.skipif(missing(STRIPE) is not None, reason=missing(STRIPE) or "")
async def test_stripe_products_are_sent_as_stripe_reads_them(api):
    record = Recorder()
    with ThreadedServer(record.app) as server:
        key = base64.b64encode(b"sk_test_123:").decode()
        connector, account_connector, headers = await installed(api, stripe_cut(), server.url, key)
        calls = f"/v1.0/account/connectors/{account_connector}/methods"

        # Acceptance 2: the nested default_price_data in brackets, never a Python repr.
        fields = system_fields(connector, "PostProducts")
        response = await api.post(f"{calls}/PostProducts", headers=headers, json={"Fields": {
            fields["name"]: "T-shirt", fields["default_price_data.currency"]: "usd",
            fields["default_price_data.unit_amount"]: "1200"}})
        assert response.status_code == 200, response.text
        (create,) = record.seen
        assert create["headers"]["content-type"] == "application/x-www-form-urlencoded"
        assert unquote(create["body"].decode()) == \
            "default_price_data[currency]=usd&default_price_data[unit_amount]=1200&name=T-shirt"

        # Acceptance 3: a path parameter a/b is one segment; a method without a body sends none.
        response = await api.post(f"{calls}/DeleteProductsId", headers=headers, json={"Parameters": {"id": "a/b"}})
        assert response.status_code == 200, response.text
        delete = record.seen[-1]
        assert (delete["method"], delete["raw_path"]) == ("DELETE", "/v1/products/a%2Fb")
        assert delete["body"] == b"" and "content-type" not in delete["headers"]

        # A missing required parameter: 422 naming it, and nothing sent.
        before = len(record.seen)
        response = await api.post(f"{calls}/DeleteProductsId", headers=headers, json={})
        assert response.status_code == 422, response.text
        assert response.json()["Errors"] == [{"Path": "$.Parameters.id",
                                              "Message": "required path parameter 'id' has no value"}]
        assert len(record.seen) == before

        # A cycle lists it among its prerequisites.
        template = await api.post("/v1.0/templates", json={"Name": "Delete products", "Steps": [
            {"Id": "delete", "Connector": connector["Name"], "Method": "DeleteProductsId"}]})
        assert template.status_code == 201, template.text
        cycle = await api.post(f"/v1.0/templates/{template.json()['Id']}/install", headers=headers, json={})
        assert cycle.status_code == 201, cycle.text
        needs = await api.get(f"/v1.0/cycles/{cycle.json()['Id']}/prerequisites", headers=headers)
        assert [(n["Reason"], n["Message"]) for n in needs.json()] == [
            ("MissingMapping", "step 'delete': required path parameter 'id' has no mapping")]


async def test_an_imported_multipart_upload_sends_the_file_intact(api):
    record = Recorder()
    with ThreadedServer(record.app) as server:
        connector, account_connector, headers = await installed(api, UPLOAD, server.url, "")
        fields = system_fields(connector, "uploadFile")
        upload = f"/v1.0/account/connectors/{account_connector}/methods/uploadFile"
        file = {"Content": base64.b64encode(PDF).decode(), "FileName": "evidence.pdf",
                "ContentType": "application/pdf"}

        response = await api.post(upload, headers=headers, json={"Fields": {fields["file"]: file,
                                                                            fields["purpose"]: "refund"}})
        assert response.status_code == 422, response.text  # not one of the allowed values: nothing sent
        assert response.json()["Errors"][0]["Path"] == f"$.Fields.{fields['purpose']}"
        assert "'dispute_evidence', 'identity_document'" in response.json()["Errors"][0]["Message"]
        assert record.seen == []

        response = await api.post(upload, headers=headers, json={"Fields": {fields["file"]: file,
                                                                            fields["purpose"]: "dispute_evidence"}})
        assert response.status_code == 200, response.text
        (sent,) = record.seen
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {sent['headers']['content-type']}\r\n\r\n".encode() + sent["body"])
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        assert parts["file"].get_filename() == "evidence.pdf"
        assert parts["file"].get_content_type() == "application/pdf"
        assert parts["file"].get_payload(decode=True) == PDF  # every byte as it was
        assert parts["purpose"].get_payload(decode=True) == b"dispute_evidence"


async def test_a_test_method_missing_its_own_input_leaves_the_credentials_unverified_not_refused(api):
    """The connector's defect, not the credentials': nothing is sent, the credentials are kept."""
    record = Recorder()
    with ThreadedServer(record.app) as server:
        document = {"Name": "Needs a query", "AuthTestMethod": "me",
                    "Authentication": [{"Name": "Key", "AuthType": "Bearer"}],
                    "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
                    "Methods": [{"UniqueIdentifier": "me", "Name": "Me", "HttpMethod": "Get",
                                 "Endpoint": "{{BaseUrl}}/me",
                                 "Parameters": [{"TargetType": "QueryString", "TargetName": "fields"}]}]}
        uploaded = await api.post("/v1.0/connectors", json=document)
        assert uploaded.status_code in (200, 201), uploaded.text
        account = (await api.post("/v1.0/accounts", json={"Name": "Needs a query"})).json()["Id"]
        response = await api.post("/v1.0/account/connectors", headers={"X-Account-Id": account}, json={
            "ConnectorId": uploaded.json()["Id"], "AuthValue": "a-token",
            "Properties": [{"Name": "BaseUrl", "Value": server.url}]})
        assert response.status_code == 201, response.text
        assert response.json()["Status"] == "CredentialsSet"
        assert "required query parameter 'fields' has no value" in response.json()["StatusReason"]
        assert record.seen == []
