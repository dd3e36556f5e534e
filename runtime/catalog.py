"""Load catalog/ into a running API, and set up the demo account that moves records.

Goes through the public HTTP API, as a partner would, so the demo is also a smoke test.
Every step looks before it creates, so a restart finds the demo as it left it.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

CATALOG = Path(__file__).resolve().parent.parent / "catalog"
DEMO_ACCOUNT = "Demo account"


def partner_client(api_url: str, client_id: str, client_secret: str) -> httpx.Client:
    token = httpx.post(f"{api_url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
    }).raise_for_status().json()["access_token"]
    return httpx.Client(base_url=f"{api_url}/v1.0", headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def load_catalog(api: httpx.Client) -> dict[str, str]:
    """Upload the catalog's connectors and templates that the API does not have yet."""
    connectors = {c["Name"]: c["Id"] for c in api.get("/connectors").raise_for_status().json()}
    for path in sorted((CATALOG / "connectors").glob("*.json")):
        document = json.loads(path.read_text())
        if document["Name"] not in connectors:
            connectors[document["Name"]] = api.post("/connectors", json=document).raise_for_status().json()["Id"]
    templates = {t["Name"]: t["Id"] for t in api.get("/templates").raise_for_status().json()}
    for path in sorted((CATALOG / "templates").glob("*.json")):
        document = json.loads(path.read_text())
        if document["Name"] not in templates:
            templates[document["Name"]] = api.post("/templates", json=document).raise_for_status().json()["Id"]
    return {**connectors, **templates}


def set_up_demo(api: httpx.Client, demo_url: str, interval_minutes: float = 1) -> str:
    """The demo account's cycle, installed and activated the first time; found again after."""
    accounts = {a["Name"]: a["Id"] for a in api.get("/accounts").raise_for_status().json()}
    if DEMO_ACCOUNT in accounts:
        cycles = api.get("/cycles", headers={"X-Account-Id": accounts[DEMO_ACCOUNT]}).raise_for_status()
        return cycles.json()[0]["Id"] if cycles.json() else ""
    account, cycle = install_demo(api, demo_url)
    api.put(f"/cycles/{cycle}/activate", headers={"X-Account-Id": account},
            json={"Interval": interval_minutes, "RunOnce": False}).raise_for_status()
    return cycle


def install_demo(api: httpx.Client, demo_url: str, account_name: str = DEMO_ACCOUNT) -> tuple[str, str]:
    """The walkthrough up to activation: account, its connectors, the template as a cycle, a mapping.

    Returns the account id and the (Paused) cycle id.
    """
    ids = load_catalog(api)
    account = api.post("/accounts", json={"Name": account_name}).raise_for_status().json()["Id"]
    headers = {"X-Account-Id": account}
    for name, key in (("Demo CRM", "demo-crm-key"), ("Demo Leads", "demo-leads-token")):
        api.post("/account/connectors", headers=headers, json={
            "ConnectorId": ids[name], "AuthValue": key, "Properties": [{"Name": "BaseUrl", "Value": demo_url}],
        }).raise_for_status()
    cycle = api.post(f"/templates/{ids['CRM contacts to leads']}/install", headers=headers, json={}) \
        .raise_for_status().json()
    lead_step = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
    api.put(f"/steps/{lead_step}/fieldmappings/Source", headers=headers,
            json={"MappingType": "StaticValue", "Value": "demo-crm"}).raise_for_status()
    return account, cycle["Id"]
