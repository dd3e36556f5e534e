"""Acceptance: a worker killed mid-run is replaced, and every record arrives exactly once."""

from __future__ import annotations

from tests.conftest import Process
from tests.walkthrough import eventually, install_demo_cycle


async def test_sigkill_mid_run_loses_and_duplicates_nothing(api, demo, worker):
    cycle = await install_demo_cycle(api, demo.url, contacts=50)
    await cycle.demo("hold")
    await cycle.activate(RunOnce=True)

    async def batch_in_flight() -> bool:
        return (await cycle.demo_stats())["waiting"] > 0

    await eventually(batch_in_flight, "a batch in flight")
    worker["process"].kill()  # SIGKILL: no goodbye, the in-flight batch's replies are lost
    await cycle.demo("release")
    worker["process"] = Process("worker.py")

    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 50, "Errored": 0, "Stopped": 0}
    stats = await cycle.demo_stats()
    assert stats["lead_requests"] > 50  # the lost batch was sent again…
    assert stats["leads_created"] == stats["distinct_emails"] == 50  # …and created nothing twice
