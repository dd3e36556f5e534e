"""Retention: the worker's Schedule deletes runs, transactions and plans past their account's
retention period, and keeps everything else."""

from __future__ import annotations

import asyncio

from sqlmodel import func, select
from temporalio.client import ScheduleActionStartWorkflow, ScheduleHandle, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from runtime.schedules import RETENTION_SCHEDULE, ensure_retention_schedule
from runtime.settings import TASK_QUEUE
from store.database import session
from store.tables import Plan, Run, Transaction
from tests.walkthrough import eventually, install_demo_cycle


def stored(run_id: str, plan_id: str) -> tuple[bool, int, bool]:
    """Whether the run's row, how many of its transactions, and whether its plan are in the database."""
    with session() as db:
        transactions = db.exec(select(func.count()).where(Transaction.run_id == run_id)).one()
        return db.get(Run, run_id) is not None, transactions, db.get(Plan, plan_id) is not None


def plan_of(run_id: str) -> str:
    with session() as db:
        return db.get(Run, run_id).plan_id


async def test_schedule_purges_runs_past_the_account_retention(api, demo, temporal, worker):
    brief = await install_demo_cycle(api, demo.url, contacts=5)
    await brief.activate(RunOnce=True)
    (first,) = await brief.wait_for_runs(1)
    default = await install_demo_cycle(api, demo.url, contacts=3)
    await default.activate(RunOnce=True)
    (other,) = await default.wait_for_runs(1)
    expired, kept = ((r["Id"], plan_of(r["Id"])) for r in (first, other))
    assert stored(*expired) == (True, 5, True) and stored(*kept) == (True, 3, True)

    response = await api.put(f"/v1.0/accounts/{brief.account_id}", json={"RetentionDays": 1e-6})  # 86 ms
    assert response.status_code == 200 and response.json()["RetentionDays"] == 1e-6, response.text

    schedule = temporal.client.get_schedule_handle(RETENTION_SCHEDULE)
    action = (await schedule.describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "RetentionWorkflow"

    async def purged() -> bool:
        # The plan goes last, after the run (a plan is deleted once no run uses it).
        if stored(*expired)[2]:
            await schedule.trigger()  # skipped while the previous purge still runs
            return False
        return True

    await eventually(purged, "the retention schedule to purge the run")
    assert stored(*expired) == (False, 0, False)
    assert stored(*kept) == (True, 3, True)  # the default retention (31 days) keeps it
    assert [r["Id"] for r in await brief.runs()] == []


async def test_schedule_is_made_once_by_workers_starting_together(temporal, worker):
    schedule = temporal.client.get_schedule_handle(RETENTION_SCHEDULE)
    await eventually(lambda: _exists(schedule), "the worker to create the schedule")
    await schedule.delete()
    await asyncio.gather(*(ensure_retention_schedule(temporal.client) for _ in range(3)))
    await ensure_retention_schedule(temporal.client)  # a worker restarting finds it
    described = (await schedule.describe()).schedule
    assert described.action.task_queue == TASK_QUEUE
    assert [i.every.total_seconds() for i in described.spec.intervals] == [3600]
    assert described.policy.overlap == ScheduleOverlapPolicy.SKIP


async def _exists(schedule: ScheduleHandle) -> bool:
    try:
        await schedule.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True


async def test_retention_days_of_an_account(api):
    response = await api.post("/v1.0/accounts", json={"Name": "Kept", "RetentionDays": 7.5})
    assert response.status_code == 201 and response.json()["RetentionDays"] == 7.5
    account = response.json()["Id"]
    for bad in (b"0", b"-1", b"3651", b"NaN", b"Infinity", b'"30"', b"true"):
        for method, path in (("POST", "/v1.0/accounts"), ("PUT", f"/v1.0/accounts/{account}")):
            response = await api.request(method, path, content=b'{"Name": "X", "RetentionDays": %s}' % bad,
                                         headers={"Content-Type": "application/json"})
            assert response.status_code == 422, (method, bad, response.text)
            assert [e["Path"] for e in response.json()["Errors"]] == ["$.RetentionDays"], response.text

    response = await api.put(f"/v1.0/accounts/{account}", json={"Timezone": "Europe/Paris"})
    assert response.json()["RetentionDays"] == 7.5 and response.json()["Timezone"] == "Europe/Paris"
    response = await api.put(f"/v1.0/accounts/{account}", json={"RetentionDays": None})  # the server's default
    assert response.status_code == 200 and response.json()["RetentionDays"] is None
    assert (await api.get(f"/v1.0/accounts/{account}")).json() == response.json()
    response = await api.put(f"/v1.0/accounts/{account}", json={"Name": None})
    assert response.status_code == 422 and response.json()["Errors"][0]["Path"] == "$.Name"
    assert (await api.put("/v1.0/accounts/nope", json={"RetentionDays": 1})).status_code == 404

    scoped = (await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "test-client",
                                                   "client_secret": "test-secret", "scope": f"account:{account}"})).json()
    headers = {"Authorization": f"Bearer {scoped['access_token']}"}
    response = await api.put(f"/v1.0/accounts/{account}", json={"RetentionDays": 3650}, headers=headers)
    assert response.status_code == 403 and response.json()["Message"]

