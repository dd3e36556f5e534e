"""Acceptance (issue 17, point 10): `cyclewright connector install NAME` loads a catalog connector
into a running product (through the API's catalog route), once; `connector list` lists them."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from cli import app as cli
from connectors.catalog import entries


def cyclewright(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"CYCLEWRIGHT_CLIENT_ID": "test-client",
                                                      "CYCLEWRIGHT_CLIENT_SECRET": "test-secret"})
    return result.exit_code, result.output


def test_connector_list_names_each_catalog_connector_with_its_auth_and_paging():
    code, output = cyclewright("connector", "list")
    assert code == 0, output
    assert len(entries()) >= 12
    for name, entry in entries().items():
        assert f"{name} — {entry.connector.Name} {entry.connector.Version}" in output
    assert "github — GitHub" in output and "paging: next_url" in output


async def test_connector_install_loads_one_into_the_running_product_once(api, api_url):
    listed = {e["Name"]: e for e in (await api.get("/v1.0/catalog")).json()}
    assert set(listed) == set(entries()) and listed["slack"]["InstalledId"] is None

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slack", "--api-url", api_url)
    assert code == 0 and "Slack 2.0: installed (Live)" in output, output
    connectors = {c["Name"]: c for c in (await api.get("/v1.0/connectors")).json()}
    assert connectors["Slack"]["ReleaseStatus"] == "Live"
    methods = {m["UniqueIdentifier"] for m in (await api.get(f"/v1.0/connectors/{connectors['Slack']['Id']}/methods")).json()}
    assert methods == {m.UniqueIdentifier for m in entries()["slack"].connector.Methods}
    assert (await api.get("/v1.0/catalog")).json()[[e["Name"] for e in listed.values()].index("slack")]["InstalledId"] \
        == connectors["Slack"]["Id"]

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slack", "--api-url", api_url)
    assert code == 0 and "Slack 2.0: already installed" in output, output
    assert len((await api.get(f"/v1.0/connectors/{connectors['Slack']['Id']}/releases")).json()) == 1

    code, output = await asyncio.to_thread(cyclewright, "connector", "install", "slak", "--api-url", api_url)
    assert code == 1 and "404 catalog connector 'slak' was not found" in output, output
    response = await api.post("/v1.0/catalog/slak/install")
    assert response.status_code == 404 and response.json()["Message"] == "catalog connector 'slak' was not found"
