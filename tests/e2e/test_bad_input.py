"""Bad input: a clear error naming what is wrong and where, the right status, nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.walkthrough import catalog_document, install_demo_cycle, upload_catalog


def paths(response: httpx.Response) -> set[str]:
    return {e["Path"] for e in response.json()["Errors"]}


async def test_connector_with_several_mistakes_lists_each_and_saves_nothing(api):
    document = catalog_document("connectors", "demo-leads.json")
    document["Name"] = "Broken connector"
    document["Authentication"][0]["AuthType"] = "Password"
    document["Methods"][0]["HttpMethod"] = "Fetch"
    document["Methods"][0]["Endpoint"] = "{{Nowhere}}/leads"
    response = await api.post("/v1.0/connectors", json=document)
    assert response.status_code == 422
    assert {"$.Authentication[0].AuthType", "$.Methods[0].HttpMethod", "$.Methods[0].Endpoint"} <= paths(response)
    names = {c["Name"] for c in (await api.get("/v1.0/connectors")).json()}
    assert "Broken connector" not in names


async def test_template_naming_unknown_connector_method_or_field(api):
    await upload_catalog(api)
    document = catalog_document("templates", "crm-contacts-to-leads.json")
    document["Steps"][0]["Connector"] = "No Such CRM"
    document["Steps"][1]["Method"] = "create-lead"
    document["Steps"][1]["FieldMappings"][0]["Field"] = "Emial"
    document["Steps"][1]["FieldMappings"][1]["SourceField"] = "Nickname"
    response = await api.post("/v1.0/templates", json=document)
    assert response.status_code == 422
    assert paths(response) == {"$.Steps[0].Connector", "$.Steps[1].FieldMappings[0].Field"}

    document = catalog_document("templates", "crm-contacts-to-leads.json")
    document["Steps"][1]["Method"] = "delete-everything"
    response = await api.post("/v1.0/templates", json=document)
    assert response.status_code == 422 and paths(response) == {"$.Steps[1].Method"}


async def test_activation_with_bad_schedule_or_unmet_prerequisites(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    for schedule, path in (
        ({"Interval": 0}, "$.Interval"),
        ({"Interval": -5}, "$.Interval"),
        ({"StartTime": "next tuesday", "Interval": 5}, "$.StartTime"),
    ):
        response = await cycle.activate(**schedule)
        assert response.status_code == 422 and path in paths(response), response.text

    # A second cycle whose Source mapping was never set.
    template = (await api.get("/v1.0/templates")).json()[-1]["Id"]
    unmapped = (await api.post(f"/v1.0/templates/{template}/install", headers=cycle.headers, json={})).json()
    response = await api.put(f"/v1.0/cycles/{unmapped['Id']}/activate", headers=cycle.headers,
                             json={"Interval": 5})
    assert response.status_code == 422
    assert any("'Source' has no mapping" in e["Message"] for e in response.json()["Errors"])
    assert (await api.get(f"/v1.0/cycles/{unmapped['Id']}", headers=cycle.headers)).json()["Status"] == "Paused"


async def test_unknown_ids_other_accounts_and_tokens(api, api_url, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    other = (await api.post("/v1.0/accounts", json={"Name": "Other"})).json()["Id"]
    assert (await cycle.call("GET", "/v1.0/cycles/nope")).status_code == 404
    assert (await api.get("/v1.0/templates/nope")).status_code == 404
    assert (await api.get(f"/v1.0/cycles/{cycle.cycle_id}", headers={"X-Account-Id": other})).status_code == 404
    assert (await api.get("/v1.0/cycles", headers={"X-Account-Id": "nope"})).status_code == 404
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        assert (await anonymous.get("/v1.0/accounts")).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        response = await anonymous.get("/v1.0/accounts", headers=bad)
        assert response.status_code == 401 and response.json()["Message"]
        response = await anonymous.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "wrong"})
        assert response.status_code == 401


async def test_activating_twice_makes_one_workflow_and_stopping_twice_is_a_no_op(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await cycle.activate(StartTime=tomorrow, Interval=60)).status_code == 200
    assert (await cycle.activate(StartTime=tomorrow, Interval=60)).status_code == 200
    query = f'CycleId="{cycle.cycle_id}"'
    workflows = [w async for w in temporal.client.list_workflows(query)]
    assert len(workflows) == 1

    assert (await cycle.deactivate()).json()["Status"] == "Stopped"
    response = await cycle.deactivate()
    assert response.status_code == 200 and response.json()["Status"] == "Stopped"
    workflows = [w async for w in temporal.client.list_workflows(query)]
    assert len(workflows) == 1


async def test_upstream_400_errors_the_transactions_and_the_schedule_goes_on(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=4)
    await cycle.demo("faults", status=400, count=4, message="email domain is blocked")
    await cycle.activate(Interval=1 / 60)
    first, second = (await cycle.wait_for_runs(2))[:2]
    assert first["Transactions"] == {"Success": 0, "Errored": 4, "Stopped": 0}
    assert second["Transactions"] == {"Success": 4, "Errored": 0, "Stopped": 0}  # the schedule went on
    await cycle.deactivate()
    errored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                params={"status": "Errored"})).json()
    assert len(errored) == 4
    assert all("400" in t["Message"] and "email domain is blocked" in t["Message"] for t in errored)
    assert all("demo-leads-token" not in t["Message"] for t in errored)
