"""A cycle run's trigger step paging through N records vs a plain httpx loop over the same pages.

    .venv/bin/python bench/paging.py [--records 50000] [--pages 250]

Both read every page of the demo API's page-number route, in one process run; prints both
wall times and their ratio (the issue's target: 1.5 or less).
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


async def plain_async_loop(demo: str, page_size: int) -> tuple[float, int]:
    started, records, page = time.perf_counter(), 0, 1
    async with httpx.AsyncClient(base_url=demo) as client:
        while True:
            items = (await client.get("/paging/number", params={"page": page, "per_page": page_size})).json()
            records += len(items["items"])
            if len(items["items"]) < page_size:
                return time.perf_counter() - started, records
            page += 1


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
    cycles, triggers, plains, asyncs = [], [], [], []
    with running_stack() as (api, demo):
        reset_demo(demo, args.records)
        for _ in range(args.repeat):  # interleaved, so a noisy moment hits both sides
            cycle_seconds, trigger, cycle_records = through_cycle(api, demo, page_size)
            plain_seconds, plain_records = plain_loop(demo, page_size)
            async_seconds, async_records = asyncio.run(plain_async_loop(demo, page_size))
            assert cycle_records == plain_records == async_records == args.records
            cycles.append(cycle_seconds), triggers.append(trigger)
            plains.append(plain_seconds), asyncs.append(async_seconds)
    cycle_seconds, trigger = statistics.median(cycles), statistics.median(triggers)
    plain_seconds, async_seconds = statistics.median(plains), statistics.median(asyncs)
    print(f"\n{args.records} records over {args.pages} pages of {page_size}, median of {args.repeat} runs")
    print(f"  trigger step of the run   {trigger:7.2f} s  {args.records / trigger:8.0f} records/s")
    print(f"  whole run, activation on  {cycle_seconds:7.2f} s  {args.records / cycle_seconds:8.0f} records/s")
    print(f"  plain httpx loop (sync)   {plain_seconds:7.2f} s  {args.records / plain_seconds:8.0f} records/s")
    print(f"  plain httpx loop (async)  {async_seconds:7.2f} s  {args.records / async_seconds:8.0f} records/s")
    print(f"  ratio trigger step / plain sync   {trigger / plain_seconds:.2f}")
    print(f"  ratio trigger step / plain async  {trigger / async_seconds:.2f}")
    print(f"  ratio whole run / plain sync      {cycle_seconds / plain_seconds:.2f}")


if __name__ == "__main__":
    main()
