"""Acceptance (lookups and custom fields): a connector trigger lists the values a field with its
TriggerName may take, through the API; a custom-fields lookup adds fields to a method for one
account connector. Both feed mappings of a running cycle: the demo API receives the value picked
from the trigger and the custom field's mapped value, and a later step reads the custom field
back from the response."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.templating import contacts_trigger, field, install_template, run_once, transactions
from tests.walkthrough import Installed

TEMPLATE = {"Name": "Lookups feed a cycle", "Steps": [
    contacts_trigger("lead"),
    {"Id": "lead", "Name": "Create lead", "Connector": "Demo Leads", "Method": "create-lead", "Next": "again",
     "FieldMappings": [{"Field": "Email", **field("contacts", "Email")}]},  # Source: picked from the trigger
    {"Id": "again", "Name": "Create lead again", "Connector": "Demo Leads", "Method": "create-lead",
     "FieldMappings": [{"Field": "Email", **field("lead", "Email")},
                       {"Field": "Source", "MappingType": "StaticValue", "Value": "src-web"}]},
]}


async def leads_connector(cycle: Installed) -> str:
    installed = (await cycle.call("GET", "/v1.0/account/connectors")).json()
    return next(c["Id"] for c in installed if c["Name"] == "Demo Leads")


async def missing_mappings(cycle: Installed) -> set[tuple[str, str]]:
    """(template step id, the field named) of each MissingMapping prerequisite."""
    steps = {s["Id"]: s["TemplateStepId"] for s in cycle.cycle["Steps"]}
    listed = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/prerequisites")).json()
    return {(steps[p["StepId"]], p["Message"].split("'")[3]) for p in listed if p["Reason"] == "MissingMapping"}


async def test_a_trigger_and_custom_fields_feed_the_mappings_of_a_running_cycle(api, demo):
    cycle = await install_template(api, demo.url, TEMPLATE, contacts=1)
    step = {s["TemplateStepId"]: s["Id"] for s in cycle.cycle["Steps"]}
    leads = await leads_connector(cycle)
    assert await missing_mappings(cycle) == {("lead", "Source")}

    # The trigger: the lead sources of this account's leads service, each a value and its label.
    response = await cycle.call("POST", f"/v1.0/account/connectors/{leads}/triggers/{quote('Lead sources')}")
    assert response.status_code == 200, response.text
    sources = {s["Name"]: s["Value"] for s in response.json()}
    assert sources == {"Web form": "src-web", "Trade fair": "src-fair", "Referral": "src-referral"}
    unknown = await cycle.call("POST", f"/v1.0/account/connectors/{leads}/triggers/Nope")
    assert unknown.status_code == 404 and "'Nope'" in unknown.json()["Message"]
    picked = {"MappingType": "StaticValue", "Value": sources["Trade fair"]}
    response = await cycle.call("PUT", f"/v1.0/steps/{step['lead']}/fieldmappings/Source", json=picked)
    assert response.status_code == 200, response.text

    # Custom fields are the account connector's: unknown until its lookup has run.
    colour = f"/v1.0/steps/{step['lead']}/fieldmappings/custom.colour"
    green = {"MappingType": "StaticValue", "Value": "green"}
    refused = await cycle.call("PUT", colour, json=green)
    assert refused.status_code == 422 and "has no field 'custom.colour'" in refused.text
    custom_fields = f"/v1.0/account/connectors/{leads}/methods/create-lead/customfields"
    assert (await cycle.call("GET", custom_fields)).json()["RefreshedAt"] is None
    response = await cycle.call("POST", custom_fields)
    assert response.status_code == 200, response.text
    found = response.json()
    assert [(f["SystemField"], f["DataType"], f["IsOptional"], f["Values"]) for f in found["RequestFields"]] \
        == [("custom.colour", "Text", False, ["red", "green", "blue"]), ("custom.budget", "Integer", True, [])]
    assert [f["SystemField"] for f in found["ResponseFields"]] == ["custom.colour", "custom.budget"]
    assert found["RequestFields"][0]["DisplayField"] == "Favourite colour" and found["Skipped"] == []
    assert (await cycle.call("GET", custom_fields)).json() == found

    # A required custom field is a prerequisite of each step calling the method, until mapped:
    # from a value, or from the custom field of an earlier step's response.
    assert await missing_mappings(cycle) == {("lead", "custom.colour"), ("again", "custom.colour")}
    response = await cycle.call("PUT", colour, json=green)
    assert response.status_code == 200, response.text
    response = await cycle.call("PUT", f"/v1.0/steps/{step['again']}/fieldmappings/custom.colour",
                                json=field("lead", "custom.colour"))
    assert response.status_code == 200, response.text
    mapped = (await cycle.call("GET", f"/v1.0/steps/{step['lead']}/fieldmappings")).json()
    assert {m["Field"]: m.get("Value") for m in mapped} == {"Email": None, "Source": "src-fair",
                                                            "custom.colour": "green"}
    assert await missing_mappings(cycle) == set()

    run = await run_once(cycle)
    assert run["Status"] == "Succeeded" and run["Transactions"]["Success"] == 1, run
    async with httpx.AsyncClient() as client:
        received = (await client.get(f"{demo.url}/admin/leads")).json()
    assert [(lead["source"], lead["custom"]) for lead in received] == [("src-fair", {"colour": "green"}),
                                                                       ("src-web", {"colour": "green"})]
    (done,) = await transactions(cycle)
    assert done["Records"]["lead"]["custom.colour"] == "green"  # read from the response into the record
