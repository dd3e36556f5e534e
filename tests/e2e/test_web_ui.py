"""Acceptance: an operator reads runs in Temporal without decoding payloads — a failed run is
Failed with its reason, activities are named by step, and runs with errors are found by query."""

from __future__ import annotations

import json
import subprocess

from temporalio.api.enums.v1 import EventType

from tests.conftest import TEMPORAL_BIN
from tests.walkthrough import eventually, install_demo_cycle


def temporal_cli(temporal, *args: str) -> object:
    """The `temporal` CLI, as an operator runs it, against the test server; its JSON output."""
    address = temporal.client.service_client.config.target_host
    command = [TEMPORAL_BIN, *args, "--address", address, "--output", "json"]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout or "null")


async def test_a_failed_run_is_failed_in_temporal_with_its_reason(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=5)
    await cycle.demo("faults", path="/crm", status=403, count=100, message="this account is suspended")
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1, status="Failed")
    assert "List contacts" in run["Message"] and "HTTP 403" in run["Message"]

    described = temporal_cli(temporal, "workflow", "describe", "--workflow-id", run["WorkflowId"])
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_FAILED"
    failure = described["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"]
    assert "List contacts" in failure["message"] and "this account is suspended" in failure["message"]
    attributes = (await temporal.client.get_workflow_handle(run["WorkflowId"]).describe()).typed_search_attributes
    assert {p.key.name: p.value for p in attributes}["RunStatus"] == "Failed"
    await cycle.wait_for_status("Stopped")  # a failed run ends the run, not the cycle


async def test_activities_are_named_by_step_connector_method_and_range(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=25)  # three ranges of ten
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    history = await temporal.client.get_workflow_handle(run["WorkflowId"]).fetch_history()
    summaries = {json.loads(e.user_metadata.summary.data) for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and e.user_metadata.summary.data}
    assert "List contacts · Demo CRM list-contacts · records from 1" in summaries
    assert {"Create lead · Demo Leads create-lead · transactions 1–10",
            "Create lead · Demo Leads create-lead · transactions 11–20",
            "Create lead · Demo Leads create-lead · transactions 21–25"} <= summaries


async def test_runs_with_errored_transactions_are_found_by_query(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=6)
    await cycle.demo("faults", status=400, count=2, message="rejected")
    await cycle.activate(Interval=1 / 60)
    runs = await cycle.wait_for_runs(3)
    await cycle.deactivate()
    await cycle.wait_for_status("Stopped")
    runs = await cycle.runs()
    with_errors = {r["WorkflowId"] for r in runs if r["Transactions"]["Errored"]}
    assert with_errors == {runs[0]["WorkflowId"]}  # the two faults hit the first run only

    query = f'AccountId="{cycle.account_id}" AND ErroredTransactions > 0'

    async def found() -> set[str] | None:
        listed = {w["execution"]["workflowId"] for w in temporal_cli(temporal, "workflow", "list", "--query", query)}
        return listed if listed == with_errors else None

    assert await eventually(found, "the visibility store to catch up") == with_errors
    statuses = {w.id: {p.key.name: p.value for p in w.typed_search_attributes}
                async for w in temporal.client.list_workflows(f'AccountId="{cycle.account_id}"')}
    cycle_attributes = statuses.pop(f"cycle-{cycle.cycle_id}")
    assert "CycleStatus" in cycle_attributes and "RunStatus" not in cycle_attributes
    assert all(a["RunStatus"] == "Succeeded" and "CycleStatus" not in a for a in statuses.values())
