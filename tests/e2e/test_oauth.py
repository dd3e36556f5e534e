"""Acceptance (issue 3, point 2): OAuth 2 client credentials, password and authorization code
against a real authorization server; refresh on expiry and after a 401, rotation persisted,
one refresh for two processes, and invalid_grant → NeedsReauthentication."""

from __future__ import annotations

import asyncio
import base64
import os
import sys

import httpx
from sqlalchemy import text

from runtime.settings import settings
from store.database import connect
from tests.conftest import ROOT
from tests.walkthrough import catalog_document, eventually, install_demo_cycle

PROPERTIES = [{"Name": "ClientId", "Value": "demo-client"}, {"Name": "ClientSecret", "Value": "demo-secret"}]


async def oauth_connector(cycle, authentication: str, auth_value: str | None = None) -> str:
    response = await cycle.api.post("/v1.0/connectors", json=catalog_document("connectors", "demo-oauth-crm.json"))
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": response.json()["Id"], "AuthenticationId": authentication, "AuthValue": auth_value,
        "Properties": [*PROPERTIES, {"Name": "BaseUrl", "Value": cycle.demo_url}]})
    assert response.status_code == 201, response.text
    return response.json()["Id"]


async def contacts(cycle, account_connector: str) -> httpx.Response:
    return await cycle.call("POST", f"/v1.0/account/connectors/{account_connector}/methods/list-contacts")


async def server(cycle, path: str = "", method: str = "GET", **params) -> dict:
    async with httpx.AsyncClient(base_url=cycle.demo_url) as client:
        return (await client.request(method, f"/admin/oauth{path}", params=params)).json()


async def consent(cycle, account_connector: str) -> httpx.Response:
    """The connector authentication link, followed as a browser would."""
    token = (await cycle.call("POST", f"/v1.0/accounts/{cycle.account_id}/signintoken")).json()["Token"]
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        return await browser.get(f"{cycle.api.base_url}/connectorauth/updateaccountconnectoroauth", params={
            "id": account_connector, "token": token, "targetOrigin": f"{cycle.demo_url}/oauth/done"})


async def test_client_credentials(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    service = await oauth_connector(cycle, "Service")
    for _ in range(2):
        response = await contacts(cycle, service)
        assert response.status_code == 200 and len(response.json()["Records"]) == 3, response.text
    assert (await server(cycle))["token_requests"] == ["client_credentials"]  # the token was reused


async def test_password_credentials(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    password = await oauth_connector(cycle, "Password", base64.b64encode(b"ada:lovelace").decode())
    response = await contacts(cycle, password)
    assert response.status_code == 200 and len(response.json()["Records"]) == 2, response.text
    assert (await server(cycle))["token_requests"] == ["password"]


async def test_authorization_code_through_the_consent_redirect(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    consented = await oauth_connector(cycle, "Consent")
    assert (await contacts(cycle, consented)).status_code == 502  # not authorised yet
    landing = await consent(cycle, consented)
    assert landing.status_code == 200 and landing.json() == {"status": "success", "id": consented}
    installed = (await cycle.call("GET", f"/v1.0/account/connectors/{consented}")).json()
    assert installed["Authenticated"]
    response = await contacts(cycle, consented)
    assert response.status_code == 200 and len(response.json()["Records"]) == 2

    # An access token the API rejects (401) is refreshed once; the rotated refresh token is kept.
    for round in range(2):
        await server(cycle, "/expire", method="POST")
        assert (await contacts(cycle, consented)).status_code == 200
    stats = await server(cycle)
    assert stats["token_requests"] == ["authorization_code", "refresh_token", "refresh_token"]
    assert stats["live_refresh_tokens"] == 1


async def test_a_sign_in_token_is_single_use(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    consented = await oauth_connector(cycle, "Consent")
    token = (await cycle.call("POST", f"/v1.0/accounts/{cycle.account_id}/signintoken")).json()["Token"]
    link = f"{cycle.api.base_url}/connectorauth/updateaccountconnectoroauth"
    params = {"id": consented, "token": token, "targetOrigin": f"{cycle.demo_url}/oauth/done"}
    async with httpx.AsyncClient() as browser:
        first = await browser.get(link, params=params)
        assert first.status_code == 302 and "code_challenge=" in first.headers["location"]
        assert "state=" in first.headers["location"]
        assert (await browser.get(link, params=params)).status_code == 401


async def test_expiry_is_refreshed_before_the_call(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    consented = await oauth_connector(cycle, "Consent")
    await server(cycle, "/lifetime", method="POST", seconds=5)  # inside the refresh margin
    await consent(cycle, consented)
    assert (await contacts(cycle, consented)).status_code == 200
    assert (await server(cycle))["token_requests"] == ["authorization_code", "refresh_token"]
    async with httpx.AsyncClient() as client:
        calls = (await client.get(f"{demo.url}/admin/requests", params={"prefix": "/oauth-api"})).json()
    assert len(calls) == 1  # refreshed ahead of time, not after a 401


CALLER = """
import asyncio, sys
from connectors import call_method
from connectors.client import http_client
from runtime.settings import settings
from store.connections import load_credentials, load_release
from store.database import session
from store.tokens import DatabaseTokenStore
with session() as db:
    row, credentials = load_credentials(db, sys.argv[1])
    connector = load_release(db, row.release_id)
print("ready", flush=True)
async def main():
    async with http_client(30, settings().egress) as client:  # the refresh waits at the server for the test
        result = await call_method(client, connector, "list-contacts", credentials=credentials,
                                   tokens=DatabaseTokenStore(row.id))
        print(len(result.records), flush=True)
asyncio.run(main())
"""


async def test_two_processes_refreshing_at_once_make_one_token_request(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=4)
    consented = await oauth_connector(cycle, "Consent")
    await consent(cycle, consented)
    await server(cycle, "/expire", method="POST")
    await server(cycle, "/hold", method="POST")  # the first refresh waits at the server
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-W", "ignore", "-c", CALLER, consented, cwd=ROOT,
                                             env=os.environ.copy(), stdout=asyncio.subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        assert (await process.stdout.readline()).strip() == b"ready"
    await eventually(lambda: _waiting(cycle), "a refresh at the authorization server")
    # While the refresh waits on the network, the database takes writes: no lock is held.
    _write_within_a_second(cycle.account_id)
    await server(cycle, "/release", method="POST")
    outputs = [await process.communicate() for process in processes]
    assert [out.strip() for out, _ in outputs] == [b"4", b"4"]
    assert (await server(cycle))["token_requests"] == ["authorization_code", "refresh_token"]


def _write_within_a_second(account_id: str) -> None:
    """A write on a connection of its own, failing if it waits over a second for a lock."""
    other = connect(settings().database_url)
    try:
        with other.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            else:
                connection.exec_driver_sql("PRAGMA busy_timeout = 1000")
            connection.execute(text("UPDATE account SET name = name WHERE id = :id"), {"id": account_id})
    finally:
        other.dispose()


async def _waiting(cycle) -> bool:
    return (await server(cycle))["waiting"] > 0


async def test_invalid_grant_needs_reauthentication_and_fails_the_run_readably(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    consented = await oauth_connector(cycle, "Consent")
    await consent(cycle, consented)
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"] = "OAuth contacts to leads"
    template["Steps"][0]["Connector"] = "Demo OAuth CRM"
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]
    installed = (await cycle.call("POST", f"/v1.0/templates/{template_id}/install", json={
        "AccountConnectors": {"Demo OAuth CRM": consented}})).json()
    lead = next(s["Id"] for s in installed["Steps"] if s["TemplateStepId"] == "lead")
    await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source", json={"MappingType": "StaticValue",
                                                                                "Value": "crm"})
    await server(cycle, "/revoke", method="POST")
    await server(cycle, "/expire", method="POST")
    cycle.cycle = installed
    response = await cycle.activate(RunOnce=True)
    assert response.status_code == 200, response.text
    (run,) = await cycle.wait_for_runs(1, status="Failed")
    assert "needs re-authentication" in run["Message"] and "invalid_grant" in run["Message"]
    account_connector = (await cycle.call("GET", f"/v1.0/account/connectors/{consented}")).json()
    assert not account_connector["Authenticated"]
    assert account_connector["StatusReason"].startswith("NeedsReauthentication")
