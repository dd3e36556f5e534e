"""A large run: 100,000 records of ~1 KB through a cycle run vs plain asyncio scripts (bench/plain.py).

    .venv/bin/python bench/large.py [--records 100000] [--concurrency 10]

Starts its own Temporal dev server, demo APIs, worker and API (free ports, temporary data
folder) and moves N contacts, each padded to about 1 KB of JSON, from the demo CRM to the
demo leads service: first through the demo cycle (CRM list-contacts → Demo Leads
create-lead, run once), then, after a reset of the demo APIs each time, through plain scripts
on aiohttp (the worker's HTTP client) and on httpx that read the same pages (500 a page) and
post each lead at the same concurrency. Checks that each delivered every record exactly once,
and prints the wall times and the cycle's ratio against the fastest plain script, the
worker's peak RSS (VmHWM, read after the cycle run) and the largest history of any workflow
execution of the cycle (each continued-as-new execution of its run counts on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from plain import CLIENTS, fastest, sync_contacts
from plain import run as run_plain
from stack import CRM_PAGE_SIZE, Stack, data_dir, pid, reset_demo, running_stack_processes, temporal
from temporalio.client import WorkflowExecutionStatus

from runtime.catalog import install_demo

RECORD_BYTES = 1024


def record_bytes(demo: str, records: int) -> float:
    """The mean length of a contact's JSON, as the demo API sends it, on the page holding the middle one."""
    page = (records // 2) // CRM_PAGE_SIZE + 1
    response = httpx.get(f"{demo}/crm/contacts", params={"page": page, "per_page": CRM_PAGE_SIZE},
                         headers={"X-Api-Key": "demo-crm-key"}, timeout=60).raise_for_status()
    contacts = response.json()["records"]
    return sum(len(json.dumps(c, separators=(",", ":"), ensure_ascii=False)) for c in contacts) / len(contacts)


def note_bytes_for(demo: str, records: int, target: int) -> int:
    """Notes that bring a contact to about `target` bytes of JSON (measured without notes)."""
    reset_demo(demo, records)
    return max(0, round(target - record_bytes(demo, records)))


def check_delivered(demo: str, records: int, what: str) -> None:
    """Every record delivered exactly once: as many leads as distinct emails as records."""
    stats = httpx.get(f"{demo}/admin/stats", timeout=60).raise_for_status().json()
    created, distinct = stats["leads_created"], stats["distinct_emails"]
    if not created == distinct == records:
        raise SystemExit(f"{what}: leads_created {created}, distinct_emails {distinct}, expected {records} "
                         f"(lead requests {stats['lead_requests']}, contact requests {stats['contact_requests']})")


def peak_rss_mib(process_id: int) -> tuple[float, float]:
    """VmHWM (peak resident set) and VmRSS (now) of a process, in MiB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{process_id}/status").read_text().splitlines())
    kib = {name: int(status[name].split()[0]) for name in ("VmHWM", "VmRSS")}
    return kib["VmHWM"] / 1024, kib["VmRSS"] / 1024


def exited(stack: Stack) -> str | None:
    """The name of a stack process that has exited, if any."""
    return next((name for name, process in stack.processes if process.poll() is not None), None)


def cpu_seconds(process_id: int) -> float:
    """CPU time (user and system) a process has used: what a run costs, however busy the machine."""
    times = psutil.Process(process_id).cpu_times()
    return times.user + times.system


async def wait_for_cycle(cycle_id: str, stack: Stack, timeout: float) -> None:
    """Until the (run-once) cycle workflow ends; gives up at `timeout` or when a stack process exits."""
    client = await temporal()
    result = asyncio.ensure_future(client.get_workflow_handle(f"cycle-{cycle_id}").result())
    deadline = time.monotonic() + timeout
    while not result.done():
        if (failed := exited(stack)) is not None or time.monotonic() > deadline:
            result.cancel()
            raise TimeoutError(f"{failed} exited" if failed else f"not finished within {timeout:.0f} s")
        await asyncio.wait([result], timeout=1)
    result.result()


def through_cycle(api: httpx.Client, demo: str, stack: Stack, timeout: float) -> tuple[float, str, list[dict]]:
    """Wall seconds from activation (run once) until the cycle workflow ends; the cycle id and its runs."""
    account, cycle = install_demo(api, demo, account_name=f"bench large {time.time_ns()}")
    headers = {"X-Account-Id": account}
    started = time.perf_counter()
    api.put(f"/cycles/{cycle}/activate", headers=headers, json={"RunOnce": True}).raise_for_status()
    try:
        asyncio.run(wait_for_cycle(cycle, stack, timeout))
    except TimeoutError as err:
        runs = api.get(f"/cycles/{cycle}/runs", headers=headers).json() if exited(stack) != "api" else "?"
        raise SystemExit(f"the cycle run did not finish: {err}; runs: {runs}; "
                         f"worker log: the stack's output above; data folder {data_dir()}") from None
    seconds = time.perf_counter() - started
    return seconds, cycle, api.get(f"/cycles/{cycle}/runs", headers=headers).raise_for_status().json()


@dataclass
class History:
    workflow_id: str
    run_id: str
    events: int
    size_bytes: int


async def histories(cycle_id: str) -> list[History]:
    """Every workflow execution of the cycle (the cycle, each continued-as-new execution of its run)."""
    client = await temporal()
    listed: list = []
    deadline = time.monotonic() + 30
    while True:  # visibility is eventually consistent: until all are listed as closed, twice alike
        previous = listed
        listed = [w async for w in client.list_workflows(f'CycleId="{cycle_id}"')]
        settled = all(w.status != WorkflowExecutionStatus.RUNNING for w in listed)
        if settled and previous and {w.run_id for w in listed} == {w.run_id for w in previous}:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the cycle's executions were still changing after 30 s: {len(listed)} listed")
        await asyncio.sleep(0.5)
    found = []
    for execution in listed:
        description = await client.get_workflow_handle(execution.id, run_id=execution.run_id).describe()
        info = description.raw_description.workflow_execution_info
        found.append(History(execution.id, execution.run_id, info.history_length, info.history_size_bytes))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=10, help="the worker's calls per step activity")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the cycle run may take")
    parser.add_argument("--range-size", type=int, help="transactions per step activity (default: the product's)")
    args = parser.parse_args()
    os.environ["CYCLEWRIGHT_STEP_CONCURRENCY"] = str(args.concurrency)  # read by the worker at start
    if args.range_size:
        os.environ["CYCLEWRIGHT_BATCH_SIZE"] = str(args.range_size)  # read by the API at activation
    n = args.records
    with running_stack_processes() as (api, demo, stack):
        worker = pid(stack, "worker")
        note_bytes = note_bytes_for(demo, n, RECORD_BYTES)
        reset_demo(demo, n, note_bytes)
        size = record_bytes(demo, n)
        worker_before, _ = peak_rss_mib(worker)
        cpu_before = {name: cpu_seconds(pid(stack, name)) for name in ("worker", "temporal")}
        cycle_seconds, cycle, runs = through_cycle(api, demo, stack, args.timeout)
        worker_peak, worker_now = peak_rss_mib(worker)
        cpu = {name: cpu_seconds(pid(stack, name)) - before for name, before in cpu_before.items()}
        check_delivered(demo, n, "cycle run")
        found = asyncio.run(histories(cycle))
        plain: dict[str, float] = {}
        for kind in CLIENTS:
            reset_demo(demo, n, note_bytes)
            plain[kind] = run_plain(sync_contacts(kind, demo, args.concurrency, CRM_PAGE_SIZE))
            check_delivered(demo, n, f"plain script ({kind})")
    (run,) = runs
    most_events = max(found, key=lambda h: h.events)
    most_bytes = max(found, key=lambda h: h.size_bytes)
    run_executions = sum(1 for h in found if h.workflow_id == run["WorkflowId"])
    print(f"\n{n} records of ~{size:.0f} B (JSON, notes of {note_bytes} B), concurrency {args.concurrency},"
          f" pages of {CRM_PAGE_SIZE}")
    print(f"  cycle run     {cycle_seconds:7.2f} s  {n / cycle_seconds:8.0f} records/s"
          f"   (run: {run['Status']}, {run['Transactions']})")
    for kind in CLIENTS:
        print(f"  plain script  {plain[kind]:7.2f} s  {n / plain[kind]:8.0f} records/s   ({kind})")
    best, best_seconds = fastest(plain)
    print(f"  ratio (cycle / fastest plain, {best})  {cycle_seconds / best_seconds:.2f};"
          f"  (cycle / plain httpx)  {cycle_seconds / plain['httpx']:.2f}")
    print(f"  CPU during the cycle run  worker {cpu['worker']:.1f} s ({cpu['worker'] / n * 1e6:.0f} µs a record),"
          f"  Temporal {cpu['temporal']:.1f} s ({cpu['temporal'] / n * 1e6:.0f} µs a record)")
    print(f"  worker peak RSS (VmHWM)  {worker_peak:.1f} MiB after the run"
          f"  ({worker_before:.1f} MiB before it; VmRSS now {worker_now:.1f} MiB)")
    print(f"  workflow executions of the cycle  {len(found)}"
          f"  (the run {run['WorkflowId']} in {run_executions}, continued as new {run_executions - 1} times)")
    print(f"  largest history, events  {most_events.events:6d}  {most_events.workflow_id} ({most_events.run_id})")
    print(f"  largest history, bytes   {most_bytes.size_bytes:6d}  {most_bytes.workflow_id} ({most_bytes.run_id})")


if __name__ == "__main__":
    main()
