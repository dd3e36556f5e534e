"""Acceptance (issue 7, points 1, 2 and 5): the egress policy, credentials bound to their
origins, and masking that touches only the secret."""

from __future__ import annotations

import httpx
import pytest

from demo.app import create_app
from tests.conftest import ThreadedServer, api_process, free_port, partner_client
from tests.walkthrough import catalog_document, install_demo_cycle, upload_catalog

CRM_KEY = "demo-crm-key"


@pytest.fixture
def other_origin():
    """A second demo API: the same software on another port, so another origin."""
    with ThreadedServer(create_app()) as server:
        yield server


async def _untested_crm(api: httpx.AsyncClient) -> str:
    """The demo CRM connector without its AuthTestMethod: credentials are saved unverified, so
    the calls under test are the only ones made."""
    document = catalog_document("connectors", "demo-crm.json")
    document["Name"], document["AuthTestMethod"] = "Demo CRM (no auth test)", None
    return (await api.post("/v1.0/connectors", json=document)).json()["Id"]


async def _requests(server_url: str, prefix: str = "/") -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{server_url}/admin/requests", params={"prefix": prefix})).json()


async def _account_connector(api: httpx.AsyncClient, account: str, connector: str, base_url: str,
                             auth_value: str = CRM_KEY) -> httpx.Response:
    return await api.post("/v1.0/account/connectors", headers={"X-Account-Id": account}, json={
        "ConnectorId": connector, "AuthValue": auth_value, "Properties": [{"Name": "BaseUrl", "Value": base_url}]})


async def test_non_public_targets_are_refused_unless_allowed(api, demo):
    """An API process with the default policy refuses loopback (by address and by a name that
    resolves to it), private and link-local targets, and non-http URLs; the session's API,
    which allows loopback, reaches the same demo."""
    ids = await upload_catalog(api)
    untested = await _untested_crm(api)
    port = free_port()
    strict = api_process(port, env={"CYCLEWRIGHT_EGRESS_ALLOW": ""}, log="strict-api.log")
    try:
        async with partner_client(f"http://127.0.0.1:{port}") as api_strict:
            account = (await api_strict.post("/v1.0/accounts", json={"Name": "Strict"})).json()["Id"]
            targets = {demo.url: "loopback", demo.url.replace("127.0.0.1", "localhost"): "'localhost' resolves to",
                       "http://169.254.169.254": "link-local", "http://10.1.2.3:9": "private"}
            for base_url, words in targets.items():
                row = (await _account_connector(api_strict, account, untested, base_url)).json()
                headers = {"X-Account-Id": account}
                test = (await api_strict.post(f"/v1.0/account/connectors/{row['Id']}/test", headers=headers,
                                              json={"Method": "list-contacts"})).json()
                assert not test["Success"] and words in test["Error"], test
                assert "CYCLEWRIGHT_EGRESS_ALLOW" in test["Error"]
                called = await api_strict.post(f"/v1.0/account/connectors/{row['Id']}/methods/list-contacts",
                                               headers=headers, json={"OnePage": True})
                assert called.status_code == 422 and words in called.json()["Errors"][0]["Message"], called.text
                # A next URL the caller supplies is held to the same policy, a file URL included.
                for cursor in ({"next_url": "http://169.254.169.254/latest/meta-data"},
                               {"next_url": "file:///etc/passwd"}):
                    called = await api_strict.post(f"/v1.0/account/connectors/{row['Id']}/methods/list-contacts",
                                                   headers=headers, json={"OnePage": True, "Cursor": cursor})
                    assert called.status_code == 422, called.text
            assert await _requests(demo.url) == []  # nothing reached the demo

        # Allowed (the session API lists loopback): the same account connector works.
        allowed = await install_demo_cycle(api, demo.url, contacts=2)
        crm = next(c for c in (await allowed.call("GET", "/v1.0/account/connectors")).json()
                   if c["ConnectorId"] == ids["Demo CRM"])
        test = (await allowed.call("POST", f"/v1.0/account/connectors/{crm['Id']}/test",
                                   json={"Method": "list-contacts"})).json()
        assert test["Success"], test
    finally:
        strict.stop()


async def test_call_time_input_cannot_send_credentials_elsewhere(api, demo, other_origin):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    crm = next(c for c in (await cycle.call("GET", "/v1.0/account/connectors")).json() if c["Name"] == "Demo CRM")
    path = f"/v1.0/account/connectors/{crm['Id']}/methods/list-contacts"

    # Parameters cannot move the BaseUrl (nor set anything the method does not offer).
    response = await cycle.call("POST", path, json={"Parameters": {"BaseUrl": other_origin.url}})
    assert response.status_code == 422 and "'BaseUrl'" in response.json()["Errors"][0]["Message"], response.text

    # A caller's next URL on another origin is followed without the API key.
    response = await cycle.call("POST", path, json={
        "OnePage": True, "Cursor": {"next_url": f"{other_origin.url}/crm/contacts?page=2"}})
    assert response.status_code == 502  # the other origin wants a key it was not given
    (elsewhere,) = await _requests(other_origin.url, "/crm")
    assert "x-api-key" not in elsewhere["headers"] and CRM_KEY not in str(elsewhere)

    # An upstream's Link to another origin: followed, without the credentials.
    connector = catalog_document("connectors", "demo-paging.json")
    connector["Name"] = "Demo Paging With A Key"
    connector["Authentication"] = [{"Name": "Key", "AuthType": "ApiKey", "ApiKeyLocation": "Header",
                                    "ApiKeyName": "X-Api-Key", "IsDefault": True}]
    connector["Methods"].append({
        "UniqueIdentifier": "link-elsewhere", "Name": "Link to another origin", "HttpMethod": "Get",
        "Endpoint": "{{BaseUrl}}/paging/link-to",
        "Parameters": [{"TargetType": "QueryString", "TargetName": "to", "Hide": True,
                        "DefaultValue": f"{other_origin.url}/paging/number?page=2"}],
        "ResponseFormat": {"Fields": [{"ConnectorField": "[].id", "SystemField": "Id"}]}})
    uploaded = await api.post("/v1.0/connectors", json=connector)
    assert uploaded.status_code == 201, uploaded.text
    connector_id = uploaded.json()["Id"]
    row = (await _account_connector(api, cycle.account_id, connector_id, demo.url, "paging-secret-key")).json()
    response = await cycle.call("POST", f"/v1.0/account/connectors/{row['Id']}/methods/link-elsewhere", json={})
    assert response.status_code == 200 and response.json()["Pages"] == 2, response.text
    (first,) = await _requests(demo.url, "/paging")
    (second,) = await _requests(other_origin.url, "/paging")
    assert first["headers"]["x-api-key"] == "paging-secret-key"
    assert "x-api-key" not in second["headers"] and "paging-secret-key" not in str(second)


async def test_a_one_character_secret_masks_only_itself(api, demo):
    account = (await api.post("/v1.0/accounts", json={"Name": "Short secret"})).json()["Id"]
    row = (await _account_connector(api, account, await _untested_crm(api), demo.url, auth_value="k")).json()
    test = (await api.post(f"/v1.0/account/connectors/{row['Id']}/test", headers={"X-Account-Id": account},
                           json={"Method": "list-contacts"})).json()
    (exchange,) = test["Exchanges"]
    assert exchange["request_headers"]["x-api-key"] == "***"
    # Everything else shows as it is: every "k" of the URL, the headers and the body is intact.
    assert exchange["url"] == f"{demo.url}/crm/contacts?page=1&per_page=500"
    assert "***" not in exchange["url"] + exchange["response_body"] + str(exchange["response_headers"])
    assert "bad API key" in exchange["response_body"]  # the demo's answer to a wrong key, every "k" kept
