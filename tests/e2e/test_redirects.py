"""Acceptance (issue 15, point 8): an upstream's 3xx is an error that names the redirect — an
Errored transaction in a run, the upstream's error from data on demand — and a method that opts
in follows redirects within its origin, never to another."""

from __future__ import annotations

import httpx
import pytest

from demo.app import create_app
from tests.conftest import ThreadedServer
from tests.walkthrough import Installed, catalog_document, install_demo_cycle


@pytest.fixture
def other_origin():
    """A second demo API: the same software on another port, so another origin."""
    with ThreadedServer(create_app()) as server:
        yield server


async def _requests(server_url: str, prefix: str = "/") -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{server_url}/admin/requests", params={"prefix": prefix})).json()


async def test_a_moved_endpoint_errors_each_transaction_naming_the_redirect(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.demo("faults", status=301, count=100, path="/leads", message="moved",
                     headers={"Location": "/v2/leads/contacts"})
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 0, "Errored": 3, "Stopped": 0}
    errored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                params={"status": "Errored"})).json()
    for transaction in errored:
        assert (f"HTTP 301 Moved Permanently: redirected to {demo.url}/v2/leads/contacts, which the method does "
                "not follow") in transaction["Message"], transaction
        assert "Create lead" in transaction["Message"] and "Demo Leads" in transaction["Message"]
    assert len(await _requests(demo.url, "/leads")) == 3  # one call each: a redirect is not retried
    assert (await cycle.demo_stats())["leads_created"] == 0


async def _moved_crm(cycle: Installed, demo_url: str, other_url: str) -> str:
    """A CRM whose contacts moved (301 within the API) and one method sent to another origin,
    both following redirects; its account connector's id."""
    document = catalog_document("connectors", "demo-crm.json")
    document["Name"], document["AuthTestMethod"] = "Demo CRM (moved)", None
    listing = document["Methods"][0]
    moved = {**listing, "Endpoint": "{{BaseUrl}}/moved/301/crm/contacts", "FollowRedirects": True}
    elsewhere = {**moved, "UniqueIdentifier": "list-elsewhere", "Name": "List elsewhere",
                 "Endpoint": f"{{{{BaseUrl}}}}/redirect?to={other_url}/crm/contacts"}
    unfollowed = {**moved, "UniqueIdentifier": "list-moved", "Name": "List moved", "FollowRedirects": False}
    document["Methods"] = [moved, elsewhere, unfollowed]
    uploaded = await cycle.api.post("/v1.0/connectors", json=document)
    assert uploaded.status_code == 201, uploaded.text
    row = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": uploaded.json()["Id"], "AuthValue": "demo-crm-key",
        "Properties": [{"Name": "BaseUrl", "Value": demo_url}]})
    assert row.status_code == 201, row.text
    return row.json()["Id"]


async def test_data_on_demand_follows_redirects_only_where_the_method_asks_and_only_within_its_origin(
        api, demo, other_origin):
    cycle = await install_demo_cycle(api, demo.url, contacts=4)
    row = await _moved_crm(cycle, demo.url, other_origin.url)
    methods = f"/v1.0/account/connectors/{row}/methods"

    # Not followed: the upstream's error, naming the redirect.
    response = await cycle.call("POST", f"{methods}/list-moved", json={})
    assert response.status_code == 502, response.text
    (problem,) = response.json()["Errors"]
    assert problem["Path"] == "upstream"
    assert problem["Message"].startswith(f"Demo CRM (moved) list-moved: HTTP 301 Moved Permanently: redirected to "
                                         f"{demo.url}/crm/contacts?page=1&per_page=500, which the method does not "
                                         "follow")

    # Followed within the origin, the API key with it.
    response = await cycle.call("POST", f"{methods}/list-contacts", json={})
    assert response.status_code == 200 and len(response.json()["Records"]) == 4, response.text
    hops = [(r["path"], r["headers"].get("x-api-key")) for r in await _requests(demo.url, "/crm")]
    assert hops == [("/crm/contacts", "demo-crm-key")]
    assert [r["path"] for r in await _requests(demo.url, "/moved")] == ["/moved/301/crm/contacts"] * 2

    # Another origin: refused, and nothing (no credential) reaches it.
    response = await cycle.call("POST", f"{methods}/list-elsewhere", json={})
    assert response.status_code == 502, response.text
    assert (f"HTTP 302 Found: redirected to {other_origin.url}/crm/contacts, another origin: FollowRedirects "
            "follows redirects only within the method's origin") in response.json()["Errors"][0]["Message"]
    assert await _requests(other_origin.url) == []
