"""Acceptance (issue 3, point 1): every paging style against the demo API over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from connectors import Credentials, fetch_pages, parse_connector
from tests.walkthrough import catalog_document, engine_client

STYLES = ["number", "offset", "next-url", "link", "token", "token-header", "two-tokens"]


async def read_all(demo_url: str, method: str, contacts: int, document: dict | None = None, **reset):
    async with httpx.AsyncClient() as admin:
        (await admin.post(f"{demo_url}/admin/reset", json={"contacts": contacts, **reset})).raise_for_status()
    connector = parse_connector(document or catalog_document("connectors", "demo-paging.json"))
    async with engine_client() as client:
        return await fetch_pages(client, connector, method, credentials=Credentials(properties={"BaseUrl": demo_url}))


@pytest.mark.parametrize("method", STYLES)
async def test_the_last_page_exactly_full(demo, method):
    pages = await read_all(demo.url, method, contacts=30)  # three full pages of ten
    ids = [r["Id"] for r in pages.records]
    assert len(ids) == 30 and len(set(ids)) == 30  # every record, none twice
    assert pages.cursor is None and pages.warnings == []


@pytest.mark.parametrize("method", STYLES)
async def test_a_short_last_page(demo, method):
    pages = await read_all(demo.url, method, contacts=25)
    assert sorted(int(r["Id"][1:]) for r in pages.records) == list(range(1, 26))


@pytest.mark.parametrize("method", ["token", "token-header"])
async def test_an_empty_page_in_the_middle_of_a_cursor_sequence(demo, method):
    # Cursor paging trusts the API's cursor: the empty page has a next token, so paging goes on.
    pages = await read_all(demo.url, method, contacts=30, empty_page_at=10)
    assert len({r["Id"] for r in pages.records}) == len(pages.records) == 30
    assert pages.pages == 4


async def test_a_repeated_page_stops_with_a_warning(demo):
    pages = await read_all(demo.url, "repeat", contacts=30)
    assert len(pages.records) == 10  # the first page once; its repeat is not read again
    assert pages.warnings == ["page 2 repeated page 1: paging stopped"]


async def test_max_pages_stops_with_a_warning(demo):
    document = catalog_document("connectors", "demo-paging.json")
    document["Methods"][0]["MaxPages"] = 2
    pages = await read_all(demo.url, "number", contacts=50, document=document)
    assert len(pages.records) == 20 and "MaxPages (2)" in pages.warnings[0]


async def test_short_page_rule_can_be_switched_off(demo):
    document = catalog_document("connectors", "demo-paging.json")
    document["Methods"][0]["PagingStopOnShortPage"] = False
    document["PageSizeInbound"] = 7  # the API answers short pages of 7 < 10? no: pages of 7
    pages = await read_all(demo.url, "number", contacts=20, document=document)
    assert len(pages.records) == 20 and pages.pages == 4  # 7, 7, 6, then an empty page


@pytest.mark.parametrize("form", ["path", "query", "segment"])  # /paging/relative?…, ?…, relative?…
@pytest.mark.parametrize("where", ["body", "link"])
async def test_relative_next_urls_are_resolved_against_the_page(demo, form, where):
    document = catalog_document("connectors", "demo-paging.json")
    document["PageSizeInbound"] = 5  # the next URLs carry no per_page: the engine must add it back
    parameters = [{"TargetType": "QueryString", "TargetName": "per_page", "Values": ["PAGE_SIZE"], "Hide": True}]
    if where == "body":
        parameters.append({"TargetType": "ResponseField", "TargetName": "links.next",
                           "Values": ["PAGE_NEXT_URL"], "Hide": True})
    document["Methods"] = [{
        "UniqueIdentifier": "relative", "Name": "By relative next URL", "HttpMethod": "Get",
        "Endpoint": "{{BaseUrl}}/paging/relative?form=" + form, "Parameters": parameters,
        "ResponseFormat": {"Fields": [{"ConnectorField": "[items].id", "SystemField": "Id"}]},
    }]
    pages = await read_all(demo.url, "relative", contacts=23, document=document)
    assert sorted(int(r["Id"][1:]) for r in pages.records) == list(range(1, 24))
    assert pages.pages == 5 and pages.cursor is None and pages.warnings == []
