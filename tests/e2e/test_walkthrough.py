"""Acceptance: the REST walkthrough moves every record, every run, until the cycle is stopped."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import TEMPORAL_BIN
from tests.walkthrough import eventually, install_demo_cycle


async def test_interval_cycle_delivers_every_record_once_per_run(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=20)
    prerequisites = await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/prerequisites")
    assert prerequisites.json() == []

    response = await cycle.activate(Interval=1 / 60, RunOnce=False)  # every second
    assert response.status_code == 200, response.text
    assert response.json()["Status"] == "Active"
    await cycle.wait_for_runs(2)

    response = await cycle.deactivate(finish=True)
    assert response.status_code == 200
    await cycle.wait_for_status("Stopped")

    handle = temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}")
    assert await handle.result() == "Stopped"  # the workflow has ended: no further run can start
    runs = await cycle.runs()
    assert runs and all(r["Status"] == "Succeeded" for r in runs)
    assert all(r["Transactions"] == {"Success": 20, "Errored": 0, "Stopped": 0} for r in runs)
    stats = await cycle.demo_stats()
    assert stats["distinct_emails"] == 20
    assert set(stats["emails"].values()) == {len(runs)}  # every record exactly once per run
    assert stats["leads_created"] == 20 * len(runs)


async def test_account_workflows_are_listed_by_search_attribute(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.activate(RunOnce=True)
    await cycle.wait_for_status("Stopped")

    address = temporal.client.service_client.config.target_host
    listing = await asyncio.create_subprocess_exec(
        TEMPORAL_BIN, "workflow", "list", "--address", address, "--query",
        f'AccountId="{cycle.account_id}"', "--output", "json", stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await listing.communicate()
    assert listing.returncode == 0
    ids = {w["execution"]["workflowId"] for w in json.loads(stdout)}
    assert ids == {f"cycle-{cycle.cycle_id}", f"cycle-{cycle.cycle_id}-run-1"}


async def test_a_long_lived_cycle_continues_as_new_without_losing_its_place(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    await cycle.activate(Interval=1 / 60)
    handle = temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}")
    first_run = (await handle.describe()).run_id

    async def continued() -> bool:
        return (await handle.describe()).run_id != first_run

    await eventually(continued, "the cycle workflow to continue as new")
    runs_before = len(await cycle.runs())
    await cycle.wait_for_runs(runs_before + 1)  # the schedule goes on in the new run
    await cycle.deactivate()
    await cycle.wait_for_status("Stopped")
    runs = await cycle.runs()
    assert [r["Number"] for r in runs] == list(range(1, len(runs) + 1))  # no gap, no repeat
    assert all(r["Status"] == "Succeeded" for r in runs)


async def test_no_secret_reaches_workflow_history(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.demo("faults", status=400, count=1, message="rejected")  # an error path too
    await cycle.activate(RunOnce=True)
    await cycle.wait_for_runs(1)
    for workflow_id in (f"cycle-{cycle.cycle_id}", f"cycle-{cycle.cycle_id}-run-1"):
        history = (await temporal.client.get_workflow_handle(workflow_id).fetch_history()).to_json()
        assert "demo-crm-key" not in history and "demo-leads-token" not in history
