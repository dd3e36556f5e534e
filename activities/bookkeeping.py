"""Run, cycle and transaction records in the database, written on the workflows' behalf."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from runtime.metrics import RUNS, TRANSACTIONS
from runtime.settings import settings
from store import runs, transactions
from store.database import session
from store.plans import StepPlan, create_plan, steps_of
from store.tables import Plan, Transaction
from workflows import names
from workflows.messages import (
    CloseRetry,
    CloseRun,
    CollectRequest,
    OpenRun,
    RetryPlan,
    RunPlan,
    RunSummary,
    StatusChange,
    StepView,
)


def _view(step: StepPlan) -> StepView:
    return StepView(step.id, step.name, step.type, step.connector, step.method, step.spec.Next,
                    getattr(step.spec, "Seconds", None))


def _run_plan(run_id: str, plan: Plan) -> RunPlan:
    steps = steps_of(plan)
    return RunPlan(run_id, plan.id, [_view(s) for s in steps], settings().upstream_retry_hours * 3600,
                   settings().step_retries, steps[0].collection_split)


def _open_run(request: OpenRun) -> RunPlan:
    with session() as db:
        run = runs.open_run(db, request.cycle_id, request.number, request.workflow_id)
        return _run_plan(run.id, db.get(Plan, run.plan_id))


@activity.defn(name=names.OPEN_RUN)
async def open_run(request: OpenRun) -> RunPlan:
    """Record the run and freeze the cycle's steps for it (mapping edits apply next run)."""
    return await asyncio.to_thread(_open_run, request)


def _close_run(request: CloseRun) -> RunSummary:
    with session() as db:
        run = runs.close_run(db, request.run_id, request.status, request.message, request.warnings)
        return RunSummary(run.id, run.status, run.succeeded, run.errored, run.stopped, run.message)


@activity.defn(name=names.CLOSE_RUN)
async def close_run(request: CloseRun) -> RunSummary:
    """How the run ended, its unfinished transactions closed, its totals from the store."""
    summary = await asyncio.to_thread(_close_run, request)
    RUNS.labels(summary.status).inc()
    for status, count in (("Success", summary.succeeded), ("Errored", summary.errored), ("Stopped", summary.stopped)):
        TRANSACTIONS.labels(status).inc(count)
    return summary


def _save_cycle_status(change: StatusChange) -> None:
    with session() as db:
        runs.save_cycle_status(db, change.cycle_id, change.status, change.owner, change.seq, change.reason)


@activity.defn(name=names.SAVE_CYCLE_STATUS)
async def save_cycle_status(change: StatusChange) -> None:
    await asyncio.to_thread(_save_cycle_status, change)


def _reopen_transaction(transaction_id: str) -> RetryPlan:
    with session() as db:
        transaction = db.get(Transaction, transaction_id)
        if transaction is None:
            raise ApplicationError(f"transaction {transaction_id} does not exist", type="NotFound",
                                   non_retryable=True)
        if transaction.status != "Pending":  # not reopened already by an earlier attempt
            transactions.reopen(db, transaction)
        plan = create_plan(db, transaction.cycle_id)
        db.commit()
        return RetryPlan(_run_plan(transaction.run_id, plan), transaction.seq, transaction.step)


@activity.defn(name=names.REOPEN_TRANSACTION)
async def reopen_transaction(transaction_id: str) -> RetryPlan:
    """Set an errored or stopped transaction to wait again where it ended, under the cycle's
    steps as they are now (the fix may have been a mapping)."""
    return await asyncio.to_thread(_reopen_transaction, transaction_id)


def _close_retry(request: CloseRetry) -> str:
    with session() as db:
        transaction = db.get(Transaction, request.transaction_id)
        if transaction.status == "Pending":
            transaction.status = "Errored"
            transaction.message = f"not processed: {request.message or 'the retry ended early'}"
            db.commit()
        transactions.recount(db, transaction.run_id)
        return transaction.status


@activity.defn(name=names.CLOSE_RETRY)
async def close_retry(request: CloseRetry) -> str:
    """The retried transaction's status, and its run's totals counted again."""
    status = await asyncio.to_thread(_close_retry, request)
    TRANSACTIONS.labels(status).inc()
    return status


def _collect_records(request: CollectRequest) -> None:
    with session() as db:
        transactions.collect(db, request.run_id, request.trigger, request.next_step)


@activity.defn(name=names.COLLECT_RECORDS)
async def collect_records(request: CollectRequest) -> None:
    """CollectionSplit None: the trigger's records, one transaction each as they were read,
    become one transaction holding them all."""
    await asyncio.to_thread(_collect_records, request)


ALL = [open_run, close_run, collect_records, save_cycle_status, reopen_transaction, close_retry]
