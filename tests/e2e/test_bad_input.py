"""Bad input: a clear error naming what is wrong and where, the right status, nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import api_process, free_port, partner_client
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


async def test_template_step_graph_that_could_loop_or_dangle_is_refused(api):
    await upload_catalog(api)
    before = len((await api.get("/v1.0/templates")).json())
    looping = catalog_document("templates", "crm-contacts-to-leads.json")
    looping["Steps"][1]["Next"] = "lead"  # sent 8,450 POSTs in 30 s for 25 records, once
    response = await api.post("/v1.0/templates", json=looping)
    assert response.status_code == 422 and paths(response) == {"$.Steps[1].Next"}
    assert "reachable from itself" in response.json()["Errors"][0]["Message"]

    dangling = catalog_document("templates", "crm-contacts-to-leads.json")
    dangling["Steps"][1]["Next"] = "nowhere"
    response = await api.post("/v1.0/templates", json=dangling)
    assert response.status_code == 422 and paths(response) == {"$.Steps[1].Next"}
    assert "'nowhere'" in response.json()["Errors"][0]["Message"]
    assert len((await api.get("/v1.0/templates")).json()) == before  # nothing stored


async def test_activation_with_bad_schedule_or_unmet_prerequisites(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    for schedule, path in (
        ({"Interval": 0}, "$.Interval"),
        ({"Interval": -5}, "$.Interval"),
        ({"Interval": 1e30}, "$.Interval"),
        ({"StartTime": "next tuesday", "Interval": 5}, "$.StartTime"),
        ({"StartTime": "9999-01-01T00:00:00Z", "Interval": 5}, "$.StartTime"),
    ):
        response = await cycle.activate(**schedule)
        assert response.status_code == 422 and path in paths(response), response.text
    for raw in ('{"Interval": NaN}', '{"Interval": Infinity}', '{"Interval": -Infinity}'):
        response = await api.put(f"/v1.0/cycles/{cycle.cycle_id}/activate", content=raw,
                                 headers={**cycle.headers, "Content-Type": "application/json"})
        assert response.status_code == 422 and paths(response) == {"$.Interval"}, response.text
    stored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert (stored["Status"], stored["Interval"], stored["StartTime"]) == ("Paused", None, None)
    assert [w async for w in temporal.client.list_workflows(f'CycleId="{cycle.cycle_id}"')] == []

    # A second cycle whose Source mapping was never set.
    template = (await api.get("/v1.0/templates")).json()[-1]["Id"]
    unmapped = (await api.post(f"/v1.0/templates/{template}/install", headers=cycle.headers, json={})).json()
    response = await api.put(f"/v1.0/cycles/{unmapped['Id']}/activate", headers=cycle.headers,
                             json={"Interval": 5})
    assert response.status_code == 422
    assert any(e["Message"].startswith("MissingMapping") and "'Source'" in e["Message"]  # left to the account
               for e in response.json()["Errors"]), response.text
    assert (await api.get(f"/v1.0/cycles/{unmapped['Id']}", headers=cycle.headers)).json()["Status"] == "Paused"


async def test_credentials_and_urls_that_can_never_work_are_refused_up_front(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    leads = (await api.get("/v1.0/connectors")).json()
    leads_id = next(c["Id"] for c in leads if c["Name"] == "Demo Leads")
    for body, path in (
        ({"AuthValue": "tökén", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]}, "$.AuthValue"),
        ({"AuthValue": "t", "Properties": [{"Name": "BaseUrl", "Value": "not a url"}]}, "$.Properties[0].Value"),
        ({"AuthValue": "t", "Properties": [{"Name": "BaseUrl", "Value": "ftp://example.com"}]},
         "$.Properties[0].Value"),
    ):
        response = await cycle.call("POST", "/v1.0/account/connectors", json={"ConnectorId": leads_id, **body})
        assert response.status_code == 422 and paths(response) == {path}, response.text
        assert "tökén" not in response.text
    installed = (await cycle.call("GET", "/v1.0/account/connectors")).json()
    assert len(installed) == 2  # the two of the walkthrough; nothing more was stored


async def test_calls_that_need_temporal_answer_503_quickly_when_it_is_down(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    port = free_port()
    process = api_process(port, {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}, "no-temporal-api.log")
    try:
        async with partner_client(f"http://127.0.0.1:{port}") as down:
            # The client's own timeout only guards a hung test; the API answers in about 2 s.
            response = await down.put(f"/v1.0/cycles/{cycle.cycle_id}/activate", headers=cycle.headers,
                                      json={"RunOnce": True}, timeout=20)
            assert response.status_code == 503 and "Temporal" in response.json()["Message"], response.text
            response = await down.get(f"/v1.0/cycles/{cycle.cycle_id}", headers=cycle.headers)
            assert response.status_code == 200 and response.json()["Status"] == "Paused"  # nothing changed
    finally:
        process.stop()


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


async def test_a_field_mapped_twice_in_a_step_is_refused_where_it_is(api):
    await upload_catalog(api)
    document = catalog_document("templates", "crm-contacts-to-leads.json")
    document["Steps"][1]["FieldMappings"].append({"Field": "Source", "MappingType": "StaticValue", "Value": "crm"})
    response = await api.post("/v1.0/templates", json=document)
    assert response.status_code == 422, response.text  # was a 500 when the template was installed
    assert response.json()["Errors"] == [{"Path": "$.Steps[1].FieldMappings[3].Field",
                                          "Message": "'Source' is mapped more than once"}]
