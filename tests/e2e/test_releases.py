"""Acceptance (releases): Draft → Live → Deprecated across uploads; a Minor publish moves the
cycles on the Live release (their next run uses the new one); a Major publish leaves them
running on theirs, flagged, until each is upgraded while stopped, refused with what breaks;
a connector in use cannot be deleted.

Each release of the test's CRM connector sends `release=<its name>` with every list call, so
the demo's request log shows which release a run used."""

from __future__ import annotations

import copy
from urllib.parse import parse_qs

import httpx

from tests.templating import CREDENTIALS, demo_requests, field
from tests.walkthrough import Installed, catalog_document, eventually

CRM = "Release CRM"


def crm_release(version: str, marker: str | None, *, first_name: bool = True) -> dict:
    """The demo CRM connector as release `version`, sending `release=marker`; without the
    FirstName field when not `first_name`."""
    document = copy.deepcopy(catalog_document("connectors", "demo-crm.json")) | {"Name": CRM, "Version": version}
    contacts = document["Methods"][0]
    if marker:
        contacts["Parameters"].append({"TargetType": "QueryString", "TargetName": "release", "DefaultValue": marker,
                                       "Hide": True})
    if not first_name:
        fields = contacts["ResponseFormat"]["Fields"]
        fields[:] = [f for f in fields if f["SystemField"] != "FirstName"]
    return document


TEMPLATE = {"Name": "Release CRM contacts to leads", "Steps": [
    {"Id": "contacts", "Connector": CRM, "Method": "list-contacts", "Next": "lead"},
    {"Id": "lead", "Connector": "Demo Leads", "Method": "create-lead", "FieldMappings": [
        {"Field": "Email", **field("contacts", "Email")},
        {"Field": "Name", **field("contacts", "FirstName")},
        {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}]},
]}


async def upload(api: httpx.AsyncClient, document: dict) -> dict:
    response = await api.post("/v1.0/connectors", json=document)
    assert response.status_code == 201, response.text
    return response.json()


async def releases(api: httpx.AsyncClient, connector_id: str) -> list[tuple[str, str, str]]:
    response = await api.get(f"/v1.0/connectors/{connector_id}/releases")
    assert response.status_code == 200, response.text
    return [(r["Id"], r["Version"], r["ReleaseStatus"]) for r in response.json()]


async def install(api: httpx.AsyncClient, account: Installed, template_id: str, name: str) -> Installed:
    response = await account.call("POST", f"/v1.0/templates/{template_id}/install", json={"Name": name})
    assert response.status_code == 201, response.text
    return Installed(api, account.account_id, response.json(), account.demo_url)


async def cycle_view(cycle: Installed) -> dict:
    return (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()


async def step_release(cycle: Installed, step: str = "contacts") -> str:
    return next(s["ReleaseId"] for s in (await cycle_view(cycle))["Steps"] if s["TemplateStepId"] == step)


async def markers(cycle: Installed) -> list[str | None]:
    """The release each list call so far came from, in order (None: the first, which sends none)."""
    return [parse_qs(r["query"]).get("release", [None])[0] for r in await demo_requests(cycle, "/crm/contacts")]


async def run(cycle: Installed, number: int) -> None:
    """Run the active cycle now unless this is its first run (activation runs it); wait for it."""
    if number > 1:
        response = await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")
        assert response.status_code == 200, response.text

    async def ended() -> bool:
        runs = await cycle.runs()
        return len(runs) >= number and all(r["Status"] != "Running" for r in runs)

    await eventually(ended, f"run {number}")
    assert [r["Status"] for r in await cycle.runs()] == ["Succeeded"] * number


async def activate(cycle: Installed) -> None:
    response = await cycle.activate(Interval=60)  # the first run now; later ones only when asked
    assert response.status_code == 200, response.text


async def publish(api: httpx.AsyncClient, connector_id: str, major: bool) -> httpx.Response:
    return await api.post(f"/v1.0/connectors/{connector_id}/releases/publish", json={"Major": major})


async def test_releases_from_draft_to_deprecated_with_minor_and_major_publishes(api, demo):
    async with httpx.AsyncClient() as client:
        (await client.post(f"{demo.url}/admin/reset", json={"contacts": 2})).raise_for_status()

    # Three uploads: Live at once, a Draft, the Draft replaced.
    first = await upload(api, crm_release("1.0", None))
    crm = first["Id"]
    assert (first["Version"], first["ReleaseStatus"]) == ("1.0", "Live")
    leads = await upload(api, catalog_document("connectors", "demo-leads.json"))
    account = (await api.post("/v1.0/accounts", json={"Name": "Releases"})).json()
    owner = Installed(api, account["Id"], {}, demo.url)
    for connector_id, secret in ((crm, CREDENTIALS["Demo CRM"]), (leads["Id"], CREDENTIALS["Demo Leads"])):
        response = await owner.call("POST", "/v1.0/account/connectors", json={
            "ConnectorId": connector_id, "AuthValue": secret, "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
        assert response.status_code == 201, response.text
    template = (await api.post("/v1.0/templates", json=TEMPLATE)).json()["Id"]
    on_first = await install(api, owner, template, "Installed on 1.0")
    assert await step_release(on_first) == first["ReleaseId"]

    draft = await upload(api, crm_release("2.0", "draft"))
    second = await upload(api, crm_release("2.0", "2"))
    assert (draft["ReleaseStatus"], second["ReleaseStatus"]) == ("Draft", "Draft")
    assert draft["Id"] == second["Id"] == crm and draft["ReleaseId"] != second["ReleaseId"]
    assert await releases(api, crm) == [(first["ReleaseId"], "1.0", "Live"), (second["ReleaseId"], "2.0", "Draft")]
    assert (await api.get(f"/v1.0/connectors/{crm}")).json()["ReleaseStatus"] == "Live"  # the Live one is shown

    await activate(on_first)
    await run(on_first, 1)
    assert await markers(on_first) == [None]  # release 1.0: the Draft is nobody's

    # A Minor publish: the Draft is Live, 1.0 Deprecated, and the cycle's next run uses 2.0.
    response = await publish(api, crm, major=False)
    assert response.status_code == 200, response.text
    assert (response.json()["Version"], response.json()["ReleaseStatus"]) == ("2.0", "Live")
    assert await releases(api, crm) == [(first["ReleaseId"], "1.0", "Deprecated"),
                                        (second["ReleaseId"], "2.0", "Live")]
    assert await step_release(on_first) == second["ReleaseId"]
    assert (await cycle_view(on_first))["ConnectorUpdateAvailable"] is False
    await run(on_first, 2)
    assert await markers(on_first) == [None, "2"]
    assert (await on_first.deactivate()).status_code == 200
    no_draft = await publish(api, crm, major=False)
    assert no_draft.status_code == 409 and "no Draft" in no_draft.json()["Message"]

    # A Major publish that drops FirstName, which the lead's Name mapping reads.
    on_second = await install(api, owner, template, "Installed on 2.0")
    lead = next(s["Id"] for s in on_second.cycle["Steps"] if s["TemplateStepId"] == "lead")
    first_lead = next(s["Id"] for s in on_first.cycle["Steps"] if s["TemplateStepId"] == "lead")
    third = await upload(api, crm_release("3.0", "3", first_name=False))
    refused = await publish(api, crm, major=False)  # as Minor it would break both cycles
    assert refused.status_code == 422, refused.text
    assert {e["Path"] for e in refused.json()["Errors"]} == {
        f"cycles/{c.cycle_id}/steps/{step}/fieldmappings/Name.SourceField"
        for c, step in ((on_first, first_lead), (on_second, lead))}
    assert await step_release(on_second) == second["ReleaseId"]
    response = await publish(api, crm, major=True)
    assert response.status_code == 200, response.text
    assert [(v, s) for _, v, s in await releases(api, crm)] == [
        ("1.0", "Deprecated"), ("2.0", "Deprecated"), ("3.0", "Live")]

    upgradeable = (await owner.call("GET", "/v1.0/cycles/upgradeable")).json()
    assert [(c["Name"], [(s["TemplateStepId"], s["Connector"], s["FromVersion"], s["ToVersion"]) for s in c["Steps"]])
            for c in upgradeable] == [(name, [("contacts", CRM, "2.0", "3.0")])
                                      for name in ("Installed on 1.0", "Installed on 2.0")]
    assert (await cycle_view(on_second))["ConnectorUpdateAvailable"] is True

    # The flagged cycle keeps running on its (now Deprecated) release.
    await activate(on_second)
    await run(on_second, 1)
    assert await markers(on_second) == [None, "2", "2"]
    active = await on_second.call("POST", f"/v1.0/cycles/{on_second.cycle_id}/upgrade")
    assert active.status_code == 409, active.text
    assert (await on_second.deactivate()).status_code == 200

    upgrade = await on_second.call("POST", f"/v1.0/cycles/{on_second.cycle_id}/upgrade")
    assert upgrade.status_code == 422, upgrade.text
    assert [(e["Path"], e["Message"]) for e in upgrade.json()["Errors"]] == [
        (f"steps/{lead}/fieldmappings/Name.SourceField", "step 'contacts' gives no field 'FirstName'")]
    assert await step_release(on_second) == second["ReleaseId"]  # nothing moved

    # Mapped from a field both releases have, the cycle upgrades, and runs on 3.0.
    fixed = await on_second.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Name", json=field("contacts", "LastName"))
    assert fixed.status_code == 200, fixed.text
    upgrade = await on_second.call("POST", f"/v1.0/cycles/{on_second.cycle_id}/upgrade")
    assert upgrade.status_code == 200, upgrade.text
    assert upgrade.json()["ConnectorUpdateAvailable"] is False
    assert await step_release(on_second) == third["ReleaseId"]
    assert [c["Name"] for c in (await owner.call("GET", "/v1.0/cycles/upgradeable")).json()] == ["Installed on 1.0"]
    await activate(on_second)
    await run(on_second, 2)
    assert await markers(on_second) == [None, "2", "2", "3"]
    assert (await on_second.deactivate()).status_code == 200

    # A connector in use cannot be deleted; one no cycle uses can, with its account connectors.
    in_use = await api.delete(f"/v1.0/connectors/{crm}")
    assert in_use.status_code == 409, in_use.text
    assert [(e["Path"], e["Message"]) for e in in_use.json()["Errors"]] == [
        (f"cycles/{c.cycle_id}", f"cycle '{c.cycle['Name']}' uses it") for c in (on_first, on_second)]
    spare = await upload(api, crm_release("1.0", None) | {"Name": "Spare CRM"})
    installed = await owner.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": spare["Id"], "AuthValue": CREDENTIALS["Demo CRM"],
        "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert installed.status_code == 201, installed.text
    assert (await api.delete(f"/v1.0/connectors/{spare['Id']}")).status_code == 204
    assert (await api.get(f"/v1.0/connectors/{spare['Id']}")).status_code == 404
    assert (await owner.call("GET", f"/v1.0/account/connectors/{installed.json()['Id']}")).status_code == 404
    assert (await api.get(f"/v1.0/connectors/{crm}")).status_code == 200

    # Once the cycles that use it are deleted, so can it be.
    for cycle in (on_first, on_second):
        await cycle.deactivate()
        await eventually(lambda c=cycle: _deleted(c), f"cycle '{cycle.cycle['Name']}' deleted")
    assert (await api.delete(f"/v1.0/connectors/{crm}")).status_code == 204


async def _deleted(cycle: Installed) -> bool:
    """Deletes the cycle once its workflow has ended (409 until then)."""
    response = await cycle.call("DELETE", f"/v1.0/cycles/{cycle.cycle_id}")
    assert response.status_code in (204, 409), response.text
    return response.status_code == 204


def renamed(document: dict, name: str, version: str, method: str, fields: str, renames: dict[str, str]) -> dict:
    """`document` as connector `name`, release `version`, with the SystemFields of `method`'s
    `fields` (RequestFormat or ResponseFormat) renamed (what they send and read is unchanged)."""
    document = copy.deepcopy(document) | {"Name": name, "Version": version}
    for field_spec in next(m for m in document["Methods"] if m["UniqueIdentifier"] == method)[fields]["Fields"]:
        field_spec["SystemField"] = renames.get(field_spec["SystemField"], field_spec["SystemField"])
    return document


async def leads(demo_url: str) -> list[tuple[str, str | None]]:
    async with httpx.AsyncClient() as client:
        return sorted((lead["email"], lead["name"]) for lead in (await client.get(f"{demo_url}/admin/leads")).json())


async def reset(demo_url: str, contacts: int) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{demo_url}/admin/reset", json={"contacts": contacts})).raise_for_status()


async def test_a_cycle_moves_across_major_releases_that_rename_mapped_fields_in_one_request(api, demo):
    """Acceptance (issue 17, point 8)."""
    await reset(demo.url, 3)
    crm_v1 = renamed(catalog_document("connectors", "demo-crm.json"), "Rename CRM", "1.0", "list-contacts",
                     "ResponseFormat", {})
    leads_v1 = renamed(catalog_document("connectors", "demo-leads.json"), "Rename Leads", "1.0", "create-lead",
                       "RequestFormat", {})
    crm, lead_connector = await upload(api, crm_v1), await upload(api, leads_v1)
    account = (await api.post("/v1.0/accounts", json={"Name": "Renames"})).json()
    owner = Installed(api, account["Id"], {}, demo.url)
    for connector_id, secret in ((crm["Id"], CREDENTIALS["Demo CRM"]), (lead_connector["Id"], CREDENTIALS["Demo Leads"])):
        response = await owner.call("POST", "/v1.0/account/connectors", json={
            "ConnectorId": connector_id, "AuthValue": secret, "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
        assert response.status_code == 201, response.text
    template = (await api.post("/v1.0/templates", json={"Name": "Renamed contacts to leads", "Steps": [
        {"Id": "contacts", "Connector": "Rename CRM", "Method": "list-contacts", "Next": "lead"},
        {"Id": "lead", "Connector": "Rename Leads", "Method": "create-lead", "FieldMappings": [
            {"Field": "Email", **field("contacts", "Email")},
            {"Field": "Name", "MappingType": "Expression", "Expression": "{{contacts.FirstName}} {{contacts.LastName}}"},
            {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}]}]})).json()["Id"]
    cycle = await install(api, owner, template, "Renamed")
    steps = {s["TemplateStepId"]: s["Id"] for s in cycle.cycle["Steps"]}
    await activate(cycle)
    await run(cycle, 1)
    expected = [(f"contact{i}@example.com", f"First{i} Last{i}") for i in (1, 2, 3)]
    assert await leads(demo.url) == expected

    # Release 2 of each: the CRM's FirstName is GivenName, the leads service's Name is FullName.
    new_crm = await upload(api, renamed(crm_v1, "Rename CRM", "2.0", "list-contacts", "ResponseFormat",
                                        {"FirstName": "GivenName"}))
    new_leads = await upload(api, renamed(leads_v1, "Rename Leads", "2.0", "create-lead", "RequestFormat",
                                          {"Name": "FullName"}))
    for connector_id in (crm["Id"], lead_connector["Id"]):
        assert (await publish(api, connector_id, major=True)).status_code == 200
    assert (await cycle.deactivate()).status_code == 200
    upgrade_path = f"/v1.0/cycles/{cycle.cycle_id}/upgrade"

    # What deadlocked before: the new name is refused against the step's (old) release, and the
    # upgrade against the new one as long as the old name is mapped.
    early = await cycle.call("PUT", f"/v1.0/steps/{steps['lead']}/fieldmappings/FullName", json={
        "MappingType": "StaticValue", "Value": "x"})
    assert early.status_code == 422, early.text
    refused = await cycle.call("POST", upgrade_path)
    assert refused.status_code == 422, refused.text
    assert {e["Path"] for e in refused.json()["Errors"]} == {
        f"steps/{steps['lead']}/fieldmappings/Name.Field", f"steps/{steps['lead']}/fieldmappings/Name.Expression"}

    # The documented way: one request carries the renames; the move and the mappings change together.
    wrong = await cycle.call("POST", upgrade_path, json={"Renames": [
        {"StepId": steps["contacts"], "From": "FirstName", "To": "GivenName"}]})
    assert wrong.status_code == 422 and [e["Path"] for e in wrong.json()["Errors"]] == [
        f"steps/{steps['lead']}/fieldmappings/Name.Field"], wrong.text
    assert await step_release(cycle, "contacts") == crm["ReleaseId"]  # nothing moved
    moved = await cycle.call("POST", upgrade_path, json={"Renames": [
        {"StepId": steps["contacts"], "From": "FirstName", "To": "GivenName"},
        {"StepId": steps["lead"], "From": "Name", "To": "FullName"}]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["ConnectorUpdateAvailable"] is False
    assert {s["TemplateStepId"]: s["ReleaseId"] for s in moved.json()["Steps"]} == {
        "contacts": new_crm["ReleaseId"], "lead": new_leads["ReleaseId"]}
    mappings = (await cycle.call("GET", f"/v1.0/steps/{steps['lead']}/fieldmappings")).json()
    assert {m["Field"]: m.get("Expression") for m in mappings} == {
        "Email": None, "FullName": "{{contacts.GivenName}} {{contacts.LastName}}", "Source": None}

    # Its next run, on the new releases, delivers the records.
    await reset(demo.url, 3)
    await activate(cycle)
    await run(cycle, 2)
    assert await leads(demo.url) == expected
    assert (await cycle.deactivate()).status_code == 200
