"""Records/s through a real cycle run vs a plain asyncio + httpx script, in one process run.

    .venv/bin/python bench/sync.py [--records 5000] [--concurrency 10] [--repeat 3]

Starts its own Temporal dev server, demo APIs, worker and API (free ports, temporary data
folder), moves N contacts from the demo CRM to the demo leads service both ways (both read
the CRM in pages of the connector's size, 500), checks that each delivered exactly N leads,
and prints both wall times and their ratio: the medians of `--repeat` interleaved runs, since
this 2-core machine's speed drifts from one minute to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator

import httpx
from stack import CRM_PAGE_SIZE, finished, reset_demo, running_stack

from connectors.egress import EgressPolicy
from connectors.transport import AiohttpTransport
from runtime.catalog import install_demo
from runtime.launcher import LOOPBACK


def delivered(demo: str) -> int:
    stats = httpx.get(f"{demo}/admin/stats").json()
    assert stats["leads_created"] == stats["distinct_emails"], stats
    return stats["leads_created"]


def through_cycle(api: httpx.Client, demo: str) -> float:
    account, cycle = install_demo(api, demo, account_name=f"bench {time.time_ns()}")
    headers = {"X-Account-Id": account}
    started = time.perf_counter()
    api.put(f"/cycles/{cycle}/activate", headers=headers, json={"RunOnce": True}).raise_for_status()
    asyncio.run(finished(f"cycle-{cycle}"))
    return time.perf_counter() - started


async def crm_pages(client: httpx.AsyncClient, page_size: int = CRM_PAGE_SIZE) -> AsyncIterator[list[dict]]:
    """The CRM's contacts page by page (`page`, `per_page`), as the connector reads them:
    until a page shorter than `page_size`."""
    page = 1
    while True:
        response = await client.get("/crm/contacts", params={"page": page, "per_page": page_size},
                                    headers={"X-Api-Key": "demo-crm-key"})
        records = response.raise_for_status().json()["records"]
        if records:
            yield records
        if len(records) < page_size:
            return
        page += 1


async def plain_script(demo: str, concurrency: int, transport: httpx.AsyncBaseTransport | None = None) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=demo, timeout=30, transport=transport) as client:
        contacts = [contact async for page in crm_pages(client) for contact in page]
        limit = asyncio.Semaphore(concurrency)

        async def post(contact: dict) -> None:
            async with limit:
                response = await client.post(
                    "/leads/contacts",
                    json={"email": contact["email"], "name": contact["first_name"], "source": "bench"},
                    headers={"Authorization": "Bearer demo-leads-token", "Idempotency-Key": contact["id"]},
                )
                response.raise_for_status()

        await asyncio.gather(*(post(c) for c in contacts))
    return time.perf_counter() - started


def worker_transport() -> AiohttpTransport:
    return AiohttpTransport(EgressPolicy.parse(LOOPBACK))  # the demo APIs listen on loopback


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight to the leads service")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each")
    args = parser.parse_args()
    os.environ["CYCLEWRIGHT_STEP_CONCURRENCY"] = str(args.concurrency)
    runs: dict[str, list[float]] = {"cycle": [], "plain": [], "plain, aiohttp": []}
    with running_stack() as (api, demo):
        for _ in range(args.repeat):
            for name, run in (
                ("cycle", lambda: through_cycle(api, demo)),
                ("plain", lambda: asyncio.run(plain_script(demo, args.concurrency))),
                ("plain, aiohttp", lambda: asyncio.run(plain_script(demo, args.concurrency, worker_transport()))),
            ):
                reset_demo(demo, args.records)
                runs[name].append(run())
                assert delivered(demo) == args.records
    n, median = args.records, {name: statistics.median(times) for name, times in runs.items()}
    print(f"\n{n} records, concurrency {args.concurrency}, median of {args.repeat} interleaved runs")
    for name, label in (("cycle", "cycle run"), ("plain", "plain script (httpx)"),
                        ("plain, aiohttp", "plain script (httpx over aiohttp, as the worker)")):
        print(f"  {label:50s} {median[name]:7.2f} s  {n / median[name]:6.0f} records/s   "
              f"({', '.join(f'{s:.2f}' for s in runs[name])})")
    print(f"  ratio (cycle / plain httpx)                   {median['cycle'] / median['plain']:.2f}")
    print(f"  ratio (cycle / plain, same transport)         {median['cycle'] / median['plain, aiohttp']:.2f}")


if __name__ == "__main__":
    main()
