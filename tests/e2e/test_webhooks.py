"""Inbound webhooks: events are transactions before their 202, taken by a few runs, checked by
signature (acceptance, issue 15, point 9: a timestamped signature is taken once, within its
window; the bare one only where a step opts in), refused for a cycle that is not active, bounded;
subscriptions at the connector."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx

from tests.templating import install_template
from tests.walkthrough import Installed, catalog_document, eventually

EVENTS_TEMPLATE = catalog_document("templates", "webhook-events-to-leads.json")
SECRET = "s3cret-signing-key"
WINDOW = 300  # CYCLEWRIGHT_WEBHOOK_TOLERANCE_SECONDS' default: the test stack's
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


def signature(body: bytes, at: float | None = None, secret: str = SECRET) -> str:
    """X-Signature as a sender makes it: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    t = int(time.time() if at is None else at)
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def bare_signature(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def set_secret(cycle: Installed, **webhook) -> dict:
    step = next(s["Id"] for s in cycle.cycle["Steps"] if s["Type"] == "Webhook")
    response = await cycle.call("PUT", f"/v1.0/steps/{step}/webhook", json={"Secret": SECRET, **webhook})
    assert response.status_code == 200 and response.json()["Signed"], response.text
    return response.json()


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
    assert not (await set_secret(cycle))["BareSignatures"]
    body = json.dumps({"email": "signed@example.com"}).encode()
    good = signature(body)
    async with httpx.AsyncClient() as client:
        async def refused(content: bytes, **headers: str) -> str:
            response = await client.post(url, content=content, headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["Errors"][0]["Path"] == "X-Signature"
            return response.json()["Message"]

        assert "is missing" in await refused(body)
        assert "is not t=<unix seconds>,v1=" in await refused(body, **{"X-Signature": "t=soon,v1=" + "0" * 64})
        assert "is not t=<unix seconds>,v1=" in await refused(body, **{"X-Signature": "t=1700000000"})
        assert "does not match" in await refused(body, **{"X-Signature": good.replace("v1=", "v1=0")})
        assert "does not match" in await refused(b'{"email": "forged@example.com"}', **{"X-Signature": good})
        assert "has no timestamp" in await refused(body, **{"X-Signature": bare_signature(body)})
        assert "has no timestamp" in await refused(body, **{"X-Signature": "sha256=" + bare_signature(body)})
        assert "ahead of this server's clock" in await refused(
            body, **{"X-Signature": signature(body, at=time.time() + WINDOW + 60)})
        # Several v1 values (a sender changing secrets): one that matches is enough.
        other = signature(body, secret="the-next-secret").split("v1=")[1]
        accepted = await client.post(url, content=body, headers={"X-Signature": f"{good},v1={other}"})
        assert accepted.status_code == 202, accepted.text
        wrong = json.dumps({"x": "y" * 300_000}).encode()
        assert (await client.post(url, content=wrong, headers={"X-Signature": signature(wrong)})).status_code == 413
        not_json = b"not json"
        assert (await client.post(url, content=not_json, headers={"X-Signature": signature(not_json)})).status_code == 422
        assert (await client.post(url.rsplit("/", 1)[0] + "/nosuchhook", json={})).status_code == 404
    await eventually(lambda: _equals(leads(cycle), 1), "the signed event delivered")
    transactions = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions")).json()
    assert len(transactions) == 1  # nothing of the refused ones was recorded
    await stop(cycle)


async def test_a_signed_event_is_taken_once_within_its_window_and_the_bare_form_only_by_opting_in(api, demo):
    """Acceptance (issue 15, point 9), against the real API: a fresh signed event is accepted; the
    same request posted again, at once or later, inside the window is refused; one signed longer
    ago than the window is refused; the bare form works for a step that opts in (and is weaker:
    it can be replayed)."""
    cycle = await install_webhook_cycle(api, demo.url)
    (await cycle.activate()).raise_for_status()
    url = webhook_url(cycle)
    await set_secret(cycle)
    fresh = json.dumps({"email": "fresh@example.com"}).encode()
    captured = {"X-Signature": signature(fresh)}
    async with httpx.AsyncClient() as client:
        post = lambda body, headers: client.post(url, content=body, headers=headers)
        # The request and five replays of it, all at once: exactly one is taken.
        answers = await asyncio.gather(*(post(fresh, captured) for _ in range(6)))
        assert sorted(a.status_code for a in answers) == [202] + [409] * 5, [a.text for a in answers]
        replay = next(a for a in answers if a.status_code == 409).json()
        assert "received already" in replay["Message"] and replay["Errors"][0]["Path"] == "X-Signature"
        for _ in range(3):  # the measure: a captured request posted three times more
            assert (await post(fresh, captured)).status_code == 409
        # The same event delivered again is a new delivery when signed afresh.
        resent = await post(fresh, {"X-Signature": signature(fresh, at=time.time() + 1)})
        assert resent.status_code == 202, resent.text

        old = json.dumps({"email": "old@example.com"}).encode()
        too_old = await post(old, {"X-Signature": signature(old, at=time.time() - WINDOW - 60)})
        assert too_old.status_code == 401 and f"taken for {WINDOW} s after its timestamp" in too_old.json()["Message"]
        inside = await post(old, {"X-Signature": signature(old, at=time.time() - WINDOW + 60)})
        assert inside.status_code == 202, inside.text  # the premise: the window is what refused it

        bare = json.dumps({"email": "bare@example.com"}).encode()
        assert (await post(bare, {"X-Signature": bare_signature(bare)})).status_code == 401
        assert (await set_secret(cycle, BareSignatures=True))["BareSignatures"]
        assert (await post(bare, {"X-Signature": bare_signature(bare)})).status_code == 202
        assert (await post(bare, {"X-Signature": "sha256=" + bare_signature(bare)})).status_code == 202  # weaker
        assert (await post(fresh, captured)).status_code == 409  # timestamped ones are still taken once

    await eventually(lambda: _equals(leads(cycle), 3), "the accepted events delivered")
    transactions = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions")).json()
    assert len(transactions) == 5  # fresh twice (two deliveries), old once, bare twice: no refused one
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
