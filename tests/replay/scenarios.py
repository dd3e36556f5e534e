"""The scenarios `python -m tests.replay.record` records (see tests/replay/record.py).

Each drives the real stack as the e2e tests do (their fixtures: a Temporal dev server that
suggests continue-as-new early, the worker and API processes, the demo APIs), checks that what
it is named after happened (a pause, a continue-as-new, a StopCycle, a retry), and writes every
history it made to tests/replay/histories/<release>/<scenario>-<role>.json. The file is not
named test_*.py: the normal test run does not collect it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib.metadata import version

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory

from runtime.schedules import RETENTION_SCHEDULE
from tests.e2e.test_on_demand import installed
from tests.e2e.test_on_error import refuse, template
from tests.e2e.test_openapi_import import PETSTORE
from tests.e2e.test_tool_calls import TOOL_CALLS
from tests.e2e.test_webhooks import SUBSCRIBED_TEMPLATE, leads, post_events, webhook_url
from tests.replay.recorded import HISTORIES
from tests.templating import contacts_trigger, create_lead, field, histories, install_template
from tests.walkthrough import Installed, eventually, import_openapi, install_demo_cycle
from workflows import names

RELEASE = os.environ.get("CYCLEWRIGHT_REPLAY_RELEASE", version("cyclewright"))
ONE_SECOND = 1 / 60  # an Interval, in minutes


async def test_interval_cycle(api, demo, temporal):
    """An interval cycle paused, resumed and run now, that continues as new, then stops."""
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    assert (await cycle.activate(Interval=ONE_SECOND)).status_code == 200
    await cycle.wait_for_runs(1)
    for action in ("pause", "resume"):
        response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/{action}")
        assert response.status_code == 200, response.text
    assert (await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")).status_code == 200
    workflow_id = f"cycle-{cycle.cycle_id}"
    await eventually(lambda: _continued(temporal.client, workflow_id), "the cycle to continue as new", 300)
    await _stop(cycle)
    await _save(temporal.client, "interval-cycle", workflow_id, updates=["pause", "resume", "run_now", "stop"],
                continued=True)
    await _save(temporal.client, "interval-cycle-run", f"{workflow_id}-run-1")


async def test_long_run(api, demo, temporal):
    """A run long enough to continue as new mid-run, handing on its progress."""
    cycle = await install_demo_cycle(api, demo.url, contacts=200)
    assert (await cycle.activate(RunOnce=True)).status_code == 200
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"]["Success"] == 200
    await _save(temporal.client, "long-run", run["WorkflowId"], continued=True)


async def test_webhook_cycle(api, demo, temporal):
    """A subscribed webhook cycle: events taken by a run, the cycle's timer looking for events it
    was not woken for, then a stop while a run is in progress (it takes no more events)."""
    cycle = await install_template(api, demo.url, SUBSCRIBED_TEMPLATE)
    assert (await cycle.activate()).status_code == 200
    assert await post_events(webhook_url(cycle), 3) == [202] * 3
    await cycle.wait_for_runs(1)
    workflow_id = f"cycle-{cycle.cycle_id}"
    await eventually(lambda: _has_activity(temporal.client, workflow_id, names.PENDING_EVENTS),
                     "the cycle to look for events on its timer", 120)
    await cycle.demo("hold")
    assert await post_events(webhook_url(cycle), 2, start=3) == [202] * 2
    await eventually(lambda: _held(cycle), "a run to be in progress")
    response = await cycle.deactivate(finish=True)
    assert response.status_code == 200, response.text
    await cycle.demo("release")
    await cycle.wait_for_status("Stopped")
    assert await leads(cycle) == 5
    first, *_, stopped = await _runs(cycle)
    await _save(temporal.client, "webhook-cycle", workflow_id, signals=["events_arrived"],
                updates=["ready", "stop"])
    await _save(temporal.client, "webhook-cycle-run", first)
    await _save(temporal.client, "webhook-cycle-stopped-run", stopped, signals=["take_no_more"])


async def test_delay_and_stop_cycle(api, demo, temporal):
    """A run-once cycle whose run has a Delay and a StopCycle step that fails: the cycle pauses;
    resumed, it runs once more and stops."""
    steps = [contacts_trigger("lead"), create_lead(field("contacts", "Email"), OnError="StopCycle", Next="wait"),
             {"Id": "wait", "Type": "Delay", "Seconds": 1}]
    cycle = await install_template(api, demo.url, {"Name": "Delay and StopCycle", "Steps": steps}, contacts=3)
    await refuse(cycle, 2, times=1)
    assert (await cycle.activate(RunOnce=True)).status_code == 200
    await cycle.wait_for_status("Paused")
    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/resume")
    assert response.status_code == 200, response.text
    await cycle.wait_for_status("Stopped")
    assert [r["Status"] for r in await cycle.runs()] == ["Cancelled", "Succeeded"]
    workflow_id = f"cycle-{cycle.cycle_id}"
    await _save(temporal.client, "stop-cycle", workflow_id, signals=["pause_for"], updates=["resume"])
    await _save(temporal.client, "stop-cycle-run", f"{workflow_id}-run-1", timers=1, signals_sent=["pause_for"])
    await _save(temporal.client, "stop-cycle-run-again", f"{workflow_id}-run-2", timers=1)


async def test_transaction_retry(api, demo, temporal):
    """A step with OnError Retry that errors after its tries, then that transaction retried
    through the API once the upstream is fixed."""
    cycle = await install_template(api, demo.url, template("Retry, then retry by hand", "Retry"), contacts=3)
    await refuse(cycle, 2)
    assert (await cycle.activate(RunOnce=True)).status_code == 200
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 2, "Errored": 1, "Stopped": 0}
    async with httpx.AsyncClient() as client:
        (await client.delete(f"{demo.url}/admin/faults")).raise_for_status()
    base = f"/v1.0/cycles/{cycle.cycle_id}/transactions"
    (errored,) = (await cycle.call("GET", base, params={"status": "Errored"})).json()
    response = await cycle.call("POST", f"{base}/{errored['Id']}/retry")
    assert response.status_code == 202, response.text
    retry_id = response.json()["WorkflowId"]
    assert await temporal.client.get_workflow_handle(retry_id).result() == "Success"
    await _save(temporal.client, "retry-run", f"cycle-{cycle.cycle_id}-run-1", timers=2)
    await _save(temporal.client, "transaction-retry", retry_id)


async def test_retention(api, demo, temporal):
    """One retention pass started by the worker's Schedule, with a run to delete."""
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    assert (await cycle.activate(RunOnce=True)).status_code == 200
    await cycle.wait_for_runs(1)
    response = await api.put(f"/v1.0/accounts/{cycle.account_id}", json={"RetentionDays": 1e-6})
    assert response.status_code == 200, response.text
    before = {e.id async for e in temporal.client.list_workflows("WorkflowType = 'RetentionWorkflow'")}
    await temporal.client.get_schedule_handle(RETENTION_SCHEDULE).trigger()

    async def started() -> str | None:
        found = [e.id async for e in temporal.client.list_workflows("WorkflowType = 'RetentionWorkflow'")]
        return next((i for i in found if i not in before), None)

    workflow_id = await eventually(started, "the schedule to start a retention pass")
    counts = await temporal.client.get_workflow_handle(workflow_id).result()
    assert counts["runs"] >= 1, counts
    await _save(temporal.client, "retention", workflow_id)


async def test_openapi_import(api, temporal):
    """An OpenAPI document imported in the background."""
    job = await import_openapi(api, PETSTORE.read_bytes(), "application/yaml")
    assert job["Status"] == "Succeeded", job
    await _save(temporal.client, "openapi-import", f"import-{job['Id']}")


async def test_tool_calls(api, demo, temporal):
    """Agents' writes: one sent at once; one held for approval, approved, then sent; one whose
    approval expired (nothing sent)."""
    cycle = await install_demo_cycle(api, demo.url, contacts=1)
    leads = await installed(cycle, "Demo Leads")
    write = {"Connector": leads, "Method": "create-lead", "Tool": "create_lead", "WaitSeconds": 0,
             "Arguments": {"Fields": {"Email": "ada@example.com", "Source": "agent"}}}
    sent = (await cycle.call("POST", TOOL_CALLS, json=write | {"Key": "at-once"})).json()
    held = (await cycle.call("POST", TOOL_CALLS, json=write | {"Key": "approved", "Approval": True})).json()
    expiring = (await cycle.call("POST", TOOL_CALLS, json=write | {"Key": "expired", "Approval": True,
                                                                    "ApprovalTimeoutSeconds": 1})).json()
    workflow = f"tool-call/{cycle.account_id}/"
    await eventually(lambda: _has_timer(temporal.client, workflow + held["Id"]), "the approval's wait")
    response = await cycle.call("POST", f"{TOOL_CALLS}/{held['Id']}/approve")
    assert response.status_code == 200, response.text
    for call, status in ((sent, "Completed"), (held, "Completed"), (expiring, "Expired")):
        assert await temporal.client.get_workflow_handle(workflow + call["Id"]).result() == status
    await _save(temporal.client, "tool-call", workflow + sent["Id"])
    await _save(temporal.client, "tool-call-approved", workflow + held["Id"], updates=["decide"], timers=1)
    await _save(temporal.client, "tool-call-expired", workflow + expiring["Id"], timers=1)


async def _has_timer(client: Client, workflow_id: str) -> bool:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)


async def _stop(cycle: Installed) -> None:
    response = await cycle.deactivate(finish=True)
    assert response.status_code == 200, response.text
    await cycle.wait_for_status("Stopped")


async def _held(cycle: Installed) -> bool:
    return (await cycle.demo_stats())["waiting"] > 0


async def _runs(cycle: Installed) -> list[str]:
    """The workflow ids of the cycle's runs, by number."""
    return [r["WorkflowId"] for r in sorted(await cycle.runs(), key=lambda r: r["Number"])]


async def _histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every history of the workflow id, oldest first, once the last has closed."""
    try:
        await client.get_workflow_handle(workflow_id).result()
    except WorkflowFailureError:
        pass  # a failed run is a history like any other
    return await histories(client, workflow_id)


def _started(history: WorkflowHistory):
    return history.events[0].workflow_execution_started_event_attributes


async def _continued(client: Client, workflow_id: str) -> bool:
    return bool(_started(await client.get_workflow_handle(workflow_id).fetch_history()).continued_execution_run_id)


async def _has_activity(client: Client, workflow_id: str, activity: str) -> bool:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return any(e.activity_task_scheduled_event_attributes.activity_type.name == activity for e in history.events)


async def _save(client: Client, name: str, workflow_id: str, *, updates: Sequence[str] = (),
                continued: bool = False, timers: int = 0, signals: Sequence[str] = (),
                signals_sent: Sequence[str] = ()) -> None:
    """Write each of the workflow's histories, after checking that together they hold the shapes
    named: Updates accepted, a continue-as-new, timers, signals received and sent."""
    recorded = await _histories(client, workflow_id)
    events = [e for h in recorded for e in h.events]
    accepted = {e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
                for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}
    received = {e.workflow_execution_signaled_event_attributes.signal_name for e in events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED}
    sent = {e.signal_external_workflow_execution_initiated_event_attributes.signal_name for e in events
            if e.event_type == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED}
    started_timers = sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events)
    assert set(updates) <= accepted, f"{name}: Updates {accepted}"
    assert not continued or len(recorded) > 1, f"{name}: no continue-as-new"
    assert started_timers >= timers, f"{name}: {started_timers} timers"
    assert set(signals) <= received, f"{name}: signals {received}"
    assert set(signals_sent) <= sent, f"{name}: signals sent {sent}"
    folder = HISTORIES / RELEASE
    folder.mkdir(parents=True, exist_ok=True)
    for number, history in enumerate(recorded, 1):
        stem = name if len(recorded) == 1 else f"{name}-{number}"
        (folder / f"{stem}.json").write_text(_one_event_a_line(history))


def _one_event_a_line(history: WorkflowHistory) -> str:
    """The history as Temporal writes it (WorkflowHistory.from_json reads it), an event a line."""
    events = (json.dumps(event, separators=(",", ":")) for event in history.to_json_dict()["events"])
    return '{"events": [\n' + ",\n".join(events) + "\n]}\n"
