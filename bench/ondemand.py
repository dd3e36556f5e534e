"""Latency of a data-on-demand call through the API vs calling the demo API directly.

    .venv/bin/python bench/ondemand.py [--calls 300] [--records 25]

Both sequential, in one process run; prints p50 and p99 of each and the p50 overhead
(the issue's target: 5 ms or less).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--records", type=int, default=25)
    args = parser.parse_args()
    if not 0 < args.records < CRM_PAGE_SIZE:
        parser.error(f"--records must be under the connector's page size ({CRM_PAGE_SIZE}): one page each way")
    with running_stack() as (api, demo):
        reset_demo(demo, args.records)
        account, _ = install_demo(api, demo, account_name="on demand")
        headers = {"X-Account-Id": account}
        crm = next(c["Id"] for c in api.get("/connectors").json() if c["Name"] == "Demo CRM")
        installed = next(a["Id"] for a in api.get("/account/connectors", headers=headers).json()
                         if a["ConnectorId"] == crm)
        path = f"/account/connectors/{installed}/methods/list-contacts"

        def on_demand() -> None:
            response = api.post(path, headers=headers, json={})
            assert len(response.raise_for_status().json()["Records"]) == args.records

        with httpx.Client(base_url=demo) as direct_client:
            def direct() -> None:
                # One page of the connector's size, as the API call asks for (a short one: its only).
                response = direct_client.get("/crm/contacts", params={"page": 1, "per_page": CRM_PAGE_SIZE},
                                             headers={"X-Api-Key": "demo-crm-key"})
                assert len(response.raise_for_status().json()["records"]) == args.records

            samples = timed({"direct": direct, "on demand": on_demand}, args.calls)
    direct_ms, api_ms = samples["direct"], samples["on demand"]
    print(f"\n{args.calls} sequential calls, {args.records} records each")
    for name, samples in (("direct to the demo API", direct_ms), ("data on demand via API", api_ms)):
        print(f"  {name:24}  p50 {percentile(samples, 50):6.2f} ms   p99 {percentile(samples, 99):6.2f} ms")
    print(f"  p50 overhead  {percentile(api_ms, 50) - percentile(direct_ms, 50):.2f} ms")


if __name__ == "__main__":
    main()
