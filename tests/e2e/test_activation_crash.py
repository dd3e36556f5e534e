"""Acceptance: the API process killed at random points during activation (a real process,
SIGKILL) leaves no cycle Active without a workflow, and activating again always works."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from tests.conftest import api_process, free_port
from tests.walkthrough import eventually, install_demo_cycle

MAX_KILLS = 30


async def _workflow_running(temporal, cycle_id: str) -> bool:
    try:
        description = await temporal.client.get_workflow_handle(f"cycle-{cycle_id}").describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return description.status == WorkflowExecutionStatus.RUNNING


async def test_killing_the_api_during_activation_leaves_no_ghost(api, demo, temporal):
    first = await install_demo_cycle(api, demo.url, contacts=1)
    template = first.cycle["TemplateId"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    schedule = {"StartTime": later, "Interval": 60}
    port = free_port()
    victim_url = f"http://127.0.0.1:{port}"

    async def new_cycle() -> str:
        response = await api.post(f"/v1.0/templates/{template}/install", headers=first.headers, json={})
        cycle_id = response.json()["Id"]
        lead = next(s["Id"] for s in response.json()["Steps"] if s["TemplateStepId"] == "lead")
        await api.put(f"/v1.0/steps/{lead}/fieldmappings/Source", headers=first.headers,
                      json={"MappingType": "StaticValue", "Value": "crm"})
        return cycle_id

    async def activate_and_kill(cycle_id: str, after: float | None) -> bool:
        """Activate through a fresh API process, SIGKILLed `after` seconds in (or, with `after`
        None, the moment Temporal has the cycle's workflow); True if it answered."""
        process = api_process(port, log="activation-api.log")
        async with httpx.AsyncClient(base_url=victim_url, headers=api.headers, timeout=30) as victim:
            await victim.get("/healthz")  # the connection is open: the request goes out at once
            request = asyncio.create_task(victim.put(f"/v1.0/cycles/{cycle_id}/activate",
                                                     headers=first.headers, json=schedule))
            if after is not None:
                await asyncio.sleep(after)  # a random point of the activation, not a synchronisation
            else:  # right after Temporal started the workflow, before the API has noted it
                while not request.done() and not await _workflow_running(temporal, cycle_id):
                    pass
            process.kill()
            try:
                return (await request).status_code == 200
            except httpx.TransportError:
                return False
            finally:
                process.stop()

    # How long one activation takes, so random kills land all through it.
    cycle_id = await new_cycle()
    process = api_process(port, log="activation-api.log")
    async with httpx.AsyncClient(base_url=victim_url, headers=api.headers, timeout=30) as victim:
        started = time.monotonic()
        response = await victim.put(f"/v1.0/cycles/{cycle_id}/activate", headers=first.headers, json=schedule)
        span = time.monotonic() - started
    process.stop()
    assert response.status_code == 200, response.text

    outcomes: Counter[str] = Counter()
    killed: list[str] = []
    while not (outcomes["no workflow"] and outcomes["workflow, no answer"]) and len(killed) < MAX_KILLS:
        cycle_id = await new_cycle()
        killed.append(cycle_id)
        # Kills at random points, and every other one the moment the workflow exists.
        answered = await activate_and_kill(cycle_id, random.uniform(0, span) if len(killed) % 2 else None)
        running = await _workflow_running(temporal, cycle_id)
        outcomes["answered" if answered else "workflow, no answer" if running else "no workflow"] += 1
        status = (await api.get(f"/v1.0/cycles/{cycle_id}", headers=first.headers)).json()["Status"]
        assert status != "Active" or running, f"cycle {cycle_id} is Active without a workflow"
        if running:  # the workflow records Active itself, whether or not the API lived to do it
            await eventually(lambda c=cycle_id: _status_is(api, first.headers, c, "Active"), "the cycle's own Active")
    # The race happened both ways: killed before Temporal heard of it, and after.
    assert outcomes["no workflow"] and outcomes["workflow, no answer"], outcomes

    for cycle_id in killed:  # activating again always works, and makes exactly one workflow
        response = await api.put(f"/v1.0/cycles/{cycle_id}/activate", headers=first.headers, json=schedule)
        assert response.status_code == 200 and response.json()["Status"] == "Active", response.text
        assert await _workflow_running(temporal, cycle_id)
        response = await api.put(f"/v1.0/cycles/{cycle_id}/deactivate", headers=first.headers,
                                 params={"finishQueuedTransactions": "false"})
        assert response.json()["Status"] == "Stopped"


async def _status_is(api, headers: dict, cycle_id: str, status: str) -> bool:
    return (await api.get(f"/v1.0/cycles/{cycle_id}", headers=headers)).json()["Status"] == status
