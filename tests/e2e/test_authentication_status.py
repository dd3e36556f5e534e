"""What an account connector's Status says of its credentials (issue 7): NeedsAuthentication
until they are all there, Verified once a call proved them (the connector's AuthTestMethod
before they are saved, or an OAuth2 token issued), CredentialsSet when nothing proved them.
The refusal of a wrong key is in test_on_demand.py (acceptance 6)."""

from __future__ import annotations

import httpx

from tests.e2e.test_oauth import PROPERTIES, contacts
from tests.walkthrough import catalog_document, install_demo_cycle


async def _tests_made(demo_url: str) -> int:
    async with httpx.AsyncClient() as client:
        return len((await client.get(f"{demo_url}/admin/requests", params={"prefix": "/whoami"})).json())


async def test_credentials_are_tested_when_set_and_only_then(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    crm = next(c["Id"] for c in (await api.get("/v1.0/connectors")).json() if c["Name"] == "Demo CRM")
    base_url = [{"Name": "BaseUrl", "Value": demo.url}]

    # Installed first, authenticated later: with no credentials there is nothing to test.
    tests = await _tests_made(demo.url)
    response = await cycle.call("POST", "/v1.0/account/connectors", json={"ConnectorId": crm, "Properties": base_url})
    assert response.status_code == 201, response.text
    row = response.json()
    assert (row["Status"], row["Authenticated"]) == ("NeedsAuthentication", False)
    assert await _tests_made(demo.url) == tests

    path = f"/v1.0/account/connectors/{row['Id']}"
    assert (await cycle.call("PUT", path, json={"AuthValue": "wrong-key"})).status_code == 422
    assert (await cycle.call("GET", path)).json()["Status"] == "NeedsAuthentication"  # nothing saved
    response = await cycle.call("PUT", path, json={"AuthValue": "demo-crm-key"})
    assert response.status_code == 200 and response.json()["Status"] == "Verified", response.text
    assert response.json()["Authenticated"]

    # A new name is no new credential: not tested again, still verified.
    tests = await _tests_made(demo.url)
    response = await cycle.call("PUT", path, json={"Name": "Renamed"})
    assert response.json()["Status"] == "Verified" and await _tests_made(demo.url) == tests


async def test_oauth2_credentials_are_verified_when_a_token_is_issued(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    document = catalog_document("connectors", "demo-oauth-crm.json")
    document["Name"], document["AuthTestMethod"] = "Demo OAuth CRM (with a test method)", "list-contacts"
    connector = (await api.post("/v1.0/connectors", json=document)).json()["Id"]
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector, "AuthenticationId": "Service",
        "Properties": [*PROPERTIES, {"Name": "BaseUrl", "Value": demo.url}]})
    assert response.status_code == 201, response.text
    installed = response.json()
    assert (installed["Status"], installed["Authenticated"]) == ("CredentialsSet", False)  # no token yet

    assert (await contacts(cycle, installed["Id"])).status_code == 200  # the first call obtains one
    installed = (await cycle.call("GET", f"/v1.0/account/connectors/{installed['Id']}")).json()
    assert (installed["Status"], installed["Authenticated"]) == ("Verified", True)
