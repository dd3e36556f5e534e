"""The API under load: 50, 200 and 500 concurrent connections, each for a minute.

    .venv/bin/python bench/api_load.py [--users 50,200,500] [--seconds 60] [--accounts 8]

Starts its own stack (bench/stack.py: Temporal dev server, demo APIs, worker, API on free
ports), and for each level fresh accounts, each with an active webhook cycle (events become
leads at the demo leads service). Then locust (headless; bench/api_load_users.py) keeps that
many connections busy, without pause, with a mix of reads (a cycle, the cycles, runs, account
connectors), cycle-variable writes, webhook posts, a little bad input and token requests.

For each level it prints answers per second (all, and "served": every answer but 503), the
API process's CPU (its share of a core, and per answer: what a shared machine does not change),
p50/p99 and the longest wait, the status counts by kind, and afterwards how many acknowledged
writes are there: each variable answered 200 is read back, each event answered 202 must
become a lead. The acceptance of issue 15 is checked at the end: nothing but 2xx, 4xx for bad
input and 503 with Retry-After (each 503 is checked for it); no wait over 10 s; served/s at the most users at least 80 % of
that at the fewest; nothing acknowledged lost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from stack import cpu_seconds, pid, running_stack_processes

from runtime.catalog import load_catalog
from runtime.settings import settings

LONGEST_WAIT = 10.0  # seconds: no client may wait longer for an answer
KEEP = 0.8  # served/s at the most users, as a share of that at the fewest
EXPECTED = {"read": {200}, "write": {200}, "webhook": {202}, "bad input": {422}, "token": {200}}


@dataclass
class Level:
    users: int
    seconds: float
    answers: list[tuple[str, int, float, float, bool]]  # kind, status, started, waited, Retry-After
    lost_variables: int
    lost_events: int
    acknowledged: int
    api_cpu: float  # seconds of CPU the API process used during the level
    locust_cpu: float  # and the load generator
    load: float  # the machine's load average (1 min) at the end of the level

    @property
    def duration(self) -> float:
        return max(s + w for _, _, s, w, _ in self.answers) - min(s for _, _, s, _, _ in self.answers)

    def per_second(self, served_only: bool = False) -> float:
        return sum(1 for _, status, *_ in self.answers if not served_only or status not in (0, 503)) / self.duration

    def waits(self) -> list[float]:
        return sorted(w for _, _, _, w, _ in self.answers)

    def unexpected(self) -> Counter:
        """Answers other than the kind's own, 503 with Retry-After, and the bad input's 422."""
        return Counter((kind, status) for kind, status, _, _, retry_after in self.answers
                       if status not in EXPECTED[kind] and not (status == 503 and retry_after))


def set_up(api: httpx.Client, demo: str, accounts: int) -> list[dict]:
    """Fresh accounts, each with the demo leads connector and an active webhook cycle."""
    ids = load_catalog(api)
    targets = []
    for n in range(accounts):
        account = api.post("/accounts", json={"Name": f"load {time.time_ns()} {n}"}).raise_for_status().json()["Id"]
        headers = {"X-Account-Id": account}
        api.post("/account/connectors", headers=headers, json={
            "ConnectorId": ids["Demo Leads"], "AuthValue": "demo-leads-token",
            "Properties": [{"Name": "BaseUrl", "Value": demo}]}).raise_for_status()
        cycle = api.post(f"/templates/{ids['Webhook events to leads']}/install", headers=headers,
                         json={}).raise_for_status().json()
        until_answered(api, "PUT", f"/cycles/{cycle['Id']}/activate", headers=headers, json={})
        webhook = next(s["WebhookUrl"] for s in cycle["Steps"] if s["Type"] == "Webhook")
        targets.append({"account": account, "cycle": cycle["Id"], "webhook": webhook})
    return targets


def until_answered(api: httpx.Client, method: str, path: str, tries: int = 30, **options: Any) -> httpx.Response:
    """As a client should: a 503 is sent again after its Retry-After."""
    for _ in range(tries - 1):
        response = api.request(method, path, **options)
        if response.status_code != 503:
            return response.raise_for_status()
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return api.request(method, path, **options).raise_for_status()


def run_locust(api_url: str, token: str, targets: list[dict], users: int, seconds: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="api-load-"))
    config = settings()
    (folder / "setup.json").write_text(json.dumps({"token": token, "accounts": targets,
                                                    "client_id": config.client_id,
                                                    "client_secret": config.client_secret}))
    env = {**os.environ, "CYCLEWRIGHT_LOAD_SETUP": str(folder / "setup.json"),
           "CYCLEWRIGHT_LOAD_OUT": str(folder / "out.json")}
    locust = Path(sys.executable).parent / "locust"
    subprocess.run([str(locust), "-f", str(Path(__file__).parent / "api_load_users.py"), "--headless",
                    "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds:.0f}s",
                    "--host", api_url, "--stop-timeout", "70", "--only-summary", "--loglevel", "ERROR"],
                   env=env, check=False, stdout=subprocess.DEVNULL, stderr=(folder / "locust.log").open("w"))
    return json.loads((folder / "out.json").read_text())


def variables_lost(api: httpx.Client, written: list[list[str]]) -> int:
    by_cycle: dict[tuple[str, str], dict[str, str]] = {}
    for account, cycle, name, value in written:
        by_cycle.setdefault((account, cycle), {})[name] = value
    lost = 0
    for (account, cycle), expected in by_cycle.items():
        stored = {v["Name"]: v["Value"] for v in api.get(f"/cycles/{cycle}/variables",
                                                          headers={"X-Account-Id": account}).json()}
        lost += sum(1 for name, value in expected.items() if stored.get(name) != value)
    return lost


def events_lost(demo: str, emails: list[str], timeout: float = 900) -> int:
    """Acknowledged events that have not become leads once the worker has taken them all (or
    after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(f"{demo}/admin/stats", timeout=60).json()
        lost = sum(1 for email in emails if email not in stats["emails"])
        if lost == 0 or time.monotonic() > deadline:
            return lost
        time.sleep(1)


def _children_cpu() -> float:
    """CPU time of this process's finished children (the locust runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(api: httpx.Client, api_url: str, demo: str, api_pid: int, users: int, seconds: float,
            accounts: int) -> Level:
    targets = set_up(api, demo, accounts)
    token = api.headers["Authorization"].removeprefix("Bearer ")
    cpu, generator = cpu_seconds(api_pid), _children_cpu()
    out = run_locust(api_url, token, targets, users, seconds)
    cpu, generator, load = cpu_seconds(api_pid) - cpu, _children_cpu() - generator, os.getloadavg()[0]
    answers = [tuple(a) for a in out["answers"]]
    lost_variables = variables_lost(api, out["variables"])
    lost_events = events_lost(demo, out["events"])
    return Level(users, seconds, answers, lost_variables, lost_events, len(out["variables"]) + len(out["events"]),
                 cpu, generator, load)


def report(level: Level) -> None:
    waits = level.waits()
    statuses = Counter((kind, status) for kind, status, *_ in level.answers)
    print(f"\n{level.users} connections, {level.duration:.0f} s")
    print(f"  answers/s:        {level.per_second():,.0f} (served, not 503: {level.per_second(True):,.0f})")
    print(f"  API CPU:          {level.api_cpu / level.duration:.0%} of a core, "
          f"{level.api_cpu * 1000 / len(level.answers):.1f} ms an answer; locust {level.locust_cpu / level.duration:.0%} "
          f"of a core (machine load {level.load:.1f})")
    print(f"  wait p50/p99/max: {statistics.median(waits) * 1000:,.0f} ms / "
          f"{waits[int(len(waits) * 0.99)] * 1000:,.0f} ms / {waits[-1] * 1000:,.0f} ms")
    for kind in EXPECTED:
        counts = ", ".join(f"{status or 'no answer'}: {n:,}" for (k, status), n in sorted(statuses.items())
                           if k == kind)
        print(f"  {kind:<10} {counts}")
    print(f"  acknowledged writes: {level.acknowledged:,}; missing afterwards: variables "
          f"{level.lost_variables}, webhook events {level.lost_events}")


def verdict(levels: list[Level]) -> list[str]:
    """What fails the acceptance (empty when it holds)."""
    failures = []
    for level in levels:
        if unexpected := level.unexpected():
            failures.append(f"{level.users}: unexpected answers {dict(unexpected)}")
        if (longest := level.waits()[-1]) > LONGEST_WAIT:
            failures.append(f"{level.users}: a client waited {longest:.1f} s")
        if level.lost_variables or level.lost_events:
            failures.append(f"{level.users}: acknowledged writes missing")
    fewest, most = levels[0], levels[-1]
    ratio = most.per_second(True) / fewest.per_second(True)
    print(f"\nserved/s at {most.users} vs {fewest.users}: {ratio:.2f} (at least {KEEP:.2f})")
    if ratio < KEEP:
        failures.append(f"served/s at {most.users} is {ratio:.0%} of that at {fewest.users}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="50,200,500", help="concurrent connections, one level each")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=8, help="fresh accounts (each a webhook cycle) per level")
    args = parser.parse_args()
    levels = []
    with running_stack_processes() as (api, demo, stack):
        httpx.post(f"{demo}/admin/reset", json={"contacts": 0}).raise_for_status()
        api_url = str(api.base_url).removesuffix("/v1.0/").removesuffix("/v1.0")
        for users in (int(u) for u in args.users.split(",")):
            levels.append(measure(api, api_url, demo, pid(stack, "api"), users, args.seconds, args.accounts))
            report(levels[-1])
    failures = verdict(levels)
    print("acceptance: " + ("holds" if not failures else "FAILS: " + "; ".join(failures)))
    print("(on a machine shared with other work the figures vary; compare levels of one run)")


if __name__ == "__main__":
    main()
