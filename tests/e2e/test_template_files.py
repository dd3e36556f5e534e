"""Acceptance: templates as files (export, import), template versions, a cycle copied as a template.

Export → import round-trips a template unchanged; installing after a new template version
leaves old cycles on theirs, flagged."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.walkthrough import catalog_document, eventually, install_demo_cycle, upload_catalog

CLIENT = {"grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret"}

RICH = {
    "Name": "Rich template",
    "Description": "Every step type a file must carry: Method, Decision, Storage, Delay.",
    "CollectionSplit": "All",
    "Steps": [
        {"Id": "contacts", "Name": "List contacts", "Type": "Method", "Connector": "Demo CRM",
         "Method": "list-contacts", "Next": "active?", "CollectionSplit": "First"},
        {"Id": "active?", "Name": "Active?", "Type": "Decision",
         "Condition": {"Left": {"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Status"},
                       "Operator": "Equals",
                       "Right": {"MappingType": "StaticValue", "Value": "active"}, "DataType": "Text"},
         "TrueNext": "lead", "FalseNext": "skipped"},
        {"Id": "lead", "Name": "Create lead", "Type": "Method", "Connector": "Demo Leads",
         "Method": "create-lead", "OnError": "Retry", "Next": "pause",
         "FieldMappings": [
             {"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"},
             {"Field": "Name", "MappingType": "Expression",
              "Expression": "{{contacts.FirstName}} {{contacts.LastName}}"},
             {"Field": "Source", "MappingType": "ValueList", "SourceStep": "contacts",
              "SourceField": "CompanyName", "Values": {"Company 1": "Zürich", "Company 2": "Paris"},
              "Default": "elsewhere", "UserConfigurable": True}]},
        {"Id": "skipped", "Type": "Storage", "Scope": "Account", "Operation": "Increment", "Key": "skipped",
         "Value": {"MappingType": "StaticValue", "Value": "2", "DataType": "Integer"}, "OnError": "Ignore"},
        {"Id": "pause", "Type": "Delay", "Seconds": 60, "Next": "remember"},
        {"Id": "remember", "Type": "Storage", "Operation": "Set", "Key": "region",
         "Value": {"MappingType": "Variable", "Variable": "Region"}},
    ],
}


def contains(whole: Any, part: Any) -> bool:
    """`whole` has everything `part` has (a validated document adds only defaults)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and contains(whole[k], v) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) and all(map(contains, whole, part))
    return whole == part


def version_two(template: dict) -> dict:
    """The demo template with a Decision before the lead (only active contacts become leads)
    and a Source mapping of its own."""
    document = copy.deepcopy(template)
    contacts, lead = document["Steps"]
    contacts["Next"] = "active?"
    lead["FieldMappings"] = [m for m in lead["FieldMappings"] if m["Field"] != "Source"]  # v1 left it to the account
    lead["FieldMappings"].append({"Field": "Source", "MappingType": "StaticValue", "Value": "v2"})
    document["Steps"] = [contacts, {
        "Id": "active?", "Type": "Decision", "TrueNext": "lead",
        "Condition": {"Left": {"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Status"},
                      "Operator": "Equals", "Right": {"MappingType": "StaticValue", "Value": "active"}}}, lead]
    return document


async def account_client(api_url: str, account_id: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        token = (await anonymous.post("/oauth/token", data={**CLIENT, "scope": f"account:{account_id}"})).json()
    return httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token['access_token']}",
                                                        "X-Account-Id": account_id})


async def test_export_then_import_round_trips_a_template_unchanged(api):
    await upload_catalog(api)  # the demo connectors the template names
    created = await api.post("/v1.0/templates", json=RICH)
    assert created.status_code == 201, created.text
    first = await api.get(f"/v1.0/templates/{created.json()['Id']}/export")
    assert first.status_code == 200
    assert contains(first.json(), RICH)  # what was given, with only the format's defaults added
    assert [s["Id"] for s in first.json()["Steps"]] == [s["Id"] for s in RICH["Steps"]]

    imported = await api.post("/v1.0/templates", content=first.content,
                              headers={"Content-Type": "application/json"})
    assert imported.status_code == 201, imported.text
    assert imported.json()["Id"] != created.json()["Id"]
    assert imported.json()["Name"] == RICH["Name"] and imported.json()["Version"] == 1
    second = await api.get(f"/v1.0/templates/{imported.json()['Id']}/export")
    assert second.content == first.content  # byte for byte
    third = await api.get(f"/v1.0/templates/{imported.json()['Id']}/export", params={"version": 1})
    assert third.content == first.content


async def test_a_new_version_leaves_installed_cycles_on_theirs_flagged(api, demo):
    old = await install_demo_cycle(api, demo.url, contacts=3)  # contacts 1 and 2 are active, 3 is not
    template_id = old.cycle["TemplateId"]
    assert old.cycle["TemplateVersion"] == 1 and old.cycle["UpdateAvailable"] is False
    v1_export = (await api.get(f"/v1.0/templates/{template_id}/export")).content
    lead_step = next(s["Id"] for s in old.cycle["Steps"] if s["TemplateStepId"] == "lead")
    v1_mappings = (await old.call("GET", f"/v1.0/steps/{lead_step}/fieldmappings")).json()

    v2 = version_two(catalog_document("templates", "crm-contacts-to-leads.json"))
    response = await api.put(f"/v1.0/templates/{template_id}", json=v2)
    assert response.status_code == 200, response.text
    assert response.json() | {"Id": template_id, "Name": v2["Name"], "Version": 2} == response.json()
    assert (await api.get(f"/v1.0/templates/{template_id}")).json()["Version"] == 2

    versions = (await api.get(f"/v1.0/templates/{template_id}/versions")).json()
    assert [v["Version"] for v in versions] == [1, 2]
    assert versions[0]["CreatedAt"] <= versions[1]["CreatedAt"]
    assert (await api.get(f"/v1.0/templates/{template_id}/export", params={"version": 1})).content == v1_export
    latest = await api.get(f"/v1.0/templates/{template_id}/export")
    assert [s["Id"] for s in latest.json()["Steps"]] == ["contacts", "active?", "lead"]
    assert (await api.get(f"/v1.0/templates/{template_id}/export", params={"version": 2})).content \
        == latest.content
    missing = await api.get(f"/v1.0/templates/{template_id}/export", params={"version": 3})
    assert missing.status_code == 404 and "no version 3" in missing.json()["Message"]

    # The cycle installed before keeps version 1: its steps, its mappings, and the rules its
    # mappings are checked by; it shows that an update is available.
    cycle = (await old.call("GET", f"/v1.0/cycles/{old.cycle_id}")).json()
    assert cycle["TemplateVersion"] == 1 and cycle["UpdateAvailable"] is True
    assert [s["TemplateStepId"] for s in cycle["Steps"]] == ["contacts", "lead"]
    assert (await old.call("GET", f"/v1.0/steps/{lead_step}/fieldmappings")).json() == v1_mappings
    from_v2 = await old.call("PUT", f"/v1.0/steps/{lead_step}/fieldmappings/Source",
                             json={"MappingType": "StepField", "SourceStep": "active?", "SourceField": "Result"})
    assert from_v2.status_code == 422 and "active?" in from_v2.text  # no such step in version 1
    listed = (await old.call("GET", "/v1.0/cycles")).json()
    assert [(c["TemplateVersion"], c["UpdateAvailable"]) for c in listed] == [(1, True)]

    # Installing now uses version 2.
    response = await old.call("POST", f"/v1.0/templates/{template_id}/install", json={"Name": "Newer"})
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["TemplateVersion"] == 2 and new["UpdateAvailable"] is False
    assert [s["TemplateStepId"] for s in new["Steps"]] == ["contacts", "active?", "lead"]
    assert (await old.call("GET", f"/v1.0/cycles/{new['Id']}/prerequisites")).json() == []

    # Behaviour: the old cycle makes a lead of every contact, the new one of the active ones only.
    assert (await old.activate(RunOnce=True)).status_code == 200
    (run,) = await old.wait_for_runs(1)
    assert run["Transactions"]["Success"] == 3
    assert (await old.demo_stats())["lead_requests"] == 3
    newer = await old.call("PUT", f"/v1.0/cycles/{new['Id']}/activate", json={"RunOnce": True})
    assert newer.status_code == 200, newer.text

    async def new_run() -> list[dict]:
        runs = (await old.call("GET", f"/v1.0/cycles/{new['Id']}/runs")).json()
        return [r for r in runs if r["Status"] == "Succeeded"]

    await eventually(new_run, "the new cycle's run")
    assert (await old.demo_stats())["lead_requests"] == 3 + 2


async def test_a_cycle_is_copied_as_a_template_with_its_current_mappings(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)  # sets Source: StaticValue "crm"
    lead_step = next(s["Id"] for s in cycle.cycle["Steps"] if s["TemplateStepId"] == "lead")
    changed = {"MappingType": "Expression", "Expression": "{{contacts.FirstName}} {{contacts.LastName}}"}
    response = await cycle.call("PUT", f"/v1.0/steps/{lead_step}/fieldmappings/Name", json=changed)
    assert response.status_code == 200, response.text

    response = await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/template", json={"Name": "Copied"})
    assert response.status_code == 201, response.text
    copied = response.json()
    assert copied["Name"] == "Copied" and copied["Version"] == 1 and copied["Id"] != cycle.cycle["TemplateId"]
    exported = (await api.get(f"/v1.0/templates/{copied['Id']}/export")).json()
    assert exported["Name"] == "Copied"
    lead = next(s for s in exported["Steps"] if s["Id"] == "lead")
    assert [(m["Field"], m["MappingType"]) for m in lead["FieldMappings"]] == [
        ("Email", "StepField"), ("Name", "Expression"), ("Source", "StaticValue")]  # the template's order
    assert lead["FieldMappings"][1]["Expression"] == changed["Expression"]
    assert lead["FieldMappings"][2]["Value"] == "crm"

    # The copy installs ready to run: its mappings came with it.
    response = await cycle.call("POST", f"/v1.0/templates/{copied['Id']}/install", json={})
    assert response.status_code == 201, response.text
    assert (await cycle.call("GET", f"/v1.0/cycles/{response.json()['Id']}/prerequisites")).json() == []

    # Without a Name, the copy takes the cycle's.
    response = await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/template")
    assert response.status_code == 201 and response.json()["Name"] == cycle.cycle["Name"]


async def test_only_a_partner_updates_or_copies_and_a_bad_version_changes_nothing(api, api_url, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    template_id = cycle.cycle["TemplateId"]
    document = catalog_document("templates", "crm-contacts-to-leads.json")
    before = (await api.get(f"/v1.0/templates/{template_id}/export")).content

    scoped = await account_client(api_url, cycle.account_id)
    async with scoped:
        assert (await scoped.put(f"/v1.0/templates/{template_id}", json=document)).status_code == 403
        assert (await scoped.post(f"/v1.0/cycles/{cycle.cycle_id}/template", json={})).status_code == 403
        assert (await scoped.get(f"/v1.0/cycles/{cycle.cycle_id}")).json()["TemplateVersion"] == 1

    bad = copy.deepcopy(document)
    bad["Steps"][1]["FieldMappings"][0]["Field"] = "Emial"
    response = await api.put(f"/v1.0/templates/{template_id}", json=bad)
    assert response.status_code == 422
    assert response.json()["Errors"] == [{"Path": "$.Steps[1].FieldMappings[0].Field",
                                          "Message": "method 'create-lead' has no field 'Emial'"}]
    malformed = copy.deepcopy(document)
    malformed["Steps"].append({"Id": "pause", "Type": "Delay", "Seconds": 0})
    response = await api.put(f"/v1.0/templates/{template_id}", json=malformed)
    assert response.status_code == 422
    assert [e["Path"] for e in response.json()["Errors"]] == ["$.Steps[2].Seconds"]

    assert (await api.get(f"/v1.0/templates/{template_id}")).json()["Version"] == 1
    assert [v["Version"] for v in (await api.get(f"/v1.0/templates/{template_id}/versions")).json()] == [1]
    assert (await api.get(f"/v1.0/templates/{template_id}/export")).content == before
    assert (await api.put("/v1.0/templates/no-such-template", json=document)).status_code == 404
    elsewhere = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    response = await api.post(f"/v1.0/cycles/{cycle.cycle_id}/template", headers={"X-Account-Id": elsewhere})
    assert response.status_code == 404  # another account's cycle


async def test_presentation_fields_are_listed_kept_by_export_and_import_and_checked(api, demo):
    """What the portal's marketplace shows of a template (issue 18), and the Intervals it offers."""
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    template_id = cycle.cycle["TemplateId"]
    document = {**catalog_document("templates", "crm-contacts-to-leads.json"), "Intervals": [60, 1440]}
    assert (await api.put(f"/v1.0/templates/{template_id}", json=document)).status_code == 200
    shown = (await api.get(f"/v1.0/templates/{template_id}")).json()
    assert (shown["Description"], shown["Icon"], shown["Categories"]) == \
        (document["Description"], document["Icon"], ["CRM", "Sales"])
    assert shown["Icon"].startswith("data:image/svg+xml,")
    assert (shown["Connectors"], shown["Webhook"], shown["Intervals"]) == (["Demo CRM", "Demo Leads"], False, [60, 1440])
    assert template_id in [t["Id"] for t in (await api.get("/v1.0/templates")).json() if t["Categories"]]

    exported = (await api.get(f"/v1.0/templates/{template_id}/export")).json()
    presentation = ("Description", "Icon", "Categories", "Intervals")
    assert {k: exported[k] for k in presentation} == {k: document[k] for k in presentation}
    imported = await api.post("/v1.0/templates", json=exported)
    assert imported.status_code == 201
    assert (await api.get(f"/v1.0/templates/{imported.json()['Id']}/export")).json() == exported

    bad = {"$.Icon": {"Icon": "javascript:alert(1)"}, "$.Categories": {"Categories": [f"c{i}" for i in range(11)]},
           "$.Intervals[0]": {"Intervals": [0]}, "$.Intervals": {"Intervals": []}}
    for path, change in bad.items():
        response = await api.post("/v1.0/templates", json={**document, **change})
        assert response.status_code == 422 and [e["Path"] for e in response.json()["Errors"]] == [path], path

    # An Interval its template does not offer is refused, naming the field; one it offers is taken.
    refused = await cycle.activate(Interval=15)
    assert refused.status_code == 422 and [e["Path"] for e in refused.json()["Errors"]] == ["$.Interval"]
    assert "60 or 1440" in refused.json()["Errors"][0]["Message"] and await cycle.status() == "Paused"
    activated = await cycle.activate(Interval=1440)
    assert activated.status_code == 200 and activated.json()["Interval"] == 1440
    assert (await cycle.deactivate()).status_code == 200
