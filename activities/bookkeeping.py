"""Run and cycle records in the database, written on the workflows' behalf."""

from __future__ import annotations

import asyncio
import dataclasses

from temporalio import activity

from store import runs
from store.database import session
from workflows.messages import CloseRun, Mapping, OpenRun, RunPlan, StatusChange, StepPlan


def _open_run(request: OpenRun) -> RunPlan:
    with session() as db:
        run = runs.open_run(db, request.cycle_id, request.number, request.workflow_id)
        return RunPlan(run_id=run.id, steps=[_plan(step, maps) for step, maps in runs.cycle_steps(db, request.cycle_id)])


def _plan(step, mappings) -> StepPlan:
    return StepPlan(
        id=step.id,
        template_step_id=step.template_step_id,
        name=step.name,
        type=step.type,
        connector=step.connector_name,
        method=step.method,
        account_connector_id=step.account_connector_id,
        release_id=step.release_id,
        next=step.next_step_id,
        on_error=step.on_error,
        last_successful_run_at=step.last_successful_run_at,
        mappings=[
            Mapping(m.field, m.mapping_type, m.value, m.source_step, m.source_field) for m in mappings
        ],
    )


@activity.defn
async def open_run(request: OpenRun) -> RunPlan:
    """Record the run and read the cycle's steps as they are now (mapping edits apply next run)."""
    return await asyncio.to_thread(_open_run, request)


def _close_run(request: CloseRun) -> None:
    with session() as db:
        runs.close_run(db, **dataclasses.asdict(request))


@activity.defn
async def close_run(request: CloseRun) -> None:
    await asyncio.to_thread(_close_run, request)


def _save_cycle_status(change: StatusChange) -> None:
    with session() as db:
        runs.save_cycle_status(db, change.cycle_id, change.status)


@activity.defn
async def save_cycle_status(change: StatusChange) -> None:
    await asyncio.to_thread(_save_cycle_status, change)


ALL = [open_run, close_run, save_cycle_status]
