"""Latency of a data-on-demand call through the API vs calling the demo API directly.

    .venv/bin/python bench/ondemand.py [--calls 300] [--records 25]

All sequential, taking turns, in one process run: the API call, and the same page read
directly with httpx and with aiohttp on uvloop (the API's HTTP client and loop for upstream calls). Prints p50
and p99 of each, and the API's p50 overhead and ratio over the fastest direct call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

import httpx
import uvloop
from plain import crm_pages, fastest, plain_client
from stack import CRM_PAGE_SIZE, reset_demo, running_stack

from runtime.catalog import install_demo


def timed(calls: dict[str, Callable[[], None]], count: int) -> dict[str, list[float]]:
    """Milliseconds per call, the calls taking turns so that a noisy moment hits each alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(count + 1):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: times[1:] for name, times in samples.items()}  # the first warms connections and caches


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def on_demand_call(api: httpx.Client, demo: str, records: int) -> Callable[[], None]:
    """The demo installed for a new account with `records` contacts; one data-on-demand call of
    its CRM's list-contacts (one page), checked."""
    reset_demo(demo, records)
    account, _ = install_demo(api, demo, account_name="on demand")
    headers = {"X-Account-Id": account}
    crm = next(c["Id"] for c in api.get("/connectors").json() if c["Name"] == "Demo CRM")
    installed = next(a["Id"] for a in api.get("/account/connectors", headers=headers).json()
                     if a["ConnectorId"] == crm)
    path = f"/account/connectors/{installed}/methods/list-contacts"

    def on_demand() -> None:
        response = api.post(path, headers=headers, json={})
        assert len(response.raise_for_status().json()["Records"]) == records

    return on_demand


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--records", type=int, default=25)
    args = parser.parse_args()
    if not 0 < args.records < CRM_PAGE_SIZE:
        parser.error(f"--records must be under the connector's page size ({CRM_PAGE_SIZE}): one page each way")
    with running_stack() as (api, demo):
        on_demand = on_demand_call(api, demo, args.records)
        # aiohttp on uvloop, as the API (uvicorn) calls upstream.
        with httpx.Client(base_url=demo) as direct_client, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            def direct() -> None:
                # One page of the connector's size, as the API call asks for (a short one: its only).
                response = direct_client.get("/crm/contacts", params={"page": 1, "per_page": CRM_PAGE_SIZE},
                                             headers={"X-Api-Key": "demo-crm-key"})
                assert len(response.raise_for_status().json()["records"]) == args.records

            opened = AsyncExitStack()
            get, _ = runner.run(opened.enter_async_context(plain_client("aiohttp", demo)))

            async def one_page() -> None:
                pages = [page async for page in crm_pages(get, CRM_PAGE_SIZE)]
                assert len(pages[0]) == args.records

            samples = timed({"direct, httpx": direct, "direct, aiohttp": lambda: runner.run(one_page()),
                             "on demand": on_demand}, args.calls)
            runner.run(opened.aclose())
    p50 = {name: percentile(times, 50) for name, times in samples.items()}
    print(f"\n{args.calls} sequential calls, {args.records} records each")
    for name, label in (("direct, httpx", "direct, httpx"), ("direct, aiohttp", "direct, aiohttp"),
                        ("on demand", "data on demand via API")):
        print(f"  {label:24}  p50 {p50[name]:6.2f} ms   p99 {percentile(samples[name], 99):6.2f} ms")
    best, best_ms = fastest({name: p50[name] for name in ("direct, httpx", "direct, aiohttp")})
    print(f"  p50 overhead over the fastest direct call ({best})  {p50['on demand'] - best_ms:.2f} ms"
          f"  (ratio {p50['on demand'] / best_ms:.2f})")
    print(f"  p50 overhead over direct httpx                        "
          f"{p50['on demand'] - p50['direct, httpx']:.2f} ms")


if __name__ == "__main__":
    main()
