"""The REST walkthrough as test helpers, and waiting on observable conditions."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.client import http_client
from connectors.transport import HttpClient
from runtime.catalog import CATALOG
from runtime.settings import settings


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60) -> Any:
    """Poll `check` until it returns something truthy; the deadline only guards a hung test."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def engine_client() -> HttpClient:
    """The engine's HTTP client as the worker makes it (the tests' egress policy: loopback)."""
    return http_client(settings().http_timeout, settings().egress)


def catalog_document(kind: str, name: str) -> dict:
    return json.loads((CATALOG / kind / name).read_text())


@dataclass
class Installed:
    api: httpx.AsyncClient
    account_id: str
    cycle: dict
    demo_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Account-Id": self.account_id}

    @property
    def cycle_id(self) -> str:
        return self.cycle["Id"]

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.api.request(method, path, headers=self.headers, **kwargs)

    async def activate(self, **schedule: Any) -> httpx.Response:
        return await self.call("PUT", f"/v1.0/cycles/{self.cycle_id}/activate", json=schedule)

    async def deactivate(self, finish: bool = True) -> httpx.Response:
        return await self.call("PUT", f"/v1.0/cycles/{self.cycle_id}/deactivate",
                               params={"finishQueuedTransactions": str(finish).lower()})

    async def runs(self) -> list[dict]:
        return (await self.call("GET", f"/v1.0/cycles/{self.cycle_id}/runs")).json()

    async def status(self) -> str:
        return (await self.call("GET", f"/v1.0/cycles/{self.cycle_id}")).json()["Status"]

    async def wait_for_status(self, status: str) -> None:
        await eventually(lambda: _equals(self.status(), status), f"cycle status {status}")

    async def wait_for_runs(self, count: int, status: str = "Succeeded") -> list[dict]:
        async def done() -> list[dict] | None:
            runs = [r for r in await self.runs() if r["Status"] == status]
            return runs if len(runs) >= count else None

        return await eventually(done, f"{count} {status} runs")

    async def demo_stats(self) -> dict:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{self.demo_url}/admin/stats")).json()

    async def demo(self, action: str, **body: Any) -> None:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.demo_url}/admin/{action}", json=body)).raise_for_status()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return (await value) == expected


PLAIN_LEADS = "Demo Leads (no idempotency key)"


async def upload_catalog(api: httpx.AsyncClient, idempotent: bool = True) -> dict[str, str]:
    """Connectors and the demo template; uploading again finds the same connector ids.

    `idempotent=False`: the leads connector sends no idempotency key, so every resent call
    creates a lead again (what an API without idempotency keys does)."""
    leads = catalog_document("connectors", "demo-leads.json")
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    if not idempotent:
        del leads["Methods"][0]["IdempotencyKeyHeader"]
        leads["Name"], template["Steps"][1]["Connector"] = PLAIN_LEADS, PLAIN_LEADS
        template["Name"] += " (no idempotency key)"
    ids = {}
    for document in (catalog_document("connectors", "demo-crm.json"), leads):
        response = await api.post("/v1.0/connectors", json=document)
        assert response.status_code == 201, response.text
        ids[response.json()["Name"]] = response.json()["Id"]
    response = await api.post("/v1.0/templates", json=template)
    assert response.status_code == 201, response.text
    ids["template"] = response.json()["Id"]
    ids["Demo Leads"] = ids.get("Demo Leads") or ids[PLAIN_LEADS]
    return ids


async def install_demo_cycle(
    api: httpx.AsyncClient, demo_url: str, contacts: int = 20, note_bytes: int = 0, idempotent: bool = True,
    base_urls: dict[str, str] | None = None,
) -> Installed:
    """Walkthrough steps 1–6: account, connectors, credentials, template, cycle, mapping.

    `base_urls` sends a connector ("Demo CRM", "Demo Leads") somewhere other than the demo."""
    async with httpx.AsyncClient() as client:
        reset = {"contacts": contacts, "note_bytes": note_bytes}
        (await client.post(f"{demo_url}/admin/reset", json=reset)).raise_for_status()
    ids = await upload_catalog(api, idempotent)
    account = (await api.post("/v1.0/accounts", json={"Name": "Acme", "Timezone": "Europe/London"})).json()
    headers = {"X-Account-Id": account["Id"]}
    for name, secret in (("Demo CRM", "demo-crm-key"), ("Demo Leads", "demo-leads-token")):
        base_url = (base_urls or {}).get(name, demo_url)
        response = await api.post("/v1.0/account/connectors", headers=headers, json={
            "ConnectorId": ids[name], "AuthValue": secret,
            "Properties": [{"Name": "BaseUrl", "Value": base_url}],
        })
        # Verified, or (an upstream that is down) saved without being verified.
        assert response.status_code == 201 and response.json()["Status"] != "NeedsAuthentication", response.text
    response = await api.post(f"/v1.0/templates/{ids['template']}/install", headers=headers, json={})
    assert response.status_code == 201, response.text
    cycle = response.json()
    assert cycle["Status"] == "Paused"
    lead_step = next(s["Id"] for s in cycle["Steps"] if s["TemplateStepId"] == "lead")
    response = await api.put(f"/v1.0/steps/{lead_step}/fieldmappings/Source", headers=headers,
                             json={"MappingType": "StaticValue", "Value": "crm"})
    assert response.status_code == 200, response.text
    return Installed(api, account["Id"], cycle, demo_url)


async def import_openapi(api: httpx.AsyncClient, content: bytes | str, content_type: str = "application/json",
                         **query: str) -> dict:
    """An OpenAPI import through the API, waited for: its last state (Succeeded or Failed)."""
    response = await api.post("/v1.0/connectors/import/openapi", params=query, content=content,
                              headers={"Content-Type": content_type}, timeout=60)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]

    async def ended() -> dict | None:
        state = (await api.get(location)).json()
        return state if state["Status"] != "Running" else None

    return await eventually(ended, f"the import {location} to end", 300)
