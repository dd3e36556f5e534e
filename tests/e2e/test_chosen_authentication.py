"""A cycle's steps call with the authentication its account connector chose, not the
connector's default: Demo OAuth CRM's default is Consent (authorization code); an account
connector that chose Service (client credentials) runs a cycle through without any consent."""

from __future__ import annotations

from tests.e2e.test_oauth import oauth_connector, server
from tests.walkthrough import catalog_document, install_demo_cycle


async def test_a_cycle_calls_with_the_authentication_its_account_connector_chose(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    service = await oauth_connector(cycle, "Service")
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"] = "Client credentials contacts to leads"
    template["Steps"][0]["Connector"] = "Demo OAuth CRM"
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]
    installed = (await cycle.call("POST", f"/v1.0/templates/{template_id}/install", json={
        "AccountConnectors": {"Demo OAuth CRM": service}})).json()
    lead = next(s["Id"] for s in installed["Steps"] if s["TemplateStepId"] == "lead")
    await cycle.call("PUT", f"/v1.0/steps/{lead}/fieldmappings/Source", json={"MappingType": "StaticValue",
                                                                                "Value": "crm"})
    requests_before = (await server(cycle))["token_requests"]
    cycle.cycle = installed
    response = await cycle.activate(RunOnce=True)
    assert response.status_code == 200, response.text
    (run,) = await cycle.wait_for_runs(1)  # with the default (no consent given) it failed: not authorised yet
    assert run["Status"] == "Succeeded", run
    assert (await server(cycle))["token_requests"][len(requests_before):] == ["client_credentials"]
