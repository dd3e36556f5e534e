"""A cycle's transactions: listed from the transaction store, read whole, retried one by one."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.dependencies import TEMPORAL_TIMEOUT, CurrentAccount, Db, Temporal, found, release
from api.errors import COMMON, ApiError, not_found, responses
from api.inbox import Inbox, inbox
from api.routers.cycles import get_cycle
from api.routers.cycles import workflow_id as cycle_workflow_id
from connectors.dates import as_utc
from runtime.settings import TASK_QUEUE
from store import inbound, transactions
from store.tables import Cycle, Run, Transaction
from workflows.cycle import run_attributes
from workflows.messages import RetryInput
from workflows.retry import TransactionRetryWorkflow

router = APIRouter(prefix="/v1.0/cycles/{cycle_id}/transactions", tags=["transactions"],
                   responses=responses(*COMMON))

Status = Literal["Pending", "Success", "Errored", "Stopped"]


class TransactionOut(BaseModel):
    Id: str
    RunId: str
    Number: int = Field(description="the transaction's sequence number in its run")
    Status: Status
    Step: str = Field(description="the step it is at, or where it ended")
    Message: str | None
    Retries: int
    CreatedAt: datetime
    UpdatedAt: datetime


class RequestOut(BaseModel):
    Method: str
    Url: str
    Headers: dict[str, str] = Field(description="secrets masked")
    Body: str = Field(description="bounded; secrets masked")


class ResponseOut(BaseModel):
    Status: int | None
    Headers: dict[str, str] | None
    Body: str | None
    Error: str | None = Field(description="why no response came (a timeout, a refused connection)")


class FailureOut(BaseModel):
    Step: str
    Message: str | None
    Request: RequestOut | None
    Response: ResponseOut | None


class TransactionDetail(TransactionOut):
    Path: list[str] = Field(description="the steps it went through, in order")
    Records: dict[str, Any] = Field(description="each step's record, by step id")
    Error: FailureOut | None


class RetryOut(BaseModel):
    TransactionId: str
    WorkflowId: str


def summary(t: Transaction) -> TransactionOut:
    return TransactionOut(Id=t.id, RunId=t.run_id, Number=t.seq, Status=t.status, Step=t.step, Message=t.message,
                          Retries=t.retries, CreatedAt=t.created_at, UpdatedAt=t.updated_at)


def detail(t: Transaction) -> TransactionDetail:
    failed = t.status in ("Errored", "Stopped")
    error = FailureOut(Step=t.step, Message=t.message, Request=_request(t.exchange),
                       Response=_response(t.exchange)) if failed else None
    return TransactionDetail(**summary(t).model_dump(), Path=t.path, Records=t.records, Error=error)


def _request(exchange: dict | None) -> RequestOut | None:
    if not exchange:
        return None
    return RequestOut(Method=exchange["method"], Url=exchange["url"], Headers=exchange["request_headers"],
                      Body=exchange["request_body"])


def _response(exchange: dict | None) -> ResponseOut | None:
    if not exchange or (exchange["status"] is None and not exchange["error"]):
        return None
    return ResponseOut(Status=exchange["status"], Headers=exchange["response_headers"],
                       Body=exchange["response_body"], Error=exchange["error"])


@router.get("", summary="List a cycle's transactions, newest first")
def list_transactions(
    cycle_id: str, account: CurrentAccount, db: Db, response: Response,
    status: Status | None = None,
    run: Annotated[str | None, Query(description="a run's id or number")] = None,
    before: datetime | None = None,
    after: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TransactionOut]:
    """`Total-Records` and `Total-Pages` headers say how many there are."""
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
    by_number = run.isascii() and run.isdigit() and len(run) < 10  # a number a run can have
    query = query.where(Run.number == int(run)) if by_number else query.where(Run.id == run)
    found = db.execute(query).scalar_one_or_none()
    if found is None:
        raise not_found("run", run)
    return found


def _get(db: Db, cycle_id: str, transaction_id: str) -> Transaction:
    return found(db, Transaction, transaction_id, "transaction", cycle_id=cycle_id)


@router.get("/{transaction_id}", summary="Read a transaction: its path, records and failure")
def get_transaction(cycle_id: str, transaction_id: str, account: CurrentAccount, db: Db) -> TransactionDetail:
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


@router.post("/{transaction_id}/retry", status_code=202, summary="Retry an errored or stopped transaction",
             responses=responses(409, 503))
async def retry_transaction(cycle_id: str, transaction_id: str, account: CurrentAccount, db: Db,
                            client: Temporal, box: Annotated[Inbox, Depends(inbox)]) -> RetryOut:
    """Run an errored or stopped transaction again from the step where it ended, with the records
    it had, in a workflow of its own; no other transaction is touched. A webhook event the run
    could not read goes back on the cycle's queue instead, for its next run."""
    cycle, transaction, run = await run_in_threadpool(_retryable, db, account.id, cycle_id, transaction_id)
    requeued = await run_in_threadpool(inbound.requeue, db, cycle, transaction)
    if requeued is False:
        raise ApiError(409, "the cycle is not active: activate it, then retry the event")
    if requeued:
        box.wake(cycle.id)
        return RetryOut(TransactionId=transaction.id, WorkflowId=cycle_workflow_id(cycle.id))
    workflow_id = f"transaction-{transaction.id}-retry-{transaction.retries + 1}"
    await release(db)  # no pooled connection held while Temporal answers
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
    return RetryOut(TransactionId=transaction.id, WorkflowId=workflow_id)
