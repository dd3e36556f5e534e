"""Inbound webhooks: events are transactions before their 202, taken by a few runs, checked by
signature, refused for a cycle that is not active, bounded; subscriptions at the connector."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx

from tests.templating import install_template
from tests.walkthrough import Installed, catalog_document, eventually

EVENTS_TEMPLATE = catalog_document("templates", "webhook-events-to-leads.json")
SUBSCRIBED_TEMPLATE = {
    "Name": "Subscribed lead events",
    "Steps": [
        {"Id": "event", "Type": "Webhook", "Connector": "Demo Leads", "Method": "lead-events", "Next": "lead"},
        {"Id": "lead", "Type": "Method", "Connector": "Demo Leads", "Method": "create-lead",
         "FieldMappings": [
             {"Field": "Email", "MappingType": "StepField", "SourceStep": "event", "SourceField": "Email"},
             {"Field": "Source", "MappingType": "StaticValue", "Value": "subscribed"}]},
    ],
}


async def install_webhook_cycle(api: httpx.AsyncClient, demo_url: str, template: dict = EVENTS_TEMPLATE) -> Installed:
    """An account with the demo connectors, and a cycle of a webhook template in it."""
    return await install_template(api, demo_url, template)


def webhook_url(cycle: Installed) -> str:
    return next(s["WebhookUrl"] for s in cycle.cycle["Steps"] if s["Type"] == "Webhook")


async def post_events(url: str, count: int, concurrency: int = 32, start: int = 0) -> list[int]:
    """`count` events posted with `concurrency` in flight; the status each got."""
    statuses: list[int] = []
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(i: int) -> None:
            async with limit:
                response = await client.post(url, json={"email": f"event{i}@example.com"})
                statuses.append(response.status_code)

        await asyncio.gather(*(one(start + i) for i in range(count)))
    return statuses


async def leads(cycle: Installed) -> int:
    return (await cycle.demo_stats())["distinct_emails"]


async def test_events_are_processed_once_by_a_few_runs(api, demo):
    cycle = await install_webhook_cycle(api, demo.url)
    url = webhook_url(cycle)
    assert (await post_events(url, 1)) == [409]  # installed, never activated
    response = await cycle.activate()
    assert response.status_code == 200 and response.json()["Status"] == "Active", response.text
    statuses = await post_events(url, 300)
    assert statuses == [202] * 300
    await eventually(lambda: _equals(leads(cycle), 301 - 1), "every event delivered")
    runs = await cycle.runs()
    assert 1 <= len(runs) < 30, runs  # batches, not a run per event
    async def all_done():
        finished = [r for r in await cycle.runs() if r["Status"] == "Succeeded"]
        return sum(r["Transactions"]["Success"] for r in finished) == 300
    await eventually(all_done, "the runs' counts")
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == 300  # none twice
    await stop(cycle)
    await cycle.wait_for_status("Stopped")
    assert (await post_events(url, 1)) == [409]


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def test_signed_events_bad_input_and_limits(api, demo):
    cycle = await install_webhook_cycle(api, demo.url)
    (await cycle.activate()).raise_for_status()
    url = webhook_url(cycle)
    step = next(s["Id"] for s in cycle.cycle["Steps"] if s["Type"] == "Webhook")
    response = await cycle.call("PUT", f"/v1.0/steps/{step}/webhook", json={"Secret": "s3cret-signing-key"})
    assert response.status_code == 200 and response.json()["Signed"], response.text
    body = json.dumps({"email": "signed@example.com"}).encode()
    good = hmac.new(b"s3cret-signing-key", body, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient() as client:
        post = lambda **kw: client.post(url, **kw)
        assert (await post(content=body)).status_code == 401
        assert (await post(content=body, headers={"X-Signature": "0" * 64})).status_code == 401
        assert (await post(content=b"{\"email\": \"forged@example.com\"}",
                           headers={"X-Signature": good})).status_code == 401
        assert (await post(content=body, headers={"X-Signature": f"sha256={good}"})).status_code == 202
        wrong = json.dumps({"x": "y" * 300_000}).encode()
        signature = hmac.new(b"s3cret-signing-key", wrong, hashlib.sha256).hexdigest()
        assert (await post(content=wrong, headers={"X-Signature": signature})).status_code == 413
        not_json = b"not json"
        signature = hmac.new(b"s3cret-signing-key", not_json, hashlib.sha256).hexdigest()
        assert (await post(content=not_json, headers={"X-Signature": signature})).status_code == 422
        assert (await client.post(url.rsplit("/", 1)[0] + "/nosuchhook", json={})).status_code == 404
    await eventually(lambda: _equals(leads(cycle), 1), "the signed event delivered")
    transactions = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions")).json()
    assert len(transactions) == 1  # nothing of the refused ones was recorded
    await stop(cycle)


async def test_activation_subscribes_and_deactivation_unsubscribes(api, demo):
    cycle = await install_webhook_cycle(api, demo.url, SUBSCRIBED_TEMPLATE)
    async with httpx.AsyncClient() as client:
        hooks = lambda: client.get(f"{demo.url}/admin/hooks")
        response = await cycle.activate()
        assert response.status_code == 200 and response.json()["Status"] == "Active", response.text
        assert list((await hooks()).json().values()) == [webhook_url(cycle)]
        assert (await post_events(webhook_url(cycle), 1)) == [202]
        await eventually(lambda: _equals(leads(cycle), 1), "the event delivered")
        await stop(cycle)
        await cycle.wait_for_status("Stopped")
        assert (await hooks()).json() == {}


async def test_a_failed_subscription_leaves_the_cycle_not_active(api, demo):
    cycle = await install_webhook_cycle(api, demo.url, SUBSCRIBED_TEMPLATE)
    await cycle.demo("faults", status=403, path="/leads/hooks", message="webhooks are not enabled")
    response = await cycle.activate()
    assert response.status_code == 502, response.text
    assert "403" in response.json()["Message"]
    found = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).json()
    assert found["Status"] == "Errored" and "subscription" in found["StatusReason"], found
    assert (await post_events(webhook_url(cycle), 1)) == [409]


async def test_a_cycle_stops_while_events_keep_arriving(api, demo):
    """Deactivation finishes the events taken and takes no more: a steady stream cannot keep
    the run (and so the cycle) going for ever."""
    cycle = await install_webhook_cycle(api, demo.url)
    (await cycle.activate()).raise_for_status()
    url, stopped = webhook_url(cycle), asyncio.Event()

    async def stream() -> None:
        async with httpx.AsyncClient() as client:
            i = 0
            while not stopped.is_set():
                await client.post(url, json={"email": f"stream{i}@example.com"})
                i += 1

    posting = asyncio.create_task(stream())
    await eventually(lambda: _at_least(cycle, 20), "events flowing")
    await stop(cycle)
    await cycle.wait_for_status("Stopped")
    stopped.set()
    await posting
    runs = await cycle.runs()
    assert runs and all(r["Status"] == "Succeeded" for r in runs), runs


async def _at_least(cycle: Installed, n: int) -> bool:
    return await leads(cycle) >= n


async def stop(cycle: Installed) -> None:
    response = await cycle.deactivate(finish=True)
    assert response.status_code == 200, response.text
