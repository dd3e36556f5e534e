from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.dependencies import CurrentAccount, Db, Temporal
from api.errors import ApiError, not_found
from connectors import Problem
from runtime.settings import TASK_QUEUE, settings
from store import cycles
from store.tables import Cycle, Run, Transaction
from workflows.cycle import CycleWorkflow, search_attributes
from workflows.messages import CycleInput, StopRequest

router = APIRouter(prefix="/v1.0/cycles", tags=["cycles"])


class ActivateIn(BaseModel):
    StartTime: str | None = None
    Interval: float | None = None
    RunOnce: bool = False


def view(db: Db, cycle: Cycle) -> dict:
    return {
        "Id": cycle.id, "Name": cycle.name, "Status": cycle.status, "TemplateId": cycle.template_id,
        "AccountId": cycle.account_id, "StartTime": cycle.start_time, "Interval": cycle.interval_minutes,
        "RunOnce": cycle.run_once, "WorkflowId": workflow_id(cycle.id),
        "Steps": [{"Id": s.id, "TemplateStepId": s.template_step_id, "Name": s.name, "Type": s.type,
                   "AccountConnectorId": s.account_connector_id} for s in cycles.steps(db, cycle.id)],
    }


def workflow_id(cycle_id: str) -> str:
    return f"cycle-{cycle_id}"


def get_cycle(db: Db, account_id: str, cycle_id: str) -> Cycle:
    cycle = db.get(Cycle, cycle_id)
    if cycle is None or cycle.account_id != account_id:
        raise not_found("cycle", cycle_id)
    return cycle


async def running_workflow(client: Client, cycle_id: str) -> WorkflowHandle | None:
    handle = client.get_workflow_handle(workflow_id(cycle_id))
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return handle if description.status == WorkflowExecutionStatus.RUNNING else None


async def _still_active(client: Client, cycle: Cycle) -> bool:
    """True while the cycle's workflow runs; waits out one that has stopped but not yet returned
    (it records Stopped just before it ends)."""
    handle = await running_workflow(client, cycle.id)
    if handle is None:
        return False
    if cycle.status != "Stopped":
        return True
    await asyncio.wait_for(handle.result(), timeout=30)
    return False


@router.get("")
def list_cycles(account: CurrentAccount, db: Db) -> list[dict]:
    rows = db.exec(select(Cycle).where(Cycle.account_id == account.id).order_by(Cycle.created_at))
    return [view(db, c) for c in rows]


@router.get("/{cycle_id}")
def get_one(cycle_id: str, account: CurrentAccount, db: Db) -> dict:
    return view(db, get_cycle(db, account.id, cycle_id))


@router.get("/{cycle_id}/prerequisites")
def prerequisites(cycle_id: str, account: CurrentAccount, db: Db) -> list[dict]:
    cycle = get_cycle(db, account.id, cycle_id)
    return [{"StepId": p.step_id, "Type": p.kind, "Message": p.message}
            for p in cycles.prerequisites(db, cycle)]


def _schedule(body: ActivateIn) -> tuple[datetime | None, float | None]:
    problems = []
    start = None
    if body.StartTime is not None:
        try:
            start = datetime.fromisoformat(body.StartTime)
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
        except ValueError:
            problems.append(Problem("$.StartTime", f"'{body.StartTime}' is not an ISO 8601 date and time"))
    interval = body.Interval
    if interval is None and not body.RunOnce:
        problems.append(Problem("$.Interval", "an Interval (minutes) is needed unless RunOnce is true"))
    elif interval is not None and interval <= 0:
        problems.append(Problem("$.Interval", "the Interval must be more than 0 minutes"))
    elif interval is not None and interval < 1 and not settings().allow_short_intervals:
        problems.append(Problem("$.Interval", "the Interval must be at least 1 minute"))
    if problems:
        raise ApiError(422, "The activation is invalid.", problems)
    return start, interval


@router.put("/{cycle_id}/activate")
async def activate(cycle_id: str, body: ActivateIn, account: CurrentAccount, db: Db, client: Temporal) -> dict:
    cycle = get_cycle(db, account.id, cycle_id)
    start, interval = _schedule(body)
    unmet = cycles.prerequisites(db, cycle)
    if unmet:
        raise ApiError(422, "The cycle cannot be activated yet.",
                       [Problem(f"steps/{p.step_id}", p.message) for p in unmet])
    if await _still_active(client, cycle):
        return view(db, cycle)  # already active: activation is idempotent
    previous = cycle.status
    cycle.start_time, cycle.interval_minutes, cycle.run_once = start, interval, body.RunOnce
    cycle.status = "Active"  # before the workflow starts, so its own status writes come after
    db.commit()
    runs = db.exec(select(Run.number).where(Run.cycle_id == cycle.id).order_by(Run.number.desc())).first()
    input = CycleInput(
        cycle_id=cycle.id, account_id=cycle.account_id, template_id=cycle.template_id, start_time=start,
        interval_seconds=interval * 60 if interval else None, run_once=body.RunOnce,
        batch_size=settings().batch_size,
        next_run_number=(runs or 0) + 1,
    )
    try:
        await client.start_workflow(
            CycleWorkflow.run, input, id=workflow_id(cycle.id), task_queue=TASK_QUEUE,
            search_attributes=search_attributes(input, "Active"),
        )
    except WorkflowAlreadyStartedError:
        pass  # a concurrent activation won: still one workflow
    except RPCError as err:
        cycle.status = previous
        db.commit()
        raise ApiError(503, f"Temporal is unavailable: {err.message}") from None
    return view(db, cycle)


async def _steer(db: Db, client: Client, cycle: Cycle, update, *args) -> dict:
    """Send an Update to the cycle's workflow; the cycle as it is once the workflow took it."""
    handle = await running_workflow(client, cycle.id)
    if handle is None:
        raise ApiError(409, f"the cycle is {cycle.status}, not active")
    try:
        await handle.execute_update(update, *args)
    except WorkflowUpdateFailedError as err:
        raise ApiError(409, str(err.cause.message if err.cause else err)) from None
    db.refresh(cycle)  # the workflow records its status before the Update returns
    return view(db, cycle)


@router.put("/{cycle_id}/deactivate")
async def deactivate(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal,
                     finishQueuedTransactions: bool = True) -> dict:
    cycle = get_cycle(db, account.id, cycle_id)
    if not await _still_active(client, cycle):
        return view(db, cycle)  # nothing runs: deactivating is a no-op
    return await _steer(db, client, cycle, CycleWorkflow.stop,
                        StopRequest(finish_current=finishQueuedTransactions))


@router.put("/{cycle_id}/pause")
async def pause(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> dict:
    return await _steer(db, client, get_cycle(db, account.id, cycle_id), CycleWorkflow.pause)


@router.put("/{cycle_id}/resume")
async def resume(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> dict:
    return await _steer(db, client, get_cycle(db, account.id, cycle_id), CycleWorkflow.resume)


@router.post("/{cycle_id}/run")
async def run_now(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> dict:
    return await _steer(db, client, get_cycle(db, account.id, cycle_id), CycleWorkflow.run_now)


@router.get("/{cycle_id}/runs")
def list_runs(cycle_id: str, account: CurrentAccount, db: Db) -> list[dict]:
    cycle = get_cycle(db, account.id, cycle_id)
    rows = db.exec(select(Run).where(Run.cycle_id == cycle.id).order_by(Run.number))
    return [
        {"Id": r.id, "Number": r.number, "Status": r.status, "StartedAt": r.started_at,
         "FinishedAt": r.finished_at, "Transactions": {"Success": r.succeeded, "Errored": r.errored},
         "Message": r.message, "Warnings": r.warnings, "WorkflowId": r.workflow_id}
        for r in rows
    ]


@router.get("/{cycle_id}/transactions")
def list_transactions(cycle_id: str, account: CurrentAccount, db: Db, status: str | None = None) -> list[dict]:
    cycle = get_cycle(db, account.id, cycle_id)
    query = select(Transaction).where(Transaction.cycle_id == cycle.id).order_by(Transaction.created_at)
    if status:
        query = query.where(Transaction.status == status)
    return [{"Id": t.id, "RunId": t.run_id, "Key": t.key, "Status": t.status, "StepId": t.step_id,
             "Message": t.message, "CreatedAt": t.created_at} for t in db.exec(query)]
