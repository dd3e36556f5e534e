"""Webhook events acknowledged per second, and the time until all are processed.

    .venv/bin/python bench/webhooks.py [--events 20000] [--concurrency 64] [--sign none|bare|timestamped]
        [--profile FOLDER]

Starts its own Temporal dev server, demo APIs, worker and API (free ports, temporary data
folder), installs one webhook cycle whose step creates a lead at the demo leads service per
event, posts N events with `--concurrency` in flight, and prints: events acknowledged (202)
per second, the seconds until every acknowledged event is a lead, the runs that took them,
the lost and duplicated counts (both must be 0), and the CPU milliseconds each process spent
an event (a cost that does not depend on how busy the machine is). `--sign` gives the step a secret and signs
each event: `timestamped` (X-Signature t=…,v1=…, each signature then taken once) or `bare` (the
hex HMAC of the body, for a step that opts in). Then plain scripts make the same leads (one per
acknowledged event, as many in flight as the worker's step concurrency) on aiohttp, the worker's
HTTP client, and on httpx (bench/plain.py): the end-to-end time's ratio against the fastest. For
reference, n8n 2.8 on this machine kind accepts and processes 69–79 webhook events/s (webhook →
HTTP request, 5,000 events).
`--profile FOLDER` records py-spy profiles of the API and the worker meanwhile
(`api.txt`, `worker.txt`: collapsed stacks, which speedscope and flamegraph.pl read).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import uvloop
from plain import CLIENTS, create_leads, fastest, run
from stack import cpu_seconds, pid, running_stack_processes

from runtime.catalog import load_catalog
from runtime.launcher import Stack
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
    """The demo's stats once `expected` distinct leads are there (polled without the emails,
    which would cost the demo more than the leads the run makes meanwhile), emails and all."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=demo, timeout=60) as client:  # one client: each new one loads the CA bundle
        while True:
            stats = client.get("/admin/stats", params={"emails": "false"}).json()
            if stats["distinct_emails"] >= expected or time.monotonic() > deadline:
                return client.get("/admin/stats").json()
            time.sleep(0.2)


class Cpu:
    """CPU seconds each process of the stack (and this one, the load generator) has used: the
    cost of an event that does not depend on how busy the machine is."""

    NAMES = ("api", "worker", "temporal", "demo APIs")

    def __init__(self, stack: Stack) -> None:
        self.pids = {name: pid(stack, name) for name in self.NAMES}

    def now(self) -> dict[str, float]:
        return {**{name: cpu_seconds(p) for name, p in self.pids.items()}, "load generator": time.process_time()}

    @staticmethod
    def per_event(before: dict[str, float], after: dict[str, float], events: int) -> str:
        spent = {name: (after[name] - before[name]) * 1000 / max(events, 1) for name in before}
        return ", ".join(f"{name} {ms:.2f}" for name, ms in spent.items()) + f"; all {sum(spent.values()):.2f}"


@contextmanager
def profiled(stack: Stack, folder: str | None) -> Iterator[None]:
    """py-spy sampling the API and the worker meanwhile (flame graphs in `folder`), if asked."""
    if folder is None:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid(stack, name)),
                               "--rate", "250", "--nonblocking", "--format", "raw",
                               "--output", f"{folder}/{name}.txt"], stdout=subprocess.DEVNULL)
             for name in ("api", "worker")]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sign", choices=["none", "bare", "timestamped"], default="none")
    parser.add_argument("--profile", metavar="FOLDER", help="py-spy profiles of the API and the worker there (collapsed stacks: speedscope or flamegraph.pl read them)")
    args = parser.parse_args()
    with running_stack_processes() as (api, demo, stack):
        httpx.post(f"{demo}/admin/reset", json={"contacts": 0}).raise_for_status()
        account, cycle, url = install(api, demo, args.sign)
        cpu = Cpu(stack)
        with profiled(stack, args.profile):
            before, load, started = cpu.now(), os.getloadavg()[0], time.perf_counter()
            acknowledged = uvloop.run(post_all([url], args.events, args.concurrency, args.sign))  # a light load generator
            acked_in, at_ack = time.perf_counter() - started, cpu.now()
            stats = wait_processed(demo, len(acknowledged))
            processed_in, at_end = time.perf_counter() - started, cpu.now()
        emails = stats["emails"]
        lost = sum(1 for i in acknowledged if f"event{i}@example.com" not in emails)
        duplicated = stats["leads_created"] - stats["distinct_emails"]
        runs = len(api.get(f"/cycles/{cycle}/runs", headers={"X-Account-Id": account}).json())
        plain: dict[str, float] = {}
        for kind in CLIENTS:
            httpx.post(f"{demo}/admin/reset", json={"contacts": 0}).raise_for_status()
            events = [f"event{i}@example.com" for i in acknowledged]
            plain[kind] = run(create_leads(kind, demo, settings().step_concurrency, events))
            assert httpx.get(f"{demo}/admin/stats").json()["distinct_emails"] == len(events)
    acked = len(acknowledged)
    print(f"events posted:          {args.events} (concurrency {args.concurrency}, signed: {args.sign})")
    print(f"acknowledged (202):     {acked} in {acked_in:.1f} s = {acked / acked_in:,.0f} events/s")
    print(f"all processed after:    {processed_in:.1f} s = {acked / processed_in:,.0f} events/s end to end")
    print(f"runs that took them:    {runs}")
    print(f"lost: {lost}   duplicated: {duplicated}")
    for kind in CLIENTS:
        print(f"plain script ({kind}):  the same leads in {plain[kind]:.1f} s = "
              f"{len(acknowledged) / plain[kind]:,.0f} leads/s")
    best, best_seconds = fastest(plain)
    print(f"ratio end to end / fastest plain ({best}):  {processed_in / best_seconds:.2f};"
          f"  / plain httpx:  {processed_in / plain['httpx']:.2f}")
    print(f"CPU ms an event, until acknowledged: {Cpu.per_event(before, at_ack, acked)}")
    print(f"CPU ms an event, until processed:    {Cpu.per_event(before, at_end, acked)}")
    print(f"load average: {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores)")
    print("reference: n8n 2.8 on this machine kind, 69–79 events/s accepted and processed")

if __name__ == "__main__":
    main()
