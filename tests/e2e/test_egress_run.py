"""Acceptance (issue 7, point 1) in a run: a step whose upstream the egress policy refuses ends
its transactions Errored with the refusal, at once (no retry can change it), while a host
the operator allows by name is called."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from tests.conftest import partner_client
from tests.walkthrough import catalog_document

LEADS = "Demo Leads (unverified)"


async def _install(api: httpx.AsyncClient, crm_url: str, leads_url: str) -> tuple[str, str]:
    """The demo cycle with its leads connector saved unverified (its address is refused, so its
    AuthTestMethod could not run); returns the account and the cycle."""
    leads = catalog_document("connectors", "demo-leads.json") | {"Name": LEADS, "AuthTestMethod": None}
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"], template["Steps"][1]["Connector"] = f"{template['Name']} ({LEADS})", LEADS
    ids = {}
    for document in (catalog_document("connectors", "demo-crm.json"), leads):
        uploaded = await api.post("/v1.0/connectors", json=document)
        assert uploaded.status_code == 201, uploaded.text
        ids[document["Name"]] = uploaded.json()["Id"]
    account = (await api.post("/v1.0/accounts", json={"Name": "Egress"})).json()["Id"]
    headers = {"X-Account-Id": account}
    for name, secret, url in (("Demo CRM", "demo-crm-key", crm_url), (LEADS, "demo-leads-token", leads_url)):
        saved = await api.post("/v1.0/account/connectors", headers=headers, json={
            "ConnectorId": ids[name], "AuthValue": secret, "Properties": [{"Name": "BaseUrl", "Value": url}]})
        assert saved.status_code == 201, saved.text
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]
    cycle = (await api.post(f"/v1.0/templates/{template_id}/install", headers=headers, json={})).json()
    lead_step = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
    mapped = await api.put(f"/v1.0/steps/{lead_step}/fieldmappings/Source", headers=headers,
                           json={"MappingType": "StaticValue", "Value": "crm"})
    assert mapped.status_code == 200, mapped.text
    return account, cycle["Id"]


async def test_a_refused_step_errors_its_transactions_with_the_reason(demo, private_stack):
    stack = private_stack(CYCLEWRIGHT_EGRESS_ALLOW="localhost")  # the name, not the addresses
    async with httpx.AsyncClient() as client:
        (await client.post(f"{demo.url}/admin/reset", json={"contacts": 3})).raise_for_status()
    async with partner_client(stack.api_url) as api:
        account, cycle = await _install(api, f"http://localhost:{demo.port}", demo.url)
        headers = {"X-Account-Id": account}
        activated = await api.put(f"/v1.0/cycles/{cycle}/activate", headers=headers, json={"RunOnce": True})
        assert activated.status_code == 200, activated.text
        temporal = await Client.connect(f"127.0.0.1:{stack.port}")
        await temporal.get_workflow_handle(f"cycle-{cycle}").result()  # RunOnce: ends after its run
        (run,) = (await api.get(f"/v1.0/cycles/{cycle}/runs", headers=headers)).json()
        assert run["Status"] == "Succeeded" and run["Transactions"] == {"Success": 0, "Errored": 3, "Stopped": 0}
        errored = (await api.get(f"/v1.0/cycles/{cycle}/transactions", headers=headers,
                                 params={"status": "Errored"})).json()
        assert len(errored) == 3
        for transaction in errored:
            assert "127.0.0.1, a non-public address (loopback)" in transaction["Message"], transaction
            assert "CYCLEWRIGHT_EGRESS_ALLOW" in transaction["Message"]
    async with httpx.AsyncClient() as client:
        reached = (await client.get(f"{demo.url}/admin/requests")).json()
    assert {r["path"] for r in reached} == {"/whoami/crm", "/crm/contacts"}  # no lead was sent
    assert all(r["headers"]["host"] == f"localhost:{demo.port}" for r in reached)
