"""Acceptance (issue 10, point 4): two workers and two API processes on one PostgreSQL and one
Temporal; a connector whose two methods have limits of their own share the connector's limit,
and the upstream's log never shows that limit exceeded in any window."""

from __future__ import annotations

import socket

import httpx
from temporalio.client import Client

from tests.conftest import Process, api_process, free_port, partner_client
from tests.walkthrough import Installed, catalog_document

SHARED, OWN = 4, 3  # requests per second: the connector's, and each method's (together more than SHARED)
CONTACTS = 12  # per cycle


def _create_lead(identifier: str) -> dict:
    return {"UniqueIdentifier": identifier, "Name": identifier, "HttpMethod": "Post",
            "Endpoint": "{{BaseUrl}}/leads/contacts",
            "RateLimits": [{"MaxRequests": OWN, "TimeFrame": "Seconds"}],
            "RequestFormat": {"Fields": [{"ConnectorField": "email", "SystemField": "Email"}]},
            "ResponseFormat": {"Fields": [{"ConnectorField": "id", "SystemField": "LeadId"}]}}


LEADS = {
    "Name": "Shared Limit Leads", "Version": "1.0", "AuthTestMethod": "whoami",
    "Authentication": [{"Name": "Token", "AuthType": "Bearer", "IsDefault": True}],
    "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "RateLimits": [{"MaxRequests": SHARED, "TimeFrame": "Seconds"}],
    "Methods": [_create_lead("create-lead-a"), _create_lead("create-lead-b"),
                {"UniqueIdentifier": "whoami", "Name": "Who am I", "HttpMethod": "Get",
                 "Endpoint": "{{BaseUrl}}/whoami/leads"}],
}


def _template(method: str) -> dict:
    return {"Name": f"Contacts to leads by {method}", "Steps": [
        {"Id": "contacts", "Connector": "Demo CRM", "Method": "list-contacts", "Next": "lead"},
        {"Id": "lead", "Connector": LEADS["Name"], "Method": method, "FieldMappings": [
            {"Field": "Email", "MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Email"}]}]}


async def _account(api: httpx.AsyncClient, demo_url: str) -> str:
    """An account with the demo CRM and the shared-limit leads connector installed."""
    account_id = (await api.post("/v1.0/accounts", json={"Name": "Shared limits"})).json()["Id"]
    for document, secret in ((catalog_document("connectors", "demo-crm.json"), "demo-crm-key"),
                             (LEADS, "demo-leads-token")):
        response = await api.post("/v1.0/connectors", json=document)
        assert response.status_code == 201, response.text
        response = await api.post("/v1.0/account/connectors", headers={"X-Account-Id": account_id}, json={
            "ConnectorId": response.json()["Id"], "AuthValue": secret,
            "Properties": [{"Name": "BaseUrl", "Value": demo_url}]})
        assert response.status_code == 201, response.text
    return account_id


async def _install(api: httpx.AsyncClient, account_id: str, demo_url: str, method: str) -> Installed:
    response = await api.post("/v1.0/templates", json=_template(method))
    assert response.status_code == 201, response.text
    response = await api.post(f"/v1.0/templates/{response.json()['Id']}/install",
                              headers={"X-Account-Id": account_id}, json={})
    assert response.status_code == 201, response.text
    return Installed(api, account_id, response.json(), demo_url)


async def _activity_workers(temporal_address: str) -> set[str]:
    """The identity of every worker that started an activity of any workflow on the server."""
    client = await Client.connect(temporal_address)
    identities = set()
    async for execution in client.list_workflows():
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        identities |= {event.activity_task_started_event_attributes.identity for event in history.events
                       if event.HasField("activity_task_started_event_attributes")}
    return identities


async def test_two_methods_on_two_workers_never_exceed_their_shared_limit(demo, postgres_database, private_stack):
    stack = private_stack(DATABASE_URL=postgres_database)
    workers = [stack.processes[0], Process("worker.py", env=stack.env, log=f"{stack.name}-worker-2.log")]
    stack.processes.append(workers[1])
    second_api_port = free_port()
    stack.processes.append(api_process(second_api_port, stack.env, f"{stack.name}-api-2.log"))
    async with httpx.AsyncClient() as client:
        (await client.post(f"{demo.url}/admin/reset", json={"contacts": CONTACTS})).raise_for_status()

    async with (partner_client(stack.api_url) as first_api,
                partner_client(f"http://127.0.0.1:{second_api_port}") as second_api):
        account_id = await _account(first_api, demo.url)
        cycles = [await _install(first_api, account_id, demo.url, "create-lead-a"),
                  await _install(second_api, account_id, demo.url, "create-lead-b")]
        for cycle in cycles:  # each through its own API process; both run at once
            response = await cycle.activate(RunOnce=True)
            assert response.status_code == 200, response.text
        for cycle in cycles:
            (run,) = await cycle.wait_for_runs(1)
            assert run["Transactions"] == {"Success": CONTACTS, "Errored": 0, "Stopped": 0}

    log = await _requests(demo.url)
    times = sorted(entry["at"] for entry in log)
    assert len(times) == 2 * CONTACTS
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= SHARED, f"{busiest} requests within one second"

    host = socket.gethostname()
    assert await _activity_workers(stack.env["TEMPORAL_ADDRESS"]) == {f"{w.popen.pid}@{host}" for w in workers}


async def _requests(demo_url: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{demo_url}/admin/requests", params={"prefix": "/leads/contacts"})).json()
