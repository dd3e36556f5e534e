"""Acceptance (issue 17, point 10): every paged method of the catalog reads every page, against a
real HTTP server that pages as its vendor documents (tests/contract/pager.py): the records of two
pages, each once, in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors import Credentials, fetch_pages
from connectors.catalog import entries
from connectors.paging import Paging
from connectors.paths import parse_path
from connectors.transport import Request
from tests.conftest import ThreadedServer
from tests.contract import pager
from tests.contract.prism import client
from tests.contract.test_catalog import FixedToken, auth_value


@pytest.fixture(scope="module")
def pages() -> Iterator[ThreadedServer]:
    with ThreadedServer(pager.app) as server:
        yield server


def paged_methods() -> Iterator[Any]:
    for vendor, entry in entries().items():
        for method in entry.connector.Methods:
            if Paging.of(entry.connector, method, method.Parameters).style:
                yield pytest.param(vendor, method.UniqueIdentifier, id=f"{vendor}:{method.UniqueIdentifier}")


def test_every_catalog_connector_has_a_paged_method():
    paged = {vendor for vendor, _ in (p.values for p in paged_methods())}
    assert paged == set(entries())


@pytest.mark.parametrize(("vendor", "method_id"), paged_methods())
async def test_a_paged_method_reads_every_page(pages, vendor, method_id):
    connector = entries()[vendor].connector
    method = connector.method(method_id)
    first = method.response_fields[0]
    key = parse_path(first.ConnectorField)[0].name or "_"
    parameters = {p.key: "x" for p in method.Parameters
                  if p.TargetType == "MergeField" or (p.TargetType == "QueryString" and not p.IsOptional and not p.Hide)}
    requests: list[Request] = []
    async with client(sent=requests.append) as http:
        read = await fetch_pages(http, connector, method_id, credentials=Credentials(
            auth_value(connector, None), {"BaseUrl": f"{pages.url}/{vendor}/{key}"}), tokens=FixedToken(),
            parameters=parameters)
    size = method.PageSizeInbound or connector.PageSizeInbound or 2
    assert read.pages == 2 and not read.warnings, (read.pages, read.warnings)
    assert [str(r[first.SystemField]).split(".")[0] for r in read.records] == [str(n) for n in range(1, size + 2)]
    assert len(requests) == 2
