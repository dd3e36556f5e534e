"""Acceptance (prerequisites): GET /v1.0/cycles/{id}/prerequisites names what blocks activation —
a connector not installed or not authenticated, a missing property, mapping or variable — each
with its Reason and StepId; activation is refused (422) naming them until each is put right."""

from __future__ import annotations

import httpx

from tests.templating import (
    CONNECTORS,
    CREDENTIALS,
    contacts_trigger,
    field,
    install_template,
    run_once,
    storage,
)
from tests.walkthrough import Installed

TEMPLATE = {"Name": "Everything a cycle may lack", "Steps": [
    contacts_trigger("wanted?"),
    {"Id": "wanted?", "Type": "Decision", "TrueNext": "orders",
     "Condition": {"Left": field("contacts", "Status"), "Operator": "Equals",
                   "Right": {"MappingType": "Variable", "Variable": "WantedStatus"}}},
    {"Id": "orders", "Name": "List orders", "Connector": "Demo Orders", "Method": "list-orders", "Next": "lead"},
    {"Id": "lead", "Name": "Create lead", "Connector": "Demo Leads", "Method": "create-lead", "Next": "region",
     "FieldMappings": [  # Email (required) has no mapping; Source is left to the account
         {"Field": "Source", "MappingType": "StaticValue", "UserConfigurable": True}]},
    {"Id": "region", "Type": "Storage", "Operation": "Set", "Key": "region",
     "Value": {"MappingType": "Variable", "Variable": "Region"}},
]}


async def install_connector(api: httpx.AsyncClient, headers: dict, name: str, **body) -> dict:
    connector_id = next(c for c in await _connectors(api) if c["Name"] == name)["Id"]
    response = await api.post("/v1.0/account/connectors", headers=headers, json={"ConnectorId": connector_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def _connectors(api: httpx.AsyncClient) -> list[dict]:
    return (await api.get("/v1.0/connectors")).json()


async def prerequisites(cycle: Installed) -> set[tuple[str, str]]:
    """(template step id, Reason) of each prerequisite; every one has a message."""
    steps = {s["Id"]: s["TemplateStepId"] for s in cycle.cycle["Steps"]}
    response = await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/prerequisites")
    assert response.status_code == 200, response.text
    assert all(p["Message"] for p in response.json())
    return {(steps[p["StepId"]], p["Reason"]) for p in response.json()}


async def test_prerequisites_name_each_reason_and_step_and_block_activation_until_met(api, demo):
    async with httpx.AsyncClient() as client:
        (await client.post(f"{demo.url}/admin/reset", json={"contacts": 3})).raise_for_status()
    for document in CONNECTORS:
        assert (await api.post("/v1.0/connectors", json=document)).status_code == 201
    account = (await api.post("/v1.0/accounts", json={"Name": "Lacking"})).json()
    headers = {"X-Account-Id": account["Id"]}
    base_url = [{"Name": "BaseUrl", "Value": demo.url}]
    await install_connector(api, headers, "Demo CRM", AuthValue=CREDENTIALS["Demo CRM"], Properties=base_url)
    leads = await install_connector(api, headers, "Demo Leads")  # no credentials, no BaseUrl
    assert leads["Status"] == "NeedsAuthentication"
    template = (await api.post("/v1.0/templates", json=TEMPLATE)).json()
    response = await api.post(f"/v1.0/templates/{template['Id']}/install", headers=headers, json={})
    assert response.status_code == 201, response.text
    cycle = Installed(api, account["Id"], response.json(), demo.url)
    step = {s["TemplateStepId"]: s["Id"] for s in cycle.cycle["Steps"]}

    assert await prerequisites(cycle) == {
        ("wanted?", "MissingVariable"),
        ("orders", "ConnectorNotInstalled"),
        ("lead", "NotAuthenticated"), ("lead", "MissingProperty"), ("lead", "MissingMapping"),
        ("region", "MissingVariable"),
    }
    listed = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/prerequisites")).json()
    messages = {p["Message"] for p in listed}
    assert any("'Email'" in m for m in messages) and any("'Source'" in m for m in messages)
    assert any("'WantedStatus'" in m for m in messages) and any("'Region'" in m for m in messages)
    assert any("'BaseUrl'" in m for m in messages) and any("Demo Orders" in m for m in messages)

    refused = await cycle.activate(RunOnce=True)
    assert refused.status_code == 422
    errors = refused.json()["Errors"]
    assert len(errors) == len(listed)
    assert {e["Path"] for e in errors} == {f"steps/{step[s]}" for s in ("wanted?", "orders", "lead", "region")}
    assert {e["Message"].split(":")[0] for e in errors} == {p["Reason"] for p in listed}
    assert await cycle.status() == "Paused"

    # Put each right: what remains is listed, and only that.
    await cycle.call("PUT", "/v1.0/account/variables/WantedStatus", json={"Value": "active"})
    await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/variables/Region", json={"Value": "EU"})
    assert ("wanted?", "MissingVariable") not in await prerequisites(cycle)
    assert ("region", "MissingVariable") not in await prerequisites(cycle)

    response = await cycle.call("PUT", f"/v1.0/account/connectors/{leads['Id']}",
                                json={"AuthValue": CREDENTIALS["Demo Leads"], "Properties": base_url})
    assert response.status_code == 200 and response.json()["Status"] == "Verified", response.text
    for name, mapping in (("Email", field("contacts", "Email")), ("Source", {"MappingType": "StaticValue",
                                                                             "Value": "prerequisites"})):
        response = await cycle.call("PUT", f"/v1.0/steps/{step['lead']}/fieldmappings/{name}", json=mapping)
        assert response.status_code == 200, response.text
    assert await prerequisites(cycle) == {("orders", "ConnectorNotInstalled")}

    # The connector installed after the cycle: the cycle's step takes the account's installation.
    await install_connector(api, headers, "Demo Orders", AuthValue=CREDENTIALS["Demo Orders"], Properties=base_url)
    assert await prerequisites(cycle) == set()

    run = await run_once(cycle)
    assert run["Status"] == "Succeeded", run
    assert run["Transactions"] == {"Success": 3, "Errored": 0, "Stopped": 0}
    stats = await cycle.demo_stats()
    assert set(stats["emails"]) == {"contact1@example.com", "contact2@example.com"}  # the active ones
    assert await storage(cycle) == {"region": "EU"}


async def test_a_variable_set_for_the_account_or_the_cycle_meets_it_and_the_cycles_wins(api, demo):
    template = {"Name": "Variables", "Steps": [
        contacts_trigger("tag"),
        {"Id": "tag", "Type": "Storage", "Operation": "Set", "Key": "tag",
         "Value": {"MappingType": "Variable", "Variable": "Tag"}},
    ]}
    cycle = await install_template(api, demo.url, template, contacts=1)
    assert await prerequisites(cycle) == {("tag", "MissingVariable")}
    await cycle.call("PUT", "/v1.0/account/variables/Tag", json={"Value": "account"})
    assert await prerequisites(cycle) == set()
    await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/variables/Tag", json={"Value": "cycle"})
    await run_once(cycle)
    assert await storage(cycle) == {"tag": "cycle"}


async def test_an_account_sets_the_mapping_its_template_left_to_it_and_only_that(api, api_url, demo):
    template = {"Name": "Source left to the account", "Steps": [
        contacts_trigger("lead"),
        {"Id": "lead", "Name": "Create lead", "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
            {"Field": "Email", **field("contacts", "Email")},
            {"Field": "Source", "MappingType": "StaticValue", "UserConfigurable": True}]},
    ]}
    cycle = await install_template(api, demo.url, template, contacts=1)
    lead = next(s["Id"] for s in cycle.cycle["Steps"] if s["TemplateStepId"] == "lead")
    assert await prerequisites(cycle) == {("lead", "MissingMapping")}

    async with httpx.AsyncClient(base_url=api_url) as client:
        token = (await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
            "scope": f"account:{cycle.account_id}"})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", **cycle.headers}
        mappings = f"/v1.0/steps/{lead}/fieldmappings"
        response = await client.put(f"{mappings}/Source", headers=headers,
                                    json={"MappingType": "StaticValue", "Value": "chosen-by-the-account"})
        assert response.status_code == 200, response.text
        assert response.json()["UserConfigurable"] is True  # still the account's to change
        refused = await client.put(f"{mappings}/Email", headers=headers,
                                   json={"MappingType": "StaticValue", "Value": "someone@example.com"})
        assert refused.status_code == 403 and "'Email' is not user-configurable" in refused.json()["Message"]
    assert await prerequisites(cycle) == set()

    # The run sends the account's value: the demo refuses just that body, so the request shows.
    await cycle.demo("faults", status=400, count=1, path="/leads/contacts", body_contains="chosen-by-the-account")
    run = await run_once(cycle)
    assert run["Transactions"] == {"Success": 0, "Errored": 1, "Stopped": 0}
    base = f"/v1.0/cycles/{cycle.cycle_id}/transactions"
    (errored,) = (await cycle.call("GET", base)).json()
    body = (await cycle.call("GET", f"{base}/{errored['Id']}")).json()["Error"]["Request"]["Body"]
    assert '"source": "chosen-by-the-account"' in body.replace('":"', '": "')


async def test_a_mapping_of_a_field_the_step_cannot_have_is_refused_naming_it(api, demo):
    template = {"Name": "Mapped wrongly", "Steps": [
        contacts_trigger("lead"),
        {"Id": "lead", "Name": "Create lead", "Connector": "Demo Leads", "Method": "create-lead"},
    ]}
    cycle = await install_template(api, demo.url, template)
    lead = next(s["Id"] for s in cycle.cycle["Steps"] if s["TemplateStepId"] == "lead")
    ignore = {"MappingType": "Ignore"}
    response = await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/bad%0Bname", json=ignore)
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "path:field", response.text
    response = await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Phone", json=ignore)
    assert response.status_code == 422
    assert response.json()["Errors"] == [{"Path": "$.Field", "Message": "method 'create-lead' has no field 'Phone'"}]
    later = field("lead", "LeadId")  # the step's own response: not before it
    response = await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Email", json=later)
    assert response.json()["Errors"] == [{"Path": "$.SourceStep",
                                          "Message": "step 'lead' does not come before this step on any path"}]
    assert (await cycle.call("GET", f"/v1.0/steps/{lead}/fieldmappings")).json() == []
