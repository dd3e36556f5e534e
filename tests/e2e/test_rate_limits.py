"""Acceptance (issue 3, point 3): one account connector's limit holds across worker processes."""

from __future__ import annotations

import httpx

from tests.conftest import Process
from tests.walkthrough import catalog_document, install_demo_cycle

LIMIT = 5  # requests per second


async def test_two_workers_share_one_account_connectors_limit(api, demo, worker):
    first = await install_demo_cycle(api, demo.url, contacts=20)  # the catalog and an account
    limited = catalog_document("connectors", "demo-leads.json")
    limited["Name"] = "Limited Leads"
    limited["RateLimits"] = [{"MaxRequests": LIMIT, "TimeFrame": "Seconds"}]
    assert (await api.post("/v1.0/connectors", json=limited)).status_code == 201
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"] = "CRM contacts to limited leads"
    template["Steps"][1]["Connector"] = "Limited Leads"
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]

    response = await first.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": next(c["Id"] for c in (await api.get("/v1.0/connectors")).json()
                            if c["Name"] == "Limited Leads"),
        "AuthValue": "demo-leads-token", "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    assert response.status_code == 201
    cycles = []
    for _ in range(2):
        cycle = (await first.call("POST", f"/v1.0/templates/{template_id}/install", json={})).json()
        lead = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
        await first.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source",
                         json={"MappingType": "StaticValue", "Value": "crm"})
        cycles.append(cycle["Id"])

    second_worker = Process("worker.py")
    try:
        for cycle_id in cycles:
            response = await first.call("PUT", f"/v1.0/cycles/{cycle_id}/activate", json={"RunOnce": True})
            assert response.status_code == 200, response.text
        for cycle_id in cycles:
            first.cycle = {"Id": cycle_id}
            (run,) = await first.wait_for_runs(1)
            assert run["Transactions"] == {"Success": 20, "Errored": 0, "Stopped": 0}
    finally:
        second_worker.stop()

    async with httpx.AsyncClient() as client:
        log = (await client.get(f"{demo.url}/admin/requests", params={"prefix": "/leads"})).json()
    times = sorted(entry["at"] for entry in log)
    assert len(times) == 40
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= LIMIT, f"{busiest} requests within one second"
