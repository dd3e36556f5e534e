"""Where the worker spends a sync run: a py-spy profile of the worker process during one cycle
run of bench/sync.py's kind, its samples grouped by what they do. With `--on-demand`, where
the API spends data-on-demand calls: the API process during bench/ondemand.py's calls.

    .venv/bin/python bench/profile.py [--records 5000] [--concurrency 10] [--rate 250] [--raw FILE]
    .venv/bin/python bench/profile.py --on-demand [--calls 2000] [--records 25] [--rate 500] [--raw FILE]

Starts its own stack (as bench/sync.py), records the worker with py-spy (the `bench` extra
installs it) from activation until the run-once cycle ends (or the API during `--calls`
sequential data-on-demand calls, after as many unrecorded), and prints each group's share of
the samples: self (the innermost frame that belongs to a group decides; standard-library
helpers such as `re` or `functools` count for their caller) and inclusive (a frame of the group
anywhere in the stack). Samples are the event loop thread's, idle ones included (waiting in
the selector: the worker has nothing to do), and those of other threads while they work (a
thread pool's threads waiting for work are left out). `--raw` keeps py-spy's collapsed stacks,
for a flame graph (`flamegraph.pl FILE`, or https://www.speedscope.app).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ondemand import on_demand_call
from stack import pid, reset_demo, running_stack_processes
from sync import delivered, through_cycle

# (group, pattern on a frame's file). The first group a frame matches is its group; a frame
# that matches none (the standard library's helpers) counts for its caller.
GROUPS: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(pattern)) for name, pattern in [
    ("idle (waiting in the selector)", r"^selectors\.py$"),  # on asyncio's own loop
    ("httpx request and response objects", r"(^|/)(httpx|httpcore|h11)/"),
    ("aiohttp and connectors/transport.py", r"(^|/)(aiohttp|yarl|multidict|propcache)/|connectors/transport\.py$"),
    ("socket I/O", r"(^|/)(asyncio/(selector_events|sslproto|streams)|socket|ssl)\.py$"),
    ("SQLite and SQLAlchemy (the store)", r"(^|/)(sqlalchemy|sqlmodel|sqlite3|psycopg|psycopg2)/|(^|/)store/"),
    ("OpenTelemetry and Prometheus", r"(^|/)(opentelemetry|prometheus_client)/|runtime/(metrics|telemetry)\.py$"),
    ("thread-pool hand-offs", r"(^|/)(concurrent/futures/|threading\.py$|queue\.py$|asyncio/threads\.py$)"),
    ("JSON and pydantic", r"(^|/)(json|pydantic|pydantic_core)/"),
    ("FastAPI, Starlette and uvicorn", r"(^|/)(fastapi|starlette|uvicorn|anyio)/"),
    ("the API's own code (api/)", r"(^|/)api/"),
    ("the Temporal SDK", r"(^|/)(temporalio|google/protobuf)/"),
    ("connector call logic (connectors/)", r"(^|/)connectors/"),
    ("activities and workflows", r"(^|/)(activities|workflows|runtime)/"),
    ("asyncio's event loop", r"(^|/)asyncio/"),
]]
OTHER = "other"
# The API runs on uvloop (uvicorn's): its loop is C code, so a sample whose innermost Python frame is the
# loop's runner is the loop waiting in epoll, or doing its own work (the two cannot be told apart).
IN_THE_LOOP = "the event loop (idle, or uvloop's own work)"
LOOP_RUNNER = re.compile(r"(^|/)(asyncio/runners\.py|uvloop/__init__\.py)$")
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):\d+\)$")
# A thread other than the event loop's that is waiting for work, not working.
WAITING = re.compile(r"(concurrent/futures/thread\.py|threading\.py|queue\.py)$")


def group_of(file: str) -> str | None:
    return next((name for name, pattern in GROUPS if pattern.search(file)), None)


def parse(raw: str) -> list[tuple[str, list[str], int]]:
    """py-spy's raw output as (thread, frames from the outermost, count)."""
    samples = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.split(";")
        samples.append((thread, [f for f in frames if FRAME.match(f)], int(count)))
    return samples


def counted(samples: list[tuple[str, list[str], int]]) -> list[tuple[list[str], int]]:
    """The samples that count: the event loop thread's, and other threads' while they work."""
    kept = []
    for thread, frames, count in samples:
        files = [FRAME.match(f)["file"] for f in frames]
        event_loop = "MainThread" in thread
        if not files or (not event_loop and (WAITING.search(files[-1]) or group_of(files[-1]) == GROUPS[0][0])):
            continue  # a thread waiting for work; a stack py-spy could not read
        kept.append((frames, count))
    return kept


def grouped(samples: list[tuple[list[str], int]]) -> tuple[Counter[str], Counter[str]]:
    """Self and inclusive samples by group."""
    own, inclusive = Counter[str](), Counter[str]()
    for frames, count in samples:
        files = [FRAME.match(f)["file"] for f in frames]
        groups = [group_of(file) for file in files]
        own[IN_THE_LOOP if LOOP_RUNNER.search(files[-1]) else next((g for g in reversed(groups) if g), OTHER)] += count
        for group in set(groups) - {None}:
            inclusive[group] += count
    return own, inclusive


def report(raw: str, process: str, top: int = 15) -> str:
    samples = counted(parse(raw))
    own, inclusive = grouped(samples)
    total = sum(count for _, count in samples)
    lines = [f"{total} samples of the {process} (event loop thread, and other threads while they work)",
             f"  {'group':44s} {'self':>7s} {'inclusive':>10s}"]
    for group, count in own.most_common():
        lines.append(f"  {group:44s} {100 * count / total:6.1f}% {100 * inclusive[group] / total:9.1f}%")
    innermost = Counter[str]()
    for frames, count in samples:
        innermost[frames[-1]] += count
    lines.append(f"  top {top} innermost frames:")
    lines += [f"    {100 * count / total:5.1f}%  {frame}" for frame, count in innermost.most_common(top)]
    return "\n".join(lines)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


def recording(process: int, rate: int, raw_file: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `process` (every thread, idle samples too) into `raw_file` until stopped."""
    return subprocess.Popen([py_spy(), "record", "--pid", str(process), "--rate", str(rate), "--format", "raw",
                             "--idle", "--threads", "--nonblocking", "--output", str(raw_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stopped(recorder: subprocess.Popen[bytes]) -> str:
    """Stop a recording; what py-spy said on the way."""
    recorder.send_signal(signal.SIGINT)
    return recorder.communicate(timeout=60)[1].decode(errors="replace")


def sync_run(args: argparse.Namespace, raw_file: Path) -> str:
    """The worker during one cycle run; its duration, and what py-spy said."""
    os.environ["CYCLEWRIGHT_STEP_CONCURRENCY"] = str(args.concurrency)
    with running_stack_processes() as (api, demo, stack):
        reset_demo(demo, args.records)
        # One run first, unrecorded: imports, caches and connections warm, as in a long-lived worker.
        through_cycle(api, demo)
        reset_demo(demo, args.records)
        recorder = recording(pid(stack, "worker"), args.rate, raw_file)
        try:
            seconds = through_cycle(api, demo)
        finally:
            errors = stopped(recorder)
        assert delivered(demo) == args.records
    print(f"\n{args.records} records, concurrency {args.concurrency}: the cycle run took {seconds:.2f} s")
    return errors


def on_demand_calls(args: argparse.Namespace, raw_file: Path) -> str:
    """The API during sequential data-on-demand calls; what py-spy said."""
    with running_stack_processes() as (api, demo, stack):
        on_demand = on_demand_call(api, demo, args.records)
        for _ in range(args.calls):  # unrecorded: imports, caches and connections warm
            on_demand()
        recorder = recording(pid(stack, "api"), args.rate, raw_file)
        try:
            started = time.perf_counter()
            for _ in range(args.calls):
                on_demand()
            seconds = time.perf_counter() - started
        finally:
            errors = stopped(recorder)
    print(f"\n{args.calls} data-on-demand calls of {args.records} records: {1000 * seconds / args.calls:.2f} ms each "
          f"(the client's time included; the API is idle while the client and the demo API work)")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--on-demand", action="store_true", help="the API during data-on-demand calls")
    parser.add_argument("--records", type=int, help="records to sync (5000), or of each call (25)")
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight to the leads service")
    parser.add_argument("--calls", type=int, default=2000, help="data-on-demand calls recorded")
    parser.add_argument("--rate", type=int, help="samples a second (250; 500 with --on-demand)")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks in this file")
    args = parser.parse_args()
    args.records = args.records or (25 if args.on_demand else 5000)
    args.rate = args.rate or (500 if args.on_demand else 250)
    process = "API" if args.on_demand else "worker"
    raw_file = args.raw or Path(tempfile.mkdtemp(prefix="cyclewright-profile-")) / f"{process.lower()}.txt"
    errors = on_demand_calls(args, raw_file) if args.on_demand else sync_run(args, raw_file)
    if not raw_file.exists():
        raise SystemExit(f"py-spy recorded nothing: {errors}")
    print(report(raw_file.read_text(), process))
    print(f"collapsed stacks: {raw_file}")


if __name__ == "__main__":
    main()
