"""A cycle run's trigger step paging through N records vs plain loops over the same pages.

    .venv/bin/python bench/paging.py [--records 50000] [--pages 250]

Each reads every page of the demo API's page-number route, in one process run: the cycle, a
plain synchronous httpx loop, and plain asyncio loops on aiohttp (the worker's HTTP client)
and on httpx (bench/plain.py). Prints the wall times and the trigger step's ratio against the
fastest plain loop (the issue's target: 1.5 or less).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import httpx
from plain import CLIENTS, fastest, read_pages, run
from stack import finished, reset_demo, running_stack, temporal

from workflows import names

CATALOG = Path(__file__).resolve().parent.parent / "catalog"


async def trigger_seconds(workflow_id: str) -> float:
    """From the first fetch_trigger activity scheduled to the last one completed, per the history."""
    client = await temporal()
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    fetches = {e.event_id for e in history.events
               if e.activity_task_scheduled_event_attributes.activity_type.name == names.FETCH_TRIGGER}
    times = [e.event_time.ToDatetime() for e in history.events
             if e.event_id in fetches or e.activity_task_completed_event_attributes.scheduled_event_id in fetches]
    if os.environ.get("BENCH_TIMELINE"):
        start = min(times)
        for e in history.events:
            print(f"{(e.event_time.ToDatetime() - start).total_seconds() * 1000:8.1f} ms  {e.event_type}")
    return (max(times) - min(times)).total_seconds()


def through_cycle(api: httpx.Client, demo: str, page_size: int) -> tuple[float, float, int]:
    connector = json.loads((CATALOG / "connectors" / "demo-paging.json").read_text())
    connector["Name"], connector["PageSizeInbound"] = f"Bench Paging {page_size}", page_size
    connector_id = api.post("/connectors", json=connector).raise_for_status().json()["Id"]
    template = {"Name": "Read every page", "Steps": [
        {"Id": "read", "Name": "Read pages", "Connector": connector["Name"], "Method": "number"}]}
    template_id = api.post("/templates", json=template).raise_for_status().json()["Id"]
    account = api.post("/accounts", json={"Name": "bench"}).raise_for_status().json()["Id"]
    headers = {"X-Account-Id": account}
    api.post("/account/connectors", headers=headers, json={
        "ConnectorId": connector_id, "Properties": [{"Name": "BaseUrl", "Value": demo}]}).raise_for_status()
    cycle = api.post(f"/templates/{template_id}/install", headers=headers, json={}).raise_for_status().json()
    started = time.perf_counter()
    api.put(f"/cycles/{cycle['Id']}/activate", headers=headers, json={"RunOnce": True}).raise_for_status()
    asyncio.run(finished(f"cycle-{cycle['Id']}"))  # a run-once cycle ends with its run
    wall = time.perf_counter() - started
    (run,) = api.get(f"/cycles/{cycle['Id']}/runs", headers=headers).json()
    return wall, asyncio.run(trigger_seconds(run["WorkflowId"])), run["Transactions"]["Success"]


def plain_loop(demo: str, page_size: int) -> tuple[float, int]:
    started, records, page = time.perf_counter(), 0, 1
    with httpx.Client(base_url=demo) as client:
        while True:
            items = client.get("/paging/number", params={"page": page, "per_page": page_size}).json()["items"]
            records += len(items)
            if len(items) < page_size:
                return time.perf_counter() - started, records
            page += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--pages", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians are printed")
    args = parser.parse_args()
    page_size = args.records // args.pages
    cycles, triggers = [], []
    loops: dict[str, list[float]] = {"httpx, sync": [], **{f"{kind}, async": [] for kind in CLIENTS}}
    with running_stack() as (api, demo):
        reset_demo(demo, args.records)
        for _ in range(args.repeat):  # interleaved, so a noisy moment hits every side
            cycle_seconds, trigger, cycle_records = through_cycle(api, demo, page_size)
            cycles.append(cycle_seconds), triggers.append(trigger)
            for name, times in loops.items():
                kind = name.split(",")[0]
                seconds, records = (plain_loop(demo, page_size) if name == "httpx, sync"
                                    else run(read_pages(kind, demo, page_size)))
                assert cycle_records == records == args.records
                times.append(seconds)
    cycle_seconds, trigger = statistics.median(cycles), statistics.median(triggers)
    median = {name: statistics.median(times) for name, times in loops.items()}
    print(f"\n{args.records} records over {args.pages} pages of {page_size}, median of {args.repeat} runs")
    print(f"  trigger step of the run      {trigger:7.2f} s  {args.records / trigger:8.0f} records/s")
    print(f"  whole run, activation on     {cycle_seconds:7.2f} s  {args.records / cycle_seconds:8.0f} records/s")
    for name, seconds in median.items():
        print(f"  plain loop ({name:14s})  {seconds:7.2f} s  {args.records / seconds:8.0f} records/s")
    best, best_seconds = fastest(median)
    print(f"  ratio trigger step / fastest plain ({best})  {trigger / best_seconds:.2f}")
    print(f"  ratio trigger step / plain httpx (sync)       {trigger / median['httpx, sync']:.2f}")
    print(f"  ratio whole run / fastest plain               {cycle_seconds / best_seconds:.2f}")


if __name__ == "__main__":
    main()
