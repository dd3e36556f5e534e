"""Acceptance: records are data, not history — a marker in the source records is found in no
workflow history and no heartbeat of the run, though it went through both steps."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowExecutionStatus

from tests.walkthrough import eventually, install_demo_cycle


async def test_no_record_reaches_a_workflow_history_or_heartbeat(api, demo, temporal):
    marker = f"MARKER-{uuid.uuid4().hex}"
    cycle = await install_demo_cycle(api, demo.url, contacts=300)
    await cycle.demo("reset", contacts=300, notes=marker)
    lead_step = next(s["Id"] for s in cycle.cycle["Steps"] if s["TemplateStepId"] == "lead")
    response = await cycle.call("PUT", f"/v1.0/steps/{lead_step}/fieldmappings/Name",
                                json={"MappingType": "StepField", "SourceStep": "contacts", "SourceField": "Notes"})
    assert response.status_code == 200, response.text
    await cycle.demo("hold")
    await cycle.activate(RunOnce=True)
    await eventually(lambda: _waiting(cycle), "calls held at the leads service")
    run = temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}-run-1")

    async def heartbeats() -> list[bytes]:
        pending = (await run.describe()).raw_description.pending_activities
        return [p.SerializeToString() for p in pending if p.HasField("heartbeat_details")]

    in_flight = await eventually(heartbeats, "a step activity that has heartbeated")
    assert not any(marker.encode() in details for details in in_flight)
    await cycle.demo("release")
    (finished,) = await cycle.wait_for_runs(1)
    assert finished["Transactions"]["Success"] == 300

    # The marker did travel: it is in the store and reached the leads service …
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == 300
    listed = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions", params={"per_page": 1})).json()
    detail = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions/{listed[0]['Id']}")).json()
    assert detail["Records"]["contacts"]["Notes"] == marker
    # … and no history of any workflow of the cycle (every continued-as-new run included) holds it.
    executions = [w async for w in temporal.client.list_workflows(f'CycleId="{cycle.cycle_id}"')]
    assert len(executions) > 2  # the cycle, and a run that continued as new at least once
    for execution in executions:
        handle = temporal.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        assert marker not in history.to_json(), f"{execution.id} ({execution.run_id}) holds a record"
    await eventually(lambda: _closed(temporal, cycle.cycle_id), "the cycle workflow to end")


async def _waiting(cycle) -> bool:
    return (await cycle.demo_stats())["waiting"] > 0


async def _closed(temporal, cycle_id: str) -> bool:
    description = await temporal.client.get_workflow_handle(f"cycle-{cycle_id}").describe()
    return description.status == WorkflowExecutionStatus.COMPLETED
