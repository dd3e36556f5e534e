"""HubSpot's CRM object methods, which no npm package documents (tests/contract/specs.py:
UNDOCUMENTED): each sends the request HubSpot's API reference describes (a JSON body of string
`properties`; PATCH by id; the properties to read named in the query) to a real HTTP server that
answers as HubSpot does, and reads the object back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors import Credentials, call_method
from connectors.catalog import entries
from tests.conftest import ThreadedServer
from tests.contract.prism import client
from tests.contract.test_catalog import FixedToken

received: list[dict] = []


async def crm_object(request: Request) -> JSONResponse:
    body = json.loads(await request.body()) if await request.body() else None
    received.append({"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                     "body": body, "authorization": request.headers.get("authorization")})
    if body is not None and (set(body) != {"properties"} or not all(isinstance(v, str) for v in body["properties"].values())):
        return JSONResponse({"status": "error", "message": "Invalid input JSON", "category": "VALIDATION_ERROR"}, 400)
    properties = (body or {}).get("properties") or {p: f"{p}-value" for p in request.query_params["properties"].split(",")}
    return JSONResponse({"id": request.path_params.get("id", "501"), "properties": properties,
                         "createdAt": "2024-05-01T12:00:00Z", "updatedAt": "2024-05-02T12:00:00Z", "archived": False},
                        status_code=201 if request.method == "POST" else 200)


app = Starlette(routes=[Route("/crm/v3/objects/{kind}", crm_object, methods=["POST"]),
                        Route("/crm/v3/objects/{kind}/{id}", crm_object, methods=["GET", "PATCH"])])


@pytest.fixture(scope="module")
def hubspot() -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as server:
        yield server


@pytest.mark.parametrize(("kind", "single", "fields"), [
    ("contacts", "contact", {"Email": "ada@example.com", "FirstName": "Ada", "LastName": "Lovelace"}),
    ("companies", "company", {"Name": "Acme", "Domain": "acme.example"}),
    ("deals", "deal", {"DealName": "Renewal", "Amount": "1200", "Pipeline": "default"}),
])
async def test_crm_objects_are_created_updated_and_read_as_hubspot_documents(hubspot, kind, single, fields):
    connector = entries()["hubspot"].connector
    credentials = Credentials("pat-na1-test", {"BaseUrl": hubspot.url})
    received.clear()
    async with client() as http:
        created = await call_method(http, connector, f"create-{single}", credentials=credentials,
                                    authentication="Private app token", fields=fields, tokens=FixedToken())
        updated = await call_method(http, connector, f"update-{single}", credentials=credentials,
                                    authentication="Private app token", parameters={f"{single}Id": "501"},
                                    fields=dict(list(fields.items())[:1]), tokens=FixedToken())
        read = await call_method(http, connector, f"get-{single}", credentials=credentials,
                                 authentication="Private app token", parameters={f"{single}Id": "501"},
                                 tokens=FixedToken())
    assert [(r["method"], r["path"]) for r in received] == [
        ("POST", f"/crm/v3/objects/{kind}"), ("PATCH", f"/crm/v3/objects/{kind}/501"), ("GET", f"/crm/v3/objects/{kind}/501")]
    assert all(r["authorization"] == "Bearer pat-na1-test" for r in received)
    assert (created.status, updated.status, read.status) == (201, 200, 200)
    assert created.records[0]["Id"] == "501" and set(fields.items()) <= set(created.records[0].items())
    assert len(received[1]["body"]["properties"]) == 1
    assert read.records[0]["CreatedAt"].startswith("2024-05-01") and read.records[0]["Archived"] is False
