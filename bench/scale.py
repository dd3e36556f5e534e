"""Scaling out: one worker and one API process, then two of each, on PostgreSQL and one Temporal.

    .venv/bin/python bench/scale.py [--records 100000] [--events 20000] [--concurrency 64]

Starts a Temporal dev server, the demo APIs, a worker and an API (free ports), all on a fresh
PostgreSQL database on CYCLEWRIGHT_TEST_POSTGRES_URL's server (dropped afterwards), or on
DATABASE_URL when given (kept). Each phase moves N contacts from the demo CRM to the demo leads
service through the demo cycle (run once), checking every record arrives exactly once, then
posts E webhook events, spread over the API processes, to a webhook cycle whose step creates a
lead per event, and waits until each acknowledged event is a lead. Phase A runs with one worker
and one API process; phase B adds a second of each. Prints records/s and events/s (end to end:
from the first post until the last lead) for each phase, and the ratios B/A.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import httpx
import uvloop
from large import check_delivered, through_cycle
from stack import Stack, add_api, add_worker, reset_demo, running_stack_processes, temporal
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from webhooks import install, post_all, wait_processed

from runtime.settings import TASK_QUEUE


@dataclass
class Phase:
    name: str
    records_per_s: float
    events_acknowledged_per_s: float
    events_per_s: float


async def wait_for_workers(count: int, timeout: float = 60) -> None:
    """Until `count` worker processes poll the task queue for activities."""
    client = await temporal()
    request = DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=TASK_QUEUE),
                                       task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    deadline = time.monotonic() + timeout
    while len({p.identity for p in (await client.workflow_service.describe_task_queue(request)).pollers}) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"fewer than {count} workers poll {TASK_QUEUE} after {timeout:.0f} s")
        await asyncio.sleep(0.2)


def webhook_events(api: httpx.Client, demo: str, apis: list[str], events: int, concurrency: int) -> tuple[float, float]:
    """Events acknowledged per second and processed per second (end to end), over every API process."""
    reset_demo(demo, 0)
    _, _, url = install(api, demo)
    path = url.split("/v1.0/", 1)[1]
    started = time.perf_counter()
    acknowledged = uvloop.run(post_all([f"{base}/v1.0/{path}" for base in apis], events, concurrency))
    acked_in = time.perf_counter() - started
    stats = wait_processed(demo, len(acknowledged))
    processed_in = time.perf_counter() - started
    if len(acknowledged) != events or stats["distinct_emails"] != events or stats["leads_created"] != events:
        raise SystemExit(f"webhooks: {len(acknowledged)} of {events} acknowledged, {stats['distinct_emails']} "
                         f"leads ({stats['leads_created']} created)")
    return events / acked_in, events / processed_in


def phase(name: str, api: httpx.Client, demo: str, stack: Stack, apis: list[str], args) -> Phase:
    reset_demo(demo, args.records)
    seconds, _, _ = through_cycle(api, demo, stack, args.timeout)
    check_delivered(demo, args.records, f"{name}: cycle run")
    acknowledged, processed = webhook_events(api, demo, apis, args.events, args.concurrency)
    return Phase(name, args.records / seconds, acknowledged, processed)


def fresh_database() -> str | None:
    """A new database on the test server, unless DATABASE_URL names one; returns it to drop, or None."""
    if os.environ.get("DATABASE_URL"):
        return None
    if not os.environ.get("CYCLEWRIGHT_TEST_POSTGRES_URL"):
        raise SystemExit("set DATABASE_URL (a PostgreSQL database) or CYCLEWRIGHT_TEST_POSTGRES_URL (a server)")
    from tests.postgres import create_database

    os.environ["DATABASE_URL"] = create_database("cyclewright_bench")
    return os.environ["DATABASE_URL"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64, help="webhook events in flight")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a cycle run may take")
    args = parser.parse_args()
    created = fresh_database()
    try:
        with running_stack_processes() as (api, demo, stack):
            apis = [str(api.base_url.join("/")).rstrip("/")]  # the API roots; the client's base is /v1.0/
            asyncio.run(wait_for_workers(1))
            a = phase("A: 1 worker, 1 API", api, demo, stack, apis, args)
            add_worker(stack)
            apis.append(add_api(stack))
            asyncio.run(wait_for_workers(2))
            b = phase("B: 2 workers, 2 APIs", api, demo, stack, apis, args)
    finally:
        if created:
            from tests.postgres import drop_database

            drop_database(created)
    print(f"\nPostgreSQL, one Temporal dev server; {args.records} records (demo CRM → leads, run once),"
          f" {args.events} webhook events ({args.concurrency} in flight, spread over the API processes)")
    for p in (a, b):
        print(f"  {p.name:22s} {p.records_per_s:8.0f} records/s   {p.events_per_s:7.0f} events/s end to end"
              f"   ({p.events_acknowledged_per_s:.0f}/s acknowledged)")
    print(f"  scaling B/A            {b.records_per_s / a.records_per_s:8.2f} records   "
          f"{b.events_per_s / a.events_per_s:7.2f} events"
          f"   ({b.events_acknowledged_per_s / a.events_acknowledged_per_s:.2f} acknowledged)")


if __name__ == "__main__":
    main()
