"""Installing any template over the demo APIs, with the demo connectors and two more made for
template tests: orders with nested lines, and a leads batch method with outbound paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHistory

from tests.walkthrough import Installed, catalog_document, eventually

WHOAMI = {"UniqueIdentifier": "whoami", "Name": "Who am I", "HttpMethod": "Get"}
CREDENTIALS = {"Demo CRM": "demo-crm-key", "Demo Leads": "demo-leads-token", "Demo Orders": "demo-crm-key",
               "Demo Batch Leads": "demo-leads-token", "Demo Ledger": "demo-ledger-secret"}

ORDERS = {
    "Name": "Demo Orders", "Version": "1.0", "AuthTestMethod": "whoami",
    "Authentication": [{"Name": "API key", "AuthType": "ApiKey", "ApiKeyLocation": "Header",
                        "ApiKeyName": "X-Api-Key", "IsDefault": True}],
    "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "Methods": [
        {"UniqueIdentifier": "list-orders", "Name": "List orders", "HttpMethod": "Get",
         "Endpoint": "{{BaseUrl}}/orders", "ResponseFormat": {"Fields": [
             {"ConnectorField": "[orders].id", "SystemField": "Id"},
             {"ConnectorField": "[orders].customer", "SystemField": "Customer"},
             {"ConnectorField": "[orders].due", "SystemField": "Due", "DataType": "DateTime"},
             {"ConnectorField": "[orders].[lines].sku", "SystemField": "Sku"},
             {"ConnectorField": "[orders].[lines].qty", "SystemField": "Qty", "DataType": "Integer"},
         ]}},
        WHOAMI | {"Endpoint": "{{BaseUrl}}/whoami/crm"},
    ],
}

BATCH_LEADS = {
    "Name": "Demo Batch Leads", "Version": "1.0", "AuthTestMethod": "whoami",
    "Authentication": [{"Name": "Token", "AuthType": "Bearer", "IsDefault": True}],
    "Parameters": [{"Name": "BaseUrl", "TargetType": "MergeField", "IsAccountConnectorProperty": True}],
    "Methods": [
        {"UniqueIdentifier": "create-leads", "Name": "Create leads", "HttpMethod": "Post",
         "Endpoint": "{{BaseUrl}}/leads/batch", "IdempotencyKeyHeader": "Idempotency-Key",
         "PagedOutbound": True, "PageSizeOutbound": 10, "PagedOutboundLocation": "leads",
         "RequestFormat": {"Fields": [
             {"ConnectorField": "[leads].email", "SystemField": "Email"},
             {"ConnectorField": "[leads].source", "SystemField": "Source", "IsOptional": True},
         ]},
         "ResponseFormat": {"Fields": [{"ConnectorField": "[ids]", "SystemField": "LeadIds"}]}},
        WHOAMI | {"Endpoint": "{{BaseUrl}}/whoami/leads"},
    ],
}

CONNECTORS = [catalog_document("connectors", "demo-crm.json"), catalog_document("connectors", "demo-leads.json"),
              ORDERS, BATCH_LEADS, catalog_document("connectors", "demo-ledger.json")]


def contacts_trigger(next_step: str, **more: Any) -> dict:
    return {"Id": "contacts", "Name": "List contacts", "Connector": "Demo CRM", "Method": "list-contacts",
            "Next": next_step, **more}


def orders_trigger(next_step: str | None, **more: Any) -> dict:
    return {"Id": "orders", "Name": "List orders", "Connector": "Demo Orders", "Method": "list-orders",
            "Next": next_step, **more}


def create_lead(email: dict, **more: Any) -> dict:
    """A Create lead step: Email from `email`, Source "crm"."""
    return {"Id": "lead", "Name": "Create lead", "Connector": "Demo Leads", "Method": "create-lead",
            "FieldMappings": [{"Field": "Email", **email},
                              {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}], **more}


def field(step: str, name: str, **more: Any) -> dict:
    return {"MappingType": "StepField", "SourceStep": step, "SourceField": name, **more}


async def install_template(api: httpx.AsyncClient, demo_url: str, template: dict, *, contacts: int = 0,
                           orders: list[dict] | None = None, authenticate: bool = True) -> Installed:
    """A fresh demo (`contacts`, `orders`), an account with every test connector installed
    (with credentials when `authenticate`), and the template installed as a Paused cycle."""
    async with httpx.AsyncClient() as client:
        reset = {"contacts": contacts, "orders": orders or []}
        (await client.post(f"{demo_url}/admin/reset", json=reset)).raise_for_status()
    ids = {}
    for document in CONNECTORS:
        response = await api.post("/v1.0/connectors", json=document)
        assert response.status_code == 201, response.text
        ids[document["Name"]] = response.json()["Id"]
    account = (await api.post("/v1.0/accounts", json={"Name": template["Name"]})).json()
    headers = {"X-Account-Id": account["Id"]}
    for name, connector_id in ids.items():
        body = {"ConnectorId": connector_id, "Properties": [{"Name": "BaseUrl", "Value": demo_url}]}
        response = await api.post("/v1.0/account/connectors", headers=headers,
                                  json=body | ({"AuthValue": CREDENTIALS[name]} if authenticate else {}))
        assert response.status_code == 201, response.text
    response = await api.post("/v1.0/templates", json=template)
    assert response.status_code == 201, response.text
    response = await api.post(f"/v1.0/templates/{response.json()['Id']}/install", headers=headers, json={})
    assert response.status_code == 201, response.text
    return Installed(api, account["Id"], response.json(), demo_url)


async def transactions(cycle: Installed, **params: Any) -> list[dict]:
    """The cycle's transactions, each read whole (path, records, error), by number."""
    base = f"/v1.0/cycles/{cycle.cycle_id}/transactions"
    listed = (await cycle.call("GET", base, params={"per_page": 1000, **params})).json()
    details = [(await cycle.call("GET", f"{base}/{t['Id']}")).json() for t in listed]
    return sorted(details, key=lambda t: t["Number"])


async def storage(cycle: Installed, scope: str = "cycle") -> dict[str, Any]:
    path = f"/v1.0/cycles/{cycle.cycle_id}/storage" if scope == "cycle" else "/v1.0/account/storage"
    return {item["Key"]: item["Value"] for item in (await cycle.call("GET", path)).json()}


async def demo_requests(cycle: Installed, prefix: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{cycle.demo_url}/admin/requests", params={"prefix": prefix})).json()


async def run_once(cycle: Installed) -> dict:
    """Activate the cycle to run once; its run, when it has ended."""
    response = await cycle.activate(RunOnce=True)
    assert response.status_code == 200, response.text
    (run,) = await eventually(lambda: ended_runs(cycle), "the run to end")
    return run


async def ended_runs(cycle: Installed) -> list[dict] | None:
    runs = await cycle.runs()
    return runs if runs and all(r["Status"] != "Running" for r in runs) else None


async def histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every history of a workflow id, oldest first: a run continues as new, so its events span
    several; each names the one it continues (read from history, not from the lagging list)."""
    found = [await client.get_workflow_handle(workflow_id).fetch_history()]
    while previous := found[0].events[0].workflow_execution_started_event_attributes.continued_execution_run_id:
        found.insert(0, await client.get_workflow_handle(workflow_id, run_id=previous).fetch_history())
    return found


async def timers(client: Client, workflow_id: str) -> list[float]:
    """The seconds of every timer the workflow started (Delay, WaitUntil, Retry backoff)."""
    return sorted(event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
                  for history in await histories(client, workflow_id) for event in history.events
                  if event.HasField("timer_started_event_attributes"))


def moment(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
