"""Acceptance: RunOnce, StartTime, run now, and pause/resume/stop while a run is in progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from store.database import session
from store.tables import AccountConnector, CycleStep, Run, Transaction, Variable
from tests.walkthrough import eventually, install_demo_cycle
from workflows.run import RunWorkflow


async def test_run_once_runs_exactly_once(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=5)
    await cycle.activate(RunOnce=True)
    await cycle.wait_for_status("Stopped")
    assert await temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}").result() == "Stopped"
    runs = await cycle.runs()
    assert [r["Status"] for r in runs] == ["Succeeded"]
    assert (await cycle.demo_stats())["leads_created"] == 5


async def test_future_start_time_is_honoured(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    await cycle.activate(StartTime=start.isoformat().replace("+00:00", "Z"), RunOnce=True)
    assert (await cycle.runs()) == []  # nothing before the start time
    (run,) = await cycle.wait_for_runs(1)
    assert datetime.fromisoformat(run["StartedAt"]).replace(tzinfo=UTC) >= start


async def test_run_now_runs_without_waiting_for_the_schedule(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=2)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await cycle.activate(StartTime=tomorrow, Interval=60)
    response = await cycle.call("POST", f"/v1.0/cycles/{cycle.cycle_id}/run")
    assert response.status_code == 200, response.text
    await cycle.wait_for_runs(1)
    await cycle.deactivate()
    await cycle.wait_for_status("Stopped")


async def _run_in_progress(cycle) -> None:
    """Activate with the target holding requests: the first batch waits at the demo API."""
    await cycle.demo("hold")
    await cycle.activate(Interval=60)
    await eventually(lambda: _waiting(cycle), "a batch in flight")


async def _waiting(cycle) -> bool:
    return (await cycle.demo_stats())["waiting"] > 0


async def test_pause_and_resume_while_a_run_is_in_progress(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=100)  # ten ranges of ten
    await _run_in_progress(cycle)
    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/pause")
    assert response.status_code == 200 and response.json()["Status"] == "Paused"
    await cycle.demo("release")

    run = temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}-run-1")

    async def held() -> bool:
        return (await run.query(RunWorkflow.state))["waiting_while_paused"]

    await eventually(held, "the run to wait while paused")
    created = (await cycle.demo_stats())["leads_created"]
    assert 0 < created < 100 and created % 10 == 0  # the ranges in flight finished; no more started

    response = await cycle.call("PUT", f"/v1.0/cycles/{cycle.cycle_id}/resume")
    assert response.status_code == 200 and response.json()["Status"] == "Active"
    (finished,) = await cycle.wait_for_runs(1)
    assert finished["Transactions"]["Success"] == 100
    await cycle.deactivate()
    await cycle.wait_for_status("Stopped")


async def test_stop_cancels_the_run_in_progress(api, demo, temporal):
    cycle = await install_demo_cycle(api, demo.url, contacts=30)
    await _run_in_progress(cycle)
    response = await cycle.deactivate(finish=False)
    assert response.status_code == 200 and response.json()["Status"] == "Stopped"
    await cycle.demo("release")
    await cycle.wait_for_runs(1, status="Cancelled")
    assert await temporal.client.get_workflow_handle(f"cycle-{cycle.cycle_id}").result() == "Stopped"


async def test_stop_finishing_the_run_in_progress(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=30)
    await _run_in_progress(cycle)
    response = await cycle.deactivate(finish=True)
    assert response.status_code == 200 and response.json()["Status"] == "Stopping"
    await cycle.demo("release")
    await cycle.wait_for_status("Stopped")
    (run,) = await cycle.runs()
    assert run["Status"] == "Succeeded" and run["Transactions"]["Success"] == 30


async def test_a_stopped_cycle_can_be_activated_again(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    await cycle.activate(RunOnce=True)
    await cycle.wait_for_runs(1)
    await cycle.wait_for_status("Stopped")
    response = await cycle.activate(RunOnce=True)  # at once: the old workflow may not have returned
    assert response.status_code == 200 and response.json()["Status"] == "Active"
    runs = await cycle.wait_for_runs(2)
    assert [r["Number"] for r in runs] == [1, 2]
    assert (await cycle.demo_stats())["leads_created"] == 6


def _rows_of(cycle_id: str, account_id: str) -> dict[str, int]:
    with session() as db:
        count = lambda table, column, value: db.exec(select(func.count()).select_from(table).where(column == value)).one()
        return {"transactions": count(Transaction, Transaction.cycle_id, cycle_id),
                "runs": count(Run, Run.cycle_id, cycle_id), "steps": count(CycleStep, CycleStep.cycle_id, cycle_id),
                "variables": count(Variable, Variable.owner_id, cycle_id) + count(Variable, Variable.owner_id, account_id),
                "account connectors": count(AccountConnector, AccountConnector.account_id, account_id)}


async def test_a_stopped_cycle_is_deleted_with_its_records_and_then_its_template_and_account_can_be(api, demo):
    cycle = await install_demo_cycle(api, demo.url, contacts=3)
    for path in (f"/v1.0/cycles/{cycle.cycle_id}/variables/Region", "/v1.0/account/variables/Owner"):
        assert (await cycle.call("PUT", path, json={"Value": "x"})).status_code == 200
    await cycle.activate(Interval=60)
    await cycle.wait_for_runs(1)
    refused = await cycle.call("DELETE", f"/v1.0/cycles/{cycle.cycle_id}")
    assert refused.status_code == 409 and "deactivate it before deleting it" in refused.json()["Message"]
    in_use = await api.delete(f"/v1.0/accounts/{cycle.account_id}")
    assert in_use.status_code == 409 and "DELETE /v1.0/cycles/{id}" in in_use.json()["Message"]
    assert _rows_of(cycle.cycle_id, cycle.account_id) == {
        "transactions": 3, "runs": 1, "steps": 2, "variables": 2, "account connectors": 2}
    crm, _leads = (c["Id"] for c in (await cycle.call("GET", "/v1.0/account/connectors")).json())
    bound = await cycle.call("DELETE", f"/v1.0/account/connectors/{crm}")
    assert bound.status_code == 409 and bound.json()["Errors"][0]["Path"] == f"cycles/{cycle.cycle_id}"
    template = f"/v1.0/templates/{cycle.cycle['TemplateId']}"
    installed_from = await api.delete(template)
    assert installed_from.status_code == 409 and installed_from.json()["Errors"][0]["Path"] == f"cycles/{cycle.cycle_id}"

    await cycle.deactivate()
    await cycle.wait_for_status("Stopped")
    assert (await cycle.call("DELETE", f"/v1.0/cycles/{cycle.cycle_id}")).status_code == 204
    assert (await cycle.call("GET", f"/v1.0/cycles/{cycle.cycle_id}")).status_code == 404
    assert (await cycle.call("DELETE", f"/v1.0/cycles/{cycle.cycle_id}")).status_code == 404
    assert _rows_of(cycle.cycle_id, cycle.account_id) == {
        "transactions": 0, "runs": 0, "steps": 0, "variables": 1, "account connectors": 2}
    assert (await cycle.call("DELETE", f"/v1.0/account/connectors/{crm}")).status_code == 204
    assert (await api.delete(template)).status_code == 204
    assert (await api.get(template)).status_code == 404
    assert (await cycle.call("GET", f"/v1.0/account/connectors/{crm}")).status_code == 404

    # The account goes with its other account connector and variables (their foreign keys refuse a bare delete).
    assert (await api.delete(f"/v1.0/accounts/{cycle.account_id}")).status_code == 204
    assert (await api.get(f"/v1.0/accounts/{cycle.account_id}")).status_code == 404
    # at once, though the API found the account just before (it remembers one found: api/dependencies.py)
    assert (await cycle.call("GET", "/v1.0/account/variables")).status_code == 404
    assert _rows_of(cycle.cycle_id, cycle.account_id) == {
        "transactions": 0, "runs": 0, "steps": 0, "variables": 0, "account connectors": 0}
