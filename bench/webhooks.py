"""Webhook events acknowledged per second, and the time until all are processed.

    .venv/bin/python bench/webhooks.py [--events 20000] [--concurrency 64] [--sign none|bare|timestamped]

Starts its own Temporal dev server, demo APIs, worker and API (free ports, temporary data
folder), installs one webhook cycle whose step creates a lead at the demo leads service per
event, posts N events with `--concurrency` in flight, and prints: events acknowledged (202)
per second, the seconds until every acknowledged event is a lead, the runs that took them,
and the lost and duplicated counts (both must be 0). `--sign` gives the step a secret and signs
each event: `timestamped` (X-Signature t=…,v1=…, each signature then taken once) or `bare` (the
hex HMAC of the body, for a step that opts in). Then plain scripts make the same leads (one per
acknowledged event, as many in flight as the worker's step concurrency) on aiohttp, the worker's
HTTP client, and on httpx (bench/plain.py): the end-to-end time's ratio against the fastest. For
reference, n8n 2.8 on this machine kind accepts and processes 69–79 webhook events/s (webhook →
HTTP request, 5,000 events).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time

import aiohttp
import httpx
import uvloop
from plain import CLIENTS, create_leads, fastest
from stack import running_stack

from runtime.catalog import load_catalog
from runtime.settings import settings

SECRET = "bench-signing-secret"


def install(api: httpx.Client, demo: str, sign: str = "none") -> tuple[str, str, str]:
    """An account, its leads connector, and an active webhook cycle: (account, cycle, webhook URL)."""
    ids = load_catalog(api)  # the catalog's connectors and its webhook template
    account = api.post("/accounts", json={"Name": f"bench {time.time_ns()}"}).json()["Id"]
    headers = {"X-Account-Id": account}
    api.post("/account/connectors", headers=headers, json={
        "ConnectorId": ids["Demo Leads"], "AuthValue": "demo-leads-token",
        "Properties": [{"Name": "BaseUrl", "Value": demo}]}).raise_for_status()
    cycle = api.post(f"/templates/{ids['Webhook events to leads']}/install", headers=headers, json={}).json()
    step = next(s for s in cycle["Steps"] if s["Type"] == "Webhook")
    if sign != "none":
        api.put(f"/steps/{step['Id']}/webhook", headers=headers,
                json={"Secret": SECRET, "BareSignatures": sign == "bare"}).raise_for_status()
    api.put(f"/cycles/{cycle['Id']}/activate", headers=headers, json={}).raise_for_status()
    return account, cycle["Id"], step["WebhookUrl"]


def signed(body: bytes, sign: str) -> dict[str, str]:
    """The headers of an event signed as `sign` says."""
    if sign == "none":
        return {}
    if sign == "bare":
        return {"X-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    t = int(time.time())
    return {"X-Signature": f"t={t},v1={hmac.new(SECRET.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"}


async def post_all(urls: list[str], events: int, concurrency: int, sign: str = "none") -> list[int]:
    """Each event's index, for those acknowledged with 202; event i goes to urls[i % len(urls)]
    (one webhook through several API processes). aiohttp: httpx's connection pool would be the
    bottleneck at this rate, not the server measured."""
    acknowledged: list[int] = []
    queue = iter(range(events))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:
        async def sender() -> None:
            for i in queue:
                body = json.dumps({"email": f"event{i}@example.com", "n": i}).encode()
                headers = {"Content-Type": "application/json", **signed(body, sign)}
                async with client.post(urls[i % len(urls)], data=body, headers=headers) as response:
                    if response.status == 202:
                        acknowledged.append(i)

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return acknowledged


def wait_processed(demo: str, expected: int, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(f"{demo}/admin/stats", timeout=60).json()
        if stats["distinct_emails"] >= expected or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sign", choices=["none", "bare", "timestamped"], default="none")
    args = parser.parse_args()
    with running_stack() as (api, demo):
        httpx.post(f"{demo}/admin/reset", json={"contacts": 0}).raise_for_status()
        account, cycle, url = install(api, demo, args.sign)
        started = time.perf_counter()
        acknowledged = uvloop.run(post_all([url], args.events, args.concurrency, args.sign))  # a light load generator
        acked_in = time.perf_counter() - started
        stats = wait_processed(demo, len(acknowledged))
        processed_in = time.perf_counter() - started
        emails = stats["emails"]
        lost = sum(1 for i in acknowledged if f"event{i}@example.com" not in emails)
        duplicated = stats["leads_created"] - stats["distinct_emails"]
        runs = len(api.get(f"/cycles/{cycle}/runs", headers={"X-Account-Id": account}).json())
        plain: dict[str, float] = {}
        for kind in CLIENTS:
            httpx.post(f"{demo}/admin/reset", json={"contacts": 0}).raise_for_status()
            events = [f"event{i}@example.com" for i in acknowledged]
            plain[kind] = asyncio.run(create_leads(kind, demo, settings().step_concurrency, events))
            assert httpx.get(f"{demo}/admin/stats").json()["distinct_emails"] == len(events)
    print(f"events posted:          {args.events} (concurrency {args.concurrency}, signed: {args.sign})")
    print(f"acknowledged (202):     {len(acknowledged)} in {acked_in:.1f} s = {len(acknowledged) / acked_in:,.0f} events/s")
    print(f"all processed after:    {processed_in:.1f} s = {len(acknowledged) / processed_in:,.0f} events/s end to end")
    print(f"runs that took them:    {runs}")
    print(f"lost: {lost}   duplicated: {duplicated}")
    for kind in CLIENTS:
        print(f"plain script ({kind}):  the same leads in {plain[kind]:.1f} s = "
              f"{len(acknowledged) / plain[kind]:,.0f} leads/s")
    best, best_seconds = fastest(plain)
    print(f"ratio end to end / fastest plain ({best}):  {processed_in / best_seconds:.2f};"
          f"  / plain httpx:  {processed_in / plain['httpx']:.2f}")
    print("reference: n8n 2.8 on this machine kind, 69–79 events/s accepted and processed")


if __name__ == "__main__":
    main()
