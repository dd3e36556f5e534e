"""Acceptance (issue 3, points 4 and 5): 429s, server errors and timeouts are retried by
Temporal and every record arrives; a 400 fails its transaction once, with the upstream message."""

from __future__ import annotations

import httpx
from temporalio.api.enums.v1 import EventType

from tests.walkthrough import catalog_document, install_demo_cycle
from workflows import names


async def sent_to(demo_url: str, prefix: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{demo_url}/admin/requests", params={"prefix": prefix})).json()


async def batch_attempts(temporal, cycle_id: str) -> list[tuple[float, int, str]]:
    """For each run_step activity: seconds from scheduled to the last start, its attempt, last failure."""
    history = await temporal.client.get_workflow_handle(f"cycle-{cycle_id}-run-1").fetch_history()
    scheduled, found = {}, []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            if event.activity_task_scheduled_event_attributes.activity_type.name == names.RUN_STEP:
                scheduled[event.event_id] = event.event_time.ToDatetime()
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in scheduled:
                waited = (event.event_time.ToDatetime() - scheduled[started.scheduled_event_id]).total_seconds()
                found.append((waited, started.attempt, started.last_failure.message))
    return found


async def test_429_with_retry_after_is_a_temporal_retry_delay(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=5)
    await cycle.demo("faults", status=429, count=1, headers={"Retry-After": "2"}, message="slow down")
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 5, "Errored": 0, "Stopped": 0}
    ((waited, attempt, failure),) = await batch_attempts(temporal, cycle.cycle_id)
    assert attempt == 2 and "429" in failure
    assert waited >= 2  # Temporal held the retry back (no worker slot) for Retry-After
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == stats["distinct_emails"] == 5


async def test_server_errors_and_timeouts_are_retried_until_they_succeed(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.demo("faults", status=500, count=1)
    await cycle.demo("faults", status=503, count=1)
    await cycle.demo("faults", status=504, count=1, delay=3)  # longer than the 2 s client timeout
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 3, "Errored": 0, "Stopped": 0}
    ((_, attempt, failure),) = await batch_attempts(temporal, cycle.cycle_id)
    assert attempt == 2 and failure  # the three calls failed together, then were retried
    assert len(await sent_to(demo.url, "/leads")) == 6
    stats = await cycle.demo_stats()
    assert stats["leads_created"] == stats["distinct_emails"] == 3


async def test_a_400_fails_its_transaction_once_with_the_upstream_message(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.demo("faults", status=400, count=1, message="email is not valid")
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 2, "Errored": 1, "Stopped": 0}
    (errored,) = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                    params={"status": "Errored"})).json()
    assert "HTTP 400" in errored["Message"] and "email is not valid" in errored["Message"]
    assert "Create lead" in errored["Message"] and "Demo Leads" in errored["Message"]
    assert len(await sent_to(demo.url, "/leads")) == 3  # the 400 was not retried


async def test_a_value_that_does_not_convert_errors_its_transaction_naming_the_field(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    scored = catalog_document("connectors", "demo-leads.json")
    scored["Name"] = "Scored Leads"
    scored["Methods"][0]["RequestFormat"]["Fields"].append(
        {"ConnectorField": "score", "SystemField": "Score", "DataType": "Integer"})
    connector = (await api.post("/v1.0/connectors", json=scored)).json()["Id"]
    await cycle.call("POST", "/v1.0/account/connectors", json={
        "ConnectorId": connector, "AuthValue": "demo-leads-token",
        "Properties": [{"Name": "BaseUrl", "Value": demo.url}]})
    template = catalog_document("templates", "crm-contacts-to-leads.json")
    template["Name"], template["Steps"][1]["Connector"] = "Scored leads", "Scored Leads"
    template["Steps"][1]["FieldMappings"][2:] = [  # Source, which the template leaves to the account, set here
        {"Field": "Score", "MappingType": "StaticValue", "Value": "high"},
        {"Field": "Source", "MappingType": "StaticValue", "Value": "crm"}]
    template_id = (await api.post("/v1.0/templates", json=template)).json()["Id"]
    cycle.cycle = (await cycle.call("POST", f"/v1.0/templates/{template_id}/install", json={})).json()
    await cycle.activate(RunOnce=True)
    (run,) = await cycle.wait_for_runs(1)
    assert run["Transactions"] == {"Success": 0, "Errored": 2, "Stopped": 0}
    errored = (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}/transactions",
                                    params={"status": "Errored"})).json()
    assert all("field 'Score': a value is not a valid Integer" in t["Message"] for t in errored)
    assert len(await sent_to(demo.url, "/leads")) == 0  # nothing was sent
