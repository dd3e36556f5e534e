"""A cycle's transactions: listed from the transaction store, read whole, retried one by one."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.dependencies import TEMPORAL_TIMEOUT, CurrentAccount, Db, Temporal
from api.errors import ApiError, not_found
from api.routers.cycles import get_cycle
from connectors.dates import as_utc
from runtime.settings import TASK_QUEUE
from store import transactions
from store.tables import Cycle, Run, Transaction
from workflows.cycle import run_attributes
from workflows.messages import RetryInput
from workflows.retry import TransactionRetryWorkflow

router = APIRouter(prefix="/v1.0/cycles/{cycle_id}/transactions", tags=["transactions"])

Status = Literal["Pending", "Success", "Errored", "Stopped"]


def summary(t: Transaction) -> dict:
    return {"Id": t.id, "RunId": t.run_id, "Number": t.seq, "Status": t.status, "Step": t.step,
            "Message": t.message, "Retries": t.retries, "CreatedAt": t.created_at, "UpdatedAt": t.updated_at}


def detail(t: Transaction) -> dict:
    failed = t.status in ("Errored", "Stopped")
    error = {"Step": t.step, "Message": t.message, "Request": _request(t.exchange),
             "Response": _response(t.exchange)} if failed else None
    return {**summary(t), "Path": t.path, "Records": t.records, "Error": error}


def _request(exchange: dict | None) -> dict | None:
    if not exchange:
        return None
    return {"Method": exchange["method"], "Url": exchange["url"], "Headers": exchange["request_headers"],
            "Body": exchange["request_body"]}


def _response(exchange: dict | None) -> dict | None:
    if not exchange or (exchange["status"] is None and not exchange["error"]):
        return None
    return {"Status": exchange["status"], "Headers": exchange["response_headers"],
            "Body": exchange["response_body"], "Error": exchange["error"]}


@router.get("")
def list_transactions(
    cycle_id: str, account: CurrentAccount, db: Db, response: Response,
    status: Status | None = None,
    run: Annotated[str | None, Query(description="a run's id or number")] = None,
    before: datetime | None = None,
    after: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict]:
    """Newest first; `Total-Records` and `Total-Pages` headers say how many there are."""
    cycle = get_cycle(db, account.id, cycle_id)
    query = transactions.listing(cycle.id, status=status, run_id=_run_id(db, cycle.id, run),
                                 before=before and as_utc(before), after=after and as_utc(after))
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    response.headers["Total-Records"] = str(total)
    response.headers["Total-Pages"] = str(math.ceil(total / per_page))
    rows = db.execute(query.offset((page - 1) * per_page).limit(per_page)).scalars()
    return [summary(t) for t in rows]


def _run_id(db: Db, cycle_id: str, run: str | None) -> str | None:
    if run is None:
        return None
    query = select(Run.id).where(Run.cycle_id == cycle_id)
    query = query.where(Run.number == int(run)) if run.isdigit() else query.where(Run.id == run)
    found = db.execute(query).scalar_one_or_none()
    if found is None:
        raise not_found("run", run)
    return found


def _get(db: Db, cycle_id: str, transaction_id: str) -> Transaction:
    transaction = db.get(Transaction, transaction_id)
    if transaction is None or transaction.cycle_id != cycle_id:
        raise not_found("transaction", transaction_id)
    return transaction


@router.get("/{transaction_id}")
def get_transaction(cycle_id: str, transaction_id: str, account: CurrentAccount, db: Db) -> dict:
    return detail(_get(db, get_cycle(db, account.id, cycle_id).id, transaction_id))


def _retryable(db: Db, account_id: str, cycle_id: str, transaction_id: str) -> tuple[Cycle, Transaction, Run]:
    cycle = get_cycle(db, account_id, cycle_id)
    transaction = _get(db, cycle.id, transaction_id)
    if transaction.status not in ("Errored", "Stopped"):
        raise ApiError(409, f"the transaction is {transaction.status}: only Errored or Stopped ones are retried")
    run = db.get(Run, transaction.run_id)
    if run.status == "Running":
        raise ApiError(409, f"run {run.number} is still in progress; retry once it has ended")
    return cycle, transaction, run


@router.post("/{transaction_id}/retry", status_code=202)
async def retry_transaction(cycle_id: str, transaction_id: str, account: CurrentAccount, db: Db,
                            client: Temporal) -> dict:
    """Run an errored or stopped transaction again from the step where it ended, with the records
    it had, in a workflow of its own; no other transaction is touched."""
    cycle, transaction, run = await run_in_threadpool(_retryable, db, account.id, cycle_id, transaction_id)
    workflow_id = f"transaction-{transaction.id}-retry-{transaction.retries + 1}"
    try:
        await client.start_workflow(
            TransactionRetryWorkflow.run,
            RetryInput(cycle.id, cycle.account_id, cycle.template_id, transaction.id),
            id=workflow_id, task_queue=TASK_QUEUE, rpc_timeout=TEMPORAL_TIMEOUT,
            search_attributes=run_attributes(cycle.account_id, cycle.id, cycle.template_id),
            static_summary=f"Retry of transaction {transaction.seq} of run {run.number}",
        )
    except WorkflowAlreadyStartedError:
        raise ApiError(409, "a retry of this transaction is already running") from None
    return {"TransactionId": transaction.id, "WorkflowId": workflow_id}
