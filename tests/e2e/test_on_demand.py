"""Acceptance (issue 3, point 6): data on demand, the debugger, and the connector CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli import app as cli
from tests.walkthrough import catalog_document, install_demo_cycle


async def installed(cycle, name: str) -> str:
    connectors = {c["Name"]: c["Id"] for c in (await cycle.api.get("/v1.0/connectors")).json()}
    for row in (await cycle.call("GET", "/v1.0/account/connectors")).json():
        if row["ConnectorId"] == connectors[name]:
            return row["Id"]
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connectors[name], "Properties": [{"Name": "BaseUrl", "Value": cycle.demo_url}]})
    assert response.status_code == 201, response.text
    return response.json()["Id"]


async def test_data_on_demand_reads_every_page_or_one(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=25)
    await api.post("/v1.0/connectors", json=catalog_document("connectors", "demo-paging.json"))
    paging = await installed(cycle, "Demo Paging")

    response = await cycle.call("POST", f"/v1.0/account/connectors/{paging}/methods/token", json={})
    assert response.status_code == 200, response.text
    assert len(response.json()["Records"]) == 25 and response.json()["Pages"] == 3

    first = (await cycle.call("POST", f"/v1.0/account/connectors/{paging}/methods/number",
                              json={"OnePage": True})).json()
    assert [r["Id"] for r in first["Records"]] == [f"c{i}" for i in range(1, 11)]
    second = (await cycle.call("POST", f"/v1.0/account/connectors/{paging}/methods/number",
                               json={"OnePage": True, "Cursor": first["NextCursor"]})).json()
    assert [r["Id"] for r in second["Records"]] == [f"c{i}" for i in range(11, 21)]


async def test_data_on_demand_writes_and_reports_upstream_errors(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    leads = await installed(cycle, "Demo Leads")
    path = f"/v1.0/account/connectors/{leads}/methods/create-lead"
    response = await cycle.call("POST", path, json={"Fields": {"Email": "a@b.c", "Source": "api"}})
    assert response.status_code == 200, response.text
    assert response.json()["Records"][0]["Email"] == "a@b.c"

    await cycle.demo("faults", status=400, message="duplicate email")
    response = await cycle.call("POST", path, json={"Fields": {"Email": "a@b.c", "Source": "api"}})
    assert response.status_code == 502 and "duplicate email" in response.text
    assert "demo-leads-token" not in response.text

    assert (await cycle.call("POST", f"/v1.0/account/connectors/{leads}/methods/nope")).status_code == 404
    other = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    response = await api.post(path, headers={"X-Account-Id": other}, json={})
    assert response.status_code == 404


async def test_the_debugger_shows_each_exchange_with_secrets_masked(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    crm = await installed(cycle, "Demo CRM")
    response = await cycle.call("POST", f"/v1.0/account/connectors/{crm}/test", json={"Method": "list-contacts"})
    result = response.json()
    assert response.status_code == 200 and result["Success"] and result["Method"] == "list-contacts"
    (exchange,) = result["Exchanges"]
    assert exchange["method"] == "GET" and exchange["status"] == 200
    assert exchange["request_headers"]["x-api-key"] == "***"
    assert "contact1@example.com" in exchange["response_body"]
    assert "demo-crm-key" not in response.text

    # The debugger's default is the connector's AuthTestMethod; a wrong key shows its 401 there.
    result = (await cycle.call("POST", f"/v1.0/account/connectors/{crm}/test")).json()
    assert result["Success"] and result["Method"] == "whoami"


async def test_credentials_that_fail_the_auth_test_method_are_refused_and_nothing_changes(api, demo, refusing_url):
    """Acceptance (issue 7, point 6)."""
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    crm = await installed(cycle, "Demo CRM")
    before = (await cycle.call("GET", f"/v1.0/account/connectors/{crm}")).json()
    assert before["Status"] == "Verified" and before["Authenticated"]

    response = await cycle.call("PUT", f"/v1.0/account/connectors/{crm}",
                                json={"AuthValue": "wrong-key", "Name": "Renamed"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["Errors"]
    assert error["Path"] == "$.AuthValue" and "'whoami' answered HTTP 401" in error["Message"], error
    assert "wrong-key" not in response.text
    assert (await cycle.call("GET", f"/v1.0/account/connectors/{crm}")).json() == before  # nothing saved
    test = (await cycle.call("POST", f"/v1.0/account/connectors/{crm}/test")).json()
    assert test["Success"], test  # still the working key

    ids = {c["Name"]: c["Id"] for c in (await api.get("/v1.0/connectors")).json()}
    listed = len((await cycle.call("GET", "/v1.0/account/connectors")).json())
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": ids["Demo Leads"], "AuthValue": "wrong-token", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert response.status_code == 422 and "HTTP 401" in response.json()["Errors"][0]["Message"], response.text
    assert len((await cycle.call("GET", "/v1.0/account/connectors")).json()) == listed

    # An upstream that cannot be reached cannot say the credentials are wrong: saved, not verified.
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": ids["Demo Leads"], "AuthValue": "demo-leads-token",
        "Properties": [{"Name": "BaseUrl", "Value": refusing_url}]})
    assert response.status_code == 201 and response.json()["Status"] == "CredentialsSet", response.text
    assert response.json()["StatusReason"].startswith("NotVerified")

    # A connector with no AuthTestMethod: the credentials are set, not verified.
    unverified = catalog_document("connectors", "demo-crm.json")
    unverified["Name"], unverified["AuthTestMethod"] = "Demo CRM without a test", None
    connector = (await api.post("/v1.0/connectors", json=unverified)).json()["Id"]
    response = await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector, "AuthValue": "any-key", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert response.status_code == 201 and response.json()["Status"] == "CredentialsSet"
    assert not response.json()["Authenticated"]


def test_cli_validate_lists_every_problem_with_its_path(tmp_path):
    document = catalog_document("connectors", "demo-crm.json")
    document["Methods"][0]["HttpMethod"] = "Fetch"
    document["Methods"][0]["Endpoint"] = "{{Nowhere}}/contacts"
    document["Authentication"][0]["ApiKeyLocation"] = "Cookie"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["connector", "validate", str(path)])
    assert result.exit_code == 1
    for where in ("$.Methods[0].HttpMethod", "$.Methods[0].Endpoint", "$.Authentication[0].ApiKeyLocation"):
        assert where in result.output
    ok = CliRunner().invoke(cli, ["connector", "validate", "catalog/connectors/demo-crm.json"])
    assert ok.exit_code == 0 and "valid" in ok.output


def test_cli_call_prints_exchanges_and_records(demo):
    result = CliRunner().invoke(cli, [
        "connector", "call", "catalog/connectors/demo-crm.json", "list-contacts",
        "--auth", "demo-crm-key", "--property", f"BaseUrl={demo.url}"])
    assert result.exit_code == 0, result.output
    assert "GET " in result.output and "contact1@example.com" in result.output
    assert "demo-crm-key" not in result.output
