from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import PartnerClaims
from api.dependencies import TEMPORAL_TIMEOUT, CurrentAccount, Db, Temporal, found, release
from api.errors import COMMON, ApiError, responses
from connectors import Problem
from connectors.dates import parse_datetime
from runtime.settings import TASK_QUEUE, settings
from store import cycles, releases, runs, templates, text
from store.tables import ConnectorRelease, Cycle, Run, Template
from workflows.cycle import CycleWorkflow, cycle_attributes
from workflows.messages import CycleInput, StopRequest

router = APIRouter(prefix="/v1.0/cycles", tags=["cycles"], responses=responses(*COMMON))
TEMPORAL_ERRORS = responses(409, 503)

MAX_INTERVAL_MINUTES = 366 * 24 * 60  # a year
SHORTEST_INTERVAL_MINUTES = 1 / 60  # with CYCLEWRIGHT_ALLOW_SHORT_INTERVALS: a second
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_START_YEARS = 5


class ActivateIn(BaseModel):
    StartTime: Annotated[str, StringConstraints(max_length=64)] | None = None
    Interval: float | None = None
    RunOnce: bool = False


class CycleStepOut(BaseModel):
    Id: str
    TemplateStepId: str
    Name: str
    Type: str
    AccountConnectorId: str | None
    ConnectorId: str | None = Field(default=None, description="the connector the step calls "
                                                              "(GET /v1.0/connectors/{id}/authentication: what installing it needs)")
    ReleaseId: str | None = Field(description="the connector release the step calls")
    WebhookUrl: str | None = Field(default=None, description="a Webhook step's URL: POST events to it")


class CycleOut(BaseModel):
    Id: str
    Name: str
    Status: Literal["Paused", "Active", "Stopping", "Stopped", "Errored"]
    StatusReason: str | None = Field(description="why the cycle paused or errored by itself (a StopCycle step, a "
                                                 "webhook subscription that failed, a run that could not start)")
    TemplateId: str
    TemplateVersion: int = Field(description="the template version the cycle was installed from")
    UpdateAvailable: bool = Field(description="the template has a newer version than the cycle's")
    ConnectorUpdateAvailable: bool = Field(
        description="a step is on a Deprecated connector release: POST …/upgrade moves it to the Live one")
    AccountId: str
    StartTime: datetime | None
    Interval: float | None = Field(description="minutes between runs")
    RunOnce: bool
    WorkflowId: str = Field(description="the cycle's workflow in the Temporal Web UI")
    Steps: list[CycleStepOut]


class PrerequisiteOut(BaseModel):
    StepId: str
    Reason: Literal["ConnectorNotInstalled", "NotAuthenticated", "MissingProperty", "MissingMapping",
                    "MissingVariable", "InvalidPattern"]
    Message: str
    ConnectorId: str | None = Field(description="the connector to install or authenticate")
    AccountConnectorId: str | None = Field(description="the account connector to authenticate or complete")
    Property: str | None = Field(description="MissingProperty: the account connector property")
    Variable: str | None = Field(description="MissingVariable, InvalidPattern: the variable to set")
    # Last: the class body's name Field is pydantic's until here.
    Field: str | None = Field(description="MissingMapping: the field or parameter to map (PUT …/fieldmappings/{field})")


class RunOut(BaseModel):
    Id: str
    Number: int
    Status: Literal["Running", "Succeeded", "Failed", "Cancelled"]
    StartedAt: datetime
    FinishedAt: datetime | None
    Transactions: dict[Literal["Success", "Errored", "Stopped"], int]
    Message: str | None
    Warnings: list[str]
    WorkflowId: str


def view(db: Db, cycle: Cycle) -> CycleOut:
    latest = db.get(Template, cycle.template_id).version
    return CycleOut(
        TemplateVersion=cycle.template_version, UpdateAvailable=latest > cycle.template_version,
        ConnectorUpdateAvailable=bool(releases.moves(db, [cycle.id])),
        Id=cycle.id, Name=cycle.name, Status=cycle.status, StatusReason=cycle.status_reason, TemplateId=cycle.template_id,
        AccountId=cycle.account_id, StartTime=cycle.start_time, Interval=cycle.interval_minutes,
        RunOnce=cycle.run_once, WorkflowId=workflow_id(cycle.id),
        Steps=[CycleStepOut(Id=s.id, TemplateStepId=s.template_step_id, Name=s.name, Type=s.type,
                            AccountConnectorId=s.account_connector_id, ReleaseId=s.release_id,
                            ConnectorId=db.get(ConnectorRelease, s.release_id).connector_id if s.release_id else None,
                            WebhookUrl=settings().webhook_url(s.webhook_id) if s.webhook_id else None)
               for s in cycles.steps(db, cycle.id)],
    )


def workflow_id(cycle_id: str) -> str:
    return f"cycle-{cycle_id}"


def get_cycle(db: Db, account_id: str, cycle_id: str) -> Cycle:
    return found(db, Cycle, cycle_id, "cycle", account_id=account_id)


async def running_workflow(client: Client, cycle_id: str) -> WorkflowHandle | None:
    handle = client.get_workflow_handle(workflow_id(cycle_id))
    try:
        description = await handle.describe(rpc_timeout=TEMPORAL_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return handle if description.status == WorkflowExecutionStatus.RUNNING else None


async def still_active(db: Db, client: Client, cycle: Cycle) -> bool:
    """True while the cycle's workflow runs; waits out one that has stopped but not yet returned
    (it records Stopped just before it ends). A cycle whose workflow is gone (terminated in the
    Web UI, say) is recorded as Stopped."""
    await release(db)  # no pooled connection held while Temporal answers
    handle = await running_workflow(client, cycle.id)
    if handle is not None and cycle.status == "Stopped":
        await asyncio.wait_for(handle.result(), timeout=30)
        handle = None
    if handle is None:
        await run_in_threadpool(runs.reconcile_stopped, db, cycle)
    return handle is not None


def fresh_view(db: Db, cycle: Cycle) -> CycleOut:
    """The cycle as stored now (its workflow may have written its status meanwhile)."""
    db.refresh(cycle)
    return view(db, cycle)


@router.get("", summary="List the account's cycles")
def list_cycles(account: CurrentAccount, db: Db) -> list[CycleOut]:
    rows = db.exec(select(Cycle).where(Cycle.account_id == account.id).order_by(Cycle.created_at))
    return [view(db, c) for c in rows]


@router.get("/{cycle_id}", summary="Read a cycle")
def get_one(cycle_id: str, account: CurrentAccount, db: Db) -> CycleOut:
    return view(db, get_cycle(db, account.id, cycle_id))


@router.get("/{cycle_id}/prerequisites", summary="What the cycle still needs before it can be activated")
def prerequisites(cycle_id: str, account: CurrentAccount, db: Db) -> list[PrerequisiteOut]:
    cycle = get_cycle(db, account.id, cycle_id)
    return [PrerequisiteOut(StepId=p.step_id, Reason=p.reason, Message=p.message, ConnectorId=p.connector_id,
                            AccountConnectorId=p.account_connector_id, Property=p.property, Field=p.field,
                            Variable=p.variable)
            for p in cycles.prerequisites(db, cycle)]


def _start_time(text: str, problems: list[Problem]) -> datetime | None:
    try:
        start = parse_datetime(text)
    except ValueError:
        problems.append(Problem("$.StartTime", f"'{text}' is not an ISO 8601 date and time"))
        return None
    latest = datetime.now(UTC) + timedelta(days=365 * LATEST_START_YEARS)
    if not EARLIEST_START <= start <= latest:
        problems.append(Problem("$.StartTime", f"the StartTime must be between {EARLIEST_START.year} and "
                                               f"{LATEST_START_YEARS} years from now"))
    return start


def _interval(interval: float | None, run_once: bool, problems: list[Problem]) -> None:
    shortest = SHORTEST_INTERVAL_MINUTES if settings().allow_short_intervals else 1
    if interval is None:
        if not run_once:
            problems.append(Problem("$.Interval", "an Interval (minutes) is needed unless RunOnce is true"))
    elif not math.isfinite(interval) or not shortest <= interval <= MAX_INTERVAL_MINUTES:
        problems.append(Problem("$.Interval", f"the Interval must be a number of minutes from {shortest:g} "
                                              f"to {MAX_INTERVAL_MINUTES} (a year); {interval} is not"))


def _schedule(body: ActivateIn, webhook: bool, allowed: list[float] | None) -> tuple[datetime | None, float | None]:
    """A webhook-driven cycle runs when events arrive: it needs no Interval. `allowed`: the
    Intervals its template offers (its `Intervals`), None for any."""
    problems: list[Problem] = []
    start = _start_time(body.StartTime, problems) if body.StartTime is not None else None
    if not webhook:
        _interval(body.Interval, body.RunOnce, problems)
        if allowed and body.Interval is not None and body.Interval not in allowed:
            problems.append(Problem("$.Interval", f"its template runs every {' or '.join(f'{i:g}' for i in allowed)}"
                                                  f" minutes; {body.Interval:g} is not one of them"))
    if problems:
        raise ApiError(422, "The activation is invalid.", problems)
    return start, body.Interval


def _allowed_intervals(db: Db, cycle: Cycle) -> list[float] | None:
    template = db.get(Template, cycle.template_id)
    return template.document.get("Intervals") if template is not None else None


def _ready_cycle(db: Db, account_id: str, cycle_id: str) -> Cycle:
    """The cycle, if it has everything it needs to run."""
    cycle = get_cycle(db, account_id, cycle_id)
    unmet = cycles.prerequisites(db, cycle)
    if unmet:
        raise ApiError(422, "The cycle cannot be activated yet.",
                       [Problem(f"steps/{p.step_id}", f"{p.reason}: {p.message}") for p in unmet])
    return cycle


def _schedule_cycle(db: Db, cycle: Cycle, start: datetime | None, interval: float | None,
                    run_once: bool, webhook: bool) -> CycleInput:
    """Store the schedule; the workflow input that runs it."""
    cycle.start_time, cycle.interval_minutes, cycle.run_once = start, interval, run_once
    db.commit()
    last = db.exec(select(Run.number).where(Run.cycle_id == cycle.id).order_by(Run.number.desc())).first()
    return CycleInput(
        cycle_id=cycle.id, account_id=cycle.account_id, template_id=cycle.template_id, start_time=start,
        interval_seconds=interval * 60 if interval else None, run_once=run_once, webhook=webhook,
        batch_size=settings().batch_size, next_run_number=(last or 0) + 1,
    )


@router.put("/{cycle_id}/activate", summary="Start the cycle: once, at a time, on an interval, or on events",
            responses={**TEMPORAL_ERRORS, **responses(502)})
async def activate(cycle_id: str, body: ActivateIn, account: CurrentAccount, db: Db, client: Temporal) -> CycleOut:
    """Start the cycle's workflow. The cycle is Active in the database only once that workflow
    exists: the API notes it after the start, and the workflow itself records its status."""
    cycle = await run_in_threadpool(_ready_cycle, db, account.id, cycle_id)
    webhook = await run_in_threadpool(cycles.is_webhook_driven, db, cycle.id)
    start, interval = _schedule(body, webhook, await run_in_threadpool(_allowed_intervals, db, cycle))
    if await still_active(db, client, cycle):
        return await run_in_threadpool(view, db, cycle)  # already active: activation is idempotent
    input = await run_in_threadpool(_schedule_cycle, db, cycle, start, interval, body.RunOnce, webhook)
    try:
        handle = await client.start_workflow(
            CycleWorkflow.run, input, id=workflow_id(cycle.id), task_queue=TASK_QUEUE,
            search_attributes=cycle_attributes(input, "Active"), static_summary=f"Cycle {cycle.name}",
            rpc_timeout=TEMPORAL_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        pass  # a concurrent activation won: still one workflow, which records its own status
    else:
        await run_in_threadpool(runs.claim_active, db, cycle.id, handle.first_execution_run_id)
        if webhook:
            await _subscribed(db, handle, cycle)
    return await run_in_threadpool(fresh_view, db, cycle)


async def _subscribed(db: Db, handle: WorkflowHandle, cycle: Cycle) -> None:
    """A webhook cycle answers once its subscriptions are made; 502 with the reason when one
    failed (the cycle is then Errored, not active)."""
    try:
        await handle.execute_update(CycleWorkflow.ready, rpc_timeout=TEMPORAL_TIMEOUT)
    except (WorkflowUpdateFailedError, RPCError):
        pass  # it ended before answering: what it recorded says why
    await run_in_threadpool(db.refresh, cycle)
    if cycle.status == "Errored":
        raise ApiError(502, cycle.status_reason or "the cycle could not start")


async def _steer(db: Db, client: Client, cycle: Cycle, update, *args) -> CycleOut:
    """Send an Update to the cycle's workflow; the cycle as it is once the workflow took it."""
    await release(db)  # no pooled connection held while Temporal answers
    handle = await running_workflow(client, cycle.id)
    if handle is None:
        await run_in_threadpool(runs.reconcile_stopped, db, cycle)
        raise ApiError(409, f"the cycle is {cycle.status}, not active")
    try:
        await handle.execute_update(update, *args)
    except WorkflowUpdateFailedError as err:
        raise ApiError(409, str(err.cause.message if err.cause else err)) from None
    return await run_in_threadpool(fresh_view, db, cycle)  # the workflow wrote its status already


@router.put("/{cycle_id}/deactivate", summary="Stop the cycle (finishing its queued transactions by default)",
            responses=TEMPORAL_ERRORS)
async def deactivate(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal,
                     finishQueuedTransactions: bool = True) -> CycleOut:
    cycle = await run_in_threadpool(get_cycle, db, account.id, cycle_id)
    if not await still_active(db, client, cycle):
        return await run_in_threadpool(view, db, cycle)  # nothing runs: deactivating is a no-op
    return await _steer(db, client, cycle, CycleWorkflow.stop,
                        StopRequest(finish_current=finishQueuedTransactions))


@router.put("/{cycle_id}/pause", summary="Pause an active cycle",
            responses=TEMPORAL_ERRORS)
async def pause(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> CycleOut:
    return await _steer(db, client, await run_in_threadpool(get_cycle, db, account.id, cycle_id), CycleWorkflow.pause)


@router.put("/{cycle_id}/resume", summary="Resume a paused cycle",
            responses=TEMPORAL_ERRORS)
async def resume(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> CycleOut:
    return await _steer(db, client, await run_in_threadpool(get_cycle, db, account.id, cycle_id), CycleWorkflow.resume)


@router.post("/{cycle_id}/run", summary="Run an active cycle now",
             responses=TEMPORAL_ERRORS)
async def run_now(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> CycleOut:
    return await _steer(db, client, await run_in_threadpool(get_cycle, db, account.id, cycle_id), CycleWorkflow.run_now)


@router.delete("/{cycle_id}", status_code=204, responses={**TEMPORAL_ERRORS, **responses(409)},
               summary="Delete a stopped cycle, with its runs, transactions, variables and storage")
async def delete_cycle(cycle_id: str, account: CurrentAccount, db: Db, client: Temporal) -> None:
    """409 while the cycle is active or paused (its workflow runs): deactivate it first. Its
    workflows' histories stay in Temporal until its retention removes them."""
    cycle = await run_in_threadpool(get_cycle, db, account.id, cycle_id)
    if await still_active(db, client, cycle):
        raise ApiError(409, f"the cycle is {cycle.status}: deactivate it before deleting it")
    await run_in_threadpool(cycles.delete, db, cycle)


@router.get("/{cycle_id}/runs", summary="The cycle's runs and their transaction counts")
def list_runs(cycle_id: str, account: CurrentAccount, db: Db) -> list[RunOut]:
    cycle = get_cycle(db, account.id, cycle_id)
    rows = db.exec(select(Run).where(Run.cycle_id == cycle.id).order_by(Run.number))
    return [
        RunOut(Id=r.id, Number=r.number, Status=r.status, StartedAt=r.started_at, FinishedAt=r.finished_at,
               Transactions={"Success": r.succeeded, "Errored": r.errored, "Stopped": r.stopped},
               Message=r.message, Warnings=r.warnings, WorkflowId=r.workflow_id)
        for r in rows
    ]


class TemplateFromCycleIn(BaseModel):
    Name: text.Name | None = Field(default=None, description="the new template's name; the cycle's by default")


class TemplateFromCycleOut(BaseModel):
    Id: str
    Name: str
    Version: int


@router.post("/{cycle_id}/template", status_code=201, summary="Copy the cycle as a new template (partner token)")
def copy_as_template(cycle_id: str, _: PartnerClaims, account: CurrentAccount, db: Db,
                     body: TemplateFromCycleIn | None = None) -> TemplateFromCycleOut:
    """The cycle's template version, with the cycle's current field mappings, as a new template."""
    template = templates.from_cycle(db, get_cycle(db, account.id, cycle_id), (body or TemplateFromCycleIn()).Name)
    return TemplateFromCycleOut(Id=template.id, Name=template.name, Version=template.version)
