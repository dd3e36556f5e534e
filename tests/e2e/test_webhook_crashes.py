"""Acceptance: 2,000 webhook events posted concurrently; the worker and then the API SIGKILLed and
restarted in the middle. Every event that got a 202 is processed exactly once (an event that got
no answer may be lost), by a handful of runs."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.conftest import Process, api_process, partner_client
from tests.e2e.test_webhooks import install_webhook_cycle, webhook_url
from tests.walkthrough import eventually

EVENTS = 2_000


class Poster:
    """Posts events 0…EVENTS-1 with 64 in flight; remembers which got a 202. While the API is
    down, senders wait for it to answer again (the event that failed counts as not acknowledged)."""

    def __init__(self, url: str, health: str) -> None:
        self.url, self.health = url, health
        self.acknowledged: set[int] = set()
        self.failed = 0
        self.queue = iter(range(EVENTS))

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(self._sender(client) for _ in range(64)))

    async def _sender(self, client: httpx.AsyncClient) -> None:
        for i in self.queue:
            try:
                response = await client.post(self.url, json={"email": f"event{i}@example.com"})
            except httpx.TransportError:
                self.failed += 1
                await eventually(lambda: self._answers(client), "the API back", timeout=120)
                continue
            if response.status_code == 202:
                self.acknowledged.add(i)

    async def _answers(self, client: httpx.AsyncClient) -> bool:
        try:
            return (await client.get(self.health)).status_code == 200
        except httpx.TransportError:
            return False


async def test_no_acknowledged_event_is_lost_when_worker_and_api_are_killed(demo, private_stack):
    stack = private_stack()
    worker, api = stack.processes
    async with partner_client(stack.api_url) as partner:
        cycle = await install_webhook_cycle(partner, demo.url)
        (await cycle.activate()).raise_for_status()
        poster = Poster(webhook_url(cycle), f"{stack.api_url}/healthz")
        posting = asyncio.create_task(poster.run())

        # The worker dies while events are being taken and processed…
        await eventually(lambda: _leads_at_least(cycle, 100), "events being processed")
        worker.kill()
        killed_worker_at = len(poster.acknowledged)
        stack.processes[0] = Process("worker.py", env=stack.env, log=f"{stack.name}-worker-2.log")

        # …and the API while events are being acknowledged.
        await eventually(lambda: _true(len(poster.acknowledged) >= killed_worker_at + 300), "more events acknowledged")
        await asyncio.to_thread(api.kill)  # the senders go on meanwhile: requests are cut mid-flight
        killed_api_at = len(poster.acknowledged)
        stack.processes[1] = await asyncio.to_thread(api_process, stack.api_port, stack.env,
                                                     f"{stack.name}-api-2.log")
        await posting

    assert killed_worker_at < EVENTS and killed_api_at < EVENTS  # both deaths came mid-stream
    assert poster.failed > 0  # requests were in flight when the API died
    assert len(poster.acknowledged) >= EVENTS // 2, (len(poster.acknowledged), poster.failed)
    wanted = {f"event{i}@example.com" for i in poster.acknowledged}

    async def delivered() -> Counter | None:
        emails = Counter((await cycle.demo_stats())["emails"])
        return emails if wanted <= set(emails) else None

    emails = await eventually(delivered, "every acknowledged event delivered", timeout=180)
    assert all(emails[e] == 1 for e in wanted)  # exactly once, though resent after the worker died
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == stats["distinct_emails"] <= EVENTS
    async with partner_client(stack.api_url) as partner:
        cycle.api = partner
        runs = await cycle.runs()
    assert 1 <= len(runs) <= 20, [r["Status"] for r in runs]  # a handful, not one per event


async def _leads_at_least(cycle, n: int) -> bool:
    return (await cycle.demo_stats())["distinct_emails"] >= n


async def _true(value: bool) -> bool:
    return value
