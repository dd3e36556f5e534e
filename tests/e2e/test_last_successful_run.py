"""{{LastSuccessfulRunDate}}: the epoch before the first run, then the start of the last run
that succeeded — a failed run does not move it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

import httpx

from tests.walkthrough import catalog_document, install_demo_cycle


async def sent_since(demo_url: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        log = (await client.get(f"{demo_url}/admin/requests", params={"prefix": "/crm"})).json()
    return [parse_qs(entry["query"])["updated_since"][0] for entry in log]


async def test_last_successful_run_date_moves_only_on_success(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    crm = catalog_document("connectors", "demo-crm.json")
    crm["Name"] = "Incremental CRM"
    crm["Methods"][0]["Parameters"].append({"TargetType": "QueryString", "TargetName": "updated_since",
                                            "DefaultValue": "{{LastSuccessfulRunDate format=yyyy-MM-ddTHH:mm:ssZ}}"})
    connector = (await api.post("/v1.0/connectors", json=crm)).json()["Id"]
    await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector, "AuthValue": "demo-crm-key", "Properties": [{"Name": "BaseUrl",
                                                                               "Value": demo.url}]})
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"], template["Steps"][0]["Connector"] = "Incremental contacts to leads", "Incremental CRM"
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]
    cycle.cycle = (await cycle.call("POST", f"/v1.0/templates/{template_id}/install", json={})).json()
    lead = next(s["Id"] for s in cycle.cycle["Steps"] if s["TemplateStepId"] == "lead")
    await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source",
                     json={"MappingType": "StaticValue", "Value": "crm"})

    await cycle.activate(Interval=60)
    (first,) = await cycle.wait_for_runs(1)
    await cycle.demo("faults", path="/crm", status=400, message="bad since")
    await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")
    await cycle.wait_for_runs(1, status="Failed")
    await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")
    await cycle.wait_for_runs(2)
    await cycle.deactivate()

    started = datetime.fromisoformat(first["StartedAt"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await sent_since(demo.url) == ["1970-01-01T00:00:00Z", started, started]
