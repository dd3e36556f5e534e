"""Acceptance (issue 17, point 9, the lookup): a connector whose post-install lookup reads an
`instance_url` from the OAuth token response and a portal id from a `whoami` call; the account
connector's properties are filled, and its next call goes to that host.

The demo OAuth server is the login server (Salesforce's login.salesforce.com); a second demo app
taking its tokens is the "instance" its token responses name. Neither knows the other's URL
until the token response says it."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from demo.app import create_app
from demo.oauth import PORTAL_ID
from tests.conftest import ThreadedServer
from tests.e2e.test_oauth import PROPERTIES, consent
from tests.templating import CREDENTIALS
from tests.walkthrough import Installed

CONNECTOR = {
    "Name": "Demo Instance CRM", "Version": "1.0",
    "Authentication": [{
        "Name": "Consent", "AuthType": "OAuth2", "OAuth2Type": "AuthorisationCode", "IsDefault": True,
        "AuthoriseUrl": "{{LoginUrl}}/oauth/authorize", "AccessTokenUrl": "{{LoginUrl}}/oauth/token",
        "TokenResponseFields": [{"ConnectorField": "instance_url", "SystemField": "InstanceUrl"}]}],
    "Parameters": [{"Name": name, "TargetType": "MergeField", "IsAccountConnectorProperty": True}
                   for name in ("LoginUrl", "InstanceUrl", "PortalId")],
    "PostInstallLookupMethod": "whoami",
    "Methods": [
        {"UniqueIdentifier": "whoami", "Name": "Who am I", "HttpMethod": "Get",
         "Endpoint": "{{InstanceUrl}}/oauth-api/whoami",
         "ResponseFormat": {"Fields": [{"ConnectorField": "portal.id", "SystemField": "PortalId",
                                        "DataType": "Integer"}]}},
        {"UniqueIdentifier": "list-contacts", "Name": "List contacts", "HttpMethod": "Get",
         "Endpoint": "{{InstanceUrl}}/oauth-api/contacts",
         "Parameters": [{"TargetType": "QueryString", "TargetName": "portal", "DefaultValue": "{{PortalId}}",
                         "Hide": True}],
         "ResponseFormat": {"Fields": [{"ConnectorField": "[records].email", "SystemField": "Email"}]}},
    ],
}


async def requests(url: str, prefix: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{url}/admin/requests", params={"prefix": prefix})).json()


async def set_instance(login_url: str, instance_url: str) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{login_url}/admin/oauth/instance", params={"url": instance_url})).raise_for_status()


async def test_the_lookup_fills_properties_from_the_token_response_and_an_answer_and_calls_go_there(api, demo):
    login = demo
    with ThreadedServer(create_app(contacts=3, oauth=login.server.config.app.state.oauth)) as instance:
        await set_instance(login.url, instance.url)
        connector = (await api.post("/v1.0/connectors", json=CONNECTOR)).json()
        account = (await api.post("/v1.0/accounts", json={"Name": "Instances"})).json()
        owner = Installed(api, account["Id"], {}, login.url)
        created = await owner.call("POST", "/v1.0/account/connectors", json={
            "ConnectorId": connector["Id"], "Properties": [*PROPERTIES, {"Name": "LoginUrl", "Value": login.url}]})
        assert created.status_code == 201, created.text
        installed = created.json()["Id"]
        assert created.json()["Properties"] == ["ClientId", "ClientSecret", "LoginUrl"]  # nothing to look up yet
        assert await requests(instance.url, "/oauth-api") == []

        landing = await consent(owner, installed)
        assert landing.json() == {"status": "success", "id": installed}, landing.text
        view = (await owner.call("GET", f"/v1.0/account/connectors/{installed}")).json()
        assert view["Properties"] == ["ClientId", "ClientSecret", "InstanceUrl", "LoginUrl", "PortalId"]
        assert (view["Status"], view["StatusReason"]) == ("Verified", None)
        (whoami,) = await requests(instance.url, "/oauth-api/whoami")  # the lookup went to the instance
        assert whoami["headers"]["authorization"].startswith("Bearer ")

        # The next call goes to the instance, with the token and the portal id the lookup found.
        response = await owner.call("POST", f"/v1.0/account/connectors/{installed}/methods/list-contacts")
        assert response.status_code == 200, response.text
        assert [r["Email"] for r in response.json()["Records"]] == [f"contact{i}@example.com" for i in (1, 2, 3)]
        (call,) = await requests(instance.url, "/oauth-api/contacts")
        assert parse_qs(call["query"]) == {"portal": [str(PORTAL_ID)]}
        assert call["headers"]["authorization"] == whoami["headers"]["authorization"]
        assert await requests(login.url, "/oauth-api") == []  # the login server served only the token


async def test_a_lookup_that_names_a_refused_host_leaves_it_to_the_egress_policy(api, demo):
    """The token response names an address on a private network: the whoami lookup is refused
    by the egress policy, the consent says so, and so is every later call; nothing reaches it."""
    await set_instance(demo.url, "http://10.255.255.1:9")
    connector = (await api.post("/v1.0/connectors", json=CONNECTOR)).json()
    account = (await api.post("/v1.0/accounts", json={"Name": "Refused instance"})).json()
    owner = Installed(api, account["Id"], {}, demo.url)
    installed = (await owner.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector["Id"], "Properties": [*PROPERTIES, {"Name": "LoginUrl", "Value": demo.url}]}
    )).json()["Id"]

    landing = (await consent(owner, installed)).json()
    assert landing["status"] == "error" and "10.255.255.1" in landing["message"], landing
    assert landing["message"].startswith("NotLookedUp: ") and "CYCLEWRIGHT_EGRESS_ALLOW" in landing["message"]
    view = (await owner.call("GET", f"/v1.0/account/connectors/{installed}")).json()
    assert view["StatusReason"] == landing["message"]
    assert "PortalId" not in view["Properties"]  # the instance was taken from the token; nothing came from it
    response = await owner.call("POST", f"/v1.0/account/connectors/{installed}/methods/whoami")
    assert response.status_code == 422, response.text
    assert "10.255.255.1, a non-public address" in response.json()["Errors"][0]["Message"]


KEYED = {
    "Name": "Demo Keyed Lookup", "Version": "1.0",
    "Authentication": [{"Name": "API key", "AuthType": "ApiKey", "ApiKeyLocation": "Header",
                        "ApiKeyName": "X-Api-Key", "IsDefault": True}],
    "Parameters": [{"Name": name, "TargetType": "MergeField", "IsAccountConnectorProperty": True}
                   for name in ("BaseUrl", "Service")],
    "PostInstallLookupMethod": "whoami",
    "Methods": [{"UniqueIdentifier": "whoami", "Name": "Who am I", "HttpMethod": "Get",
                 "Endpoint": "{{BaseUrl}}/whoami/crm",
                 "ResponseFormat": {"Fields": [{"ConnectorField": "service", "SystemField": "Service"}]}}],
}


async def test_the_lookup_runs_when_credentials_are_set_and_says_why_it_could_not(api, demo):
    connector = (await api.post("/v1.0/connectors", json=KEYED)).json()
    account = (await api.post("/v1.0/accounts", json={"Name": "Keyed lookups"})).json()
    owner = Installed(api, account["Id"], {}, demo.url)
    wrong = await owner.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector["Id"], "AuthValue": "not-the-key", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert wrong.status_code == 201, wrong.text  # no AuthTestMethod: saved, but the lookup was refused
    assert wrong.json()["Properties"] == ["BaseUrl"]
    assert wrong.json()["StatusReason"] == ("NotLookedUp: the connector's post-install lookup could not complete "
                                           "(Demo Keyed Lookup whoami: HTTP 401 Unauthorized)")

    fixed = await owner.call("PUT", f"/v1.0/account/connectors/{wrong.json()['Id']}",
                             json={"AuthValue": CREDENTIALS["Demo CRM"]})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["Properties"], fixed.json()["StatusReason"]) == (["BaseUrl", "Service"], None)
    assert len(await requests(demo.url, "/whoami/crm")) == 2
