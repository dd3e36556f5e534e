"""Acceptance: a worker SIGKILL, and separately a Temporal restart, in the middle of a step
against an endpoint without idempotency keys: every record is delivered, and the only
duplicates are calls that were in flight (at most the step concurrency)."""

from __future__ import annotations

from runtime.settings import settings
from tests.conftest import Process, partner_client
from tests.walkthrough import eventually, install_demo_cycle

CONCURRENCY = settings().step_concurrency


async def _held_calls(cycle) -> int:
    return (await cycle.demo_stats())["waiting"]


async def _delivered_once_but_in_flight(cycle, records: int) -> int:
    """Every record arrived; returns the duplicates, which must be no more than were in flight."""
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": records, "Errored": 0, "Stopped": 0}
    stats = await cycle.demo_stats()
    assert stats["distinct_emails"] == records
    duplicates = stats["leads_created"] - records
    assert 0 <= duplicates <= CONCURRENCY, stats
    return duplicates


async def test_worker_sigkill_mid_step_resends_only_the_calls_in_flight(api, demo, worker):
    cycle = await install_demo_cycle(api, demo.url, contacts=50, idempotent=False)
    await cycle.demo("hold")
    await cycle.activate(RunOnce=True)
    in_flight = await eventually(lambda: _held_calls(cycle), "calls in flight")
    worker["process"].kill()  # SIGKILL: no goodbye; the in-flight calls' outcomes are never written
    await cycle.demo("release")  # …yet the leads service goes on to create those leads
    worker["process"] = Process("worker.py")
    duplicates = await _delivered_once_but_in_flight(cycle, 50)
    assert duplicates > 0 and duplicates <= in_flight + CONCURRENCY  # the race happened, and was bounded


async def test_temporal_restart_mid_step_delivers_every_record(demo, private_stack):
    stack = private_stack()
    async with partner_client(stack.api_url) as api:
        cycle = await install_demo_cycle(api, demo.url, contacts=50, idempotent=False)
        await cycle.demo("hold")
        await cycle.activate(RunOnce=True)
        await eventually(lambda: _held_calls(cycle), "calls in flight")
        stack.kill_temporal()
        await cycle.demo("release")  # the calls complete while Temporal is down
        stack.start_temporal()  # same database file, same port
        await _delivered_once_but_in_flight(cycle, 50)
        await cycle.wait_for_status("Stopped")
