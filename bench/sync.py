"""Records/s through a real cycle run vs plain asyncio scripts (aiohttp, httpx), in one process run.

    .venv/bin/python bench/sync.py [--records 5000] [--concurrency 10] [--repeat 3]

Starts its own Temporal dev server, demo APIs, worker and API (free ports, temporary data
folder), moves N contacts from the demo CRM to the demo leads service both ways (both read
the CRM in pages of the connector's size, 500), checks that each delivered exactly N leads,
and prints the wall times and the cycle's ratio against the fastest plain script (bench/plain.py:
on aiohttp, the worker's own HTTP client) and against the httpx one: the medians of `--repeat`
interleaved runs, since this 2-core machine's speed drifts from one minute to the next. Also
the CPU each spent per record (the worker process's, the plain script's own), which a busy
machine moves less than wall times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import httpx
from plain import CLIENTS, fastest, run, sync_contacts
from stack import CRM_PAGE_SIZE, finished, pid, reset_demo, running_stack_processes

from runtime.catalog import install_demo


def delivered(demo: str) -> int:
    stats = httpx.get(f"{demo}/admin/stats").json()
    assert stats["leads_created"] == stats["distinct_emails"], stats
    return stats["leads_created"]


def cpu_seconds(process_id: int) -> float:
    """User and system CPU a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{process_id}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def through_cycle(api: httpx.Client, demo: str) -> float:
    account, cycle = install_demo(api, demo, account_name=f"bench {time.time_ns()}")
    headers = {"X-Account-Id": account}
    started = time.perf_counter()
    api.put(f"/cycles/{cycle}/activate", headers=headers, json={"RunOnce": True}).raise_for_status()
    asyncio.run(finished(f"cycle-{cycle}"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight to the leads service")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each")
    args = parser.parse_args()
    os.environ["CYCLEWRIGHT_STEP_CONCURRENCY"] = str(args.concurrency)
    runs: dict[str, list[float]] = {"cycle": [], **{kind: [] for kind in CLIENTS}}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    with running_stack_processes() as (api, demo, stack):
        worker = pid(stack, "worker")
        for _ in range(args.repeat):
            for name, times in runs.items():
                reset_demo(demo, args.records)
                if name == "cycle":
                    used = cpu_seconds(worker)
                    times.append(through_cycle(api, demo))
                    cpu[name].append(cpu_seconds(worker) - used)
                else:
                    used = time.process_time()
                    times.append(run(sync_contacts(name, demo, args.concurrency, CRM_PAGE_SIZE)))
                    cpu[name].append(time.process_time() - used)
                assert delivered(demo) == args.records
    n, median = args.records, {name: statistics.median(times) for name, times in runs.items()}
    print(f"\n{n} records, concurrency {args.concurrency}, median of {args.repeat} interleaved runs")
    cpu_ms = {name: 1000 * statistics.median(times) / n for name, times in cpu.items()}
    for name, label in (("cycle", "cycle run"), *((kind, f"plain script ({kind})") for kind in CLIENTS)):
        print(f"  {label:24s} {median[name]:7.2f} s  {n / median[name]:6.0f} records/s   "
              f"({', '.join(f'{s:.2f}' for s in runs[name])});  CPU {cpu_ms[name]:.2f} ms a record"
              f"{' (the worker)' if name == 'cycle' else ''}")
    best, best_seconds = fastest({kind: median[kind] for kind in CLIENTS})
    print(f"  ratio (cycle / fastest plain, {best})  {median['cycle'] / best_seconds:.2f};"
          f"  CPU a record, worker / {best}  {cpu_ms['cycle'] / cpu_ms[best]:.2f}")
    print(f"  ratio (cycle / plain httpx)          {median['cycle'] / median['httpx']:.2f}")


if __name__ == "__main__":
    main()
