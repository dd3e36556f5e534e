"""Connector calls for a run: the trigger's pages and each batch of transactions at a step."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors import ConnectorError, Credentials, call_method
from connectors.spec import Connector
from store import runs
from store.connections import load_credentials, load_release
from store.database import session
from workflows.messages import (
    BatchRequest,
    BatchResult,
    FetchRequest,
    FetchResult,
    Outcome,
    Record,
    StepPlan,
    Transaction,
)


class StepActivities:
    """Holds the worker's shared HTTP client and how many calls one batch makes at once."""

    def __init__(self, client: httpx.AsyncClient, concurrency: int = 10) -> None:
        self.client = client
        self.concurrency = concurrency

    @activity.defn(name="fetch_page")
    async def fetch_page(self, request: FetchRequest) -> FetchResult:
        step = request.step
        connector, credentials = await _load(step)
        async with _heartbeating():
            try:
                result = await call_method(
                    self.client, connector, step.method, credentials=credentials,
                    parameters=_static_values(step),
                )
            except ConnectorError as err:
                raise _failure(step, err) from None
        return FetchResult(records=result.records, cursor=None)

    @activity.defn(name="process_batch")
    async def process_batch(self, request: BatchRequest) -> BatchResult:
        """Each transaction through one step; what succeeded before a retry is not sent again."""
        step = request.step
        connector, credentials = await _load(step)
        done = {d["key"]: Outcome(**d) for d in _earlier_progress()}
        limit = asyncio.Semaphore(self.concurrency)

        async def one(transaction: Transaction) -> None:
            if transaction.key in done:
                return
            async with limit:
                outcome = await self._call(request, connector, credentials, transaction)
            done[transaction.key] = outcome
            activity.heartbeat(list(done.values()))

        async with _heartbeating(lambda: list(done.values())):
            results = await asyncio.gather(*(one(t) for t in request.transactions), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            activity.heartbeat(list(done.values()))
            raise failures[0]
        errors = {o.key: o.error for o in done.values() if not o.ok}
        if errors:
            await asyncio.to_thread(_save_errors, request, errors)
        return BatchResult([done[t.key] for t in request.transactions])

    async def _call(
        self, request: BatchRequest, connector: Connector, credentials: Credentials, transaction: Transaction
    ) -> Outcome:
        step = request.step
        try:
            result = await call_method(
                self.client, connector, step.method, credentials=credentials,
                fields=_field_values(step, transaction),
                idempotency_key=_idempotency_key(request.run_id, transaction.key, step.id),
            )
        except ConnectorError as err:
            if err.retryable:
                raise _failure(step, err) from None
            return Outcome(transaction.key, ok=False, error=f"step '{step.name}': {err}")
        return Outcome(transaction.key, ok=True, record=result.records[0] if result.records else {})


def _static_values(step: StepPlan) -> dict[str, str]:
    return {m.field: m.value for m in step.mappings if m.mapping_type == "StaticValue"}


def _field_values(step: StepPlan, transaction: Transaction) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for m in step.mappings:
        if m.mapping_type == "StaticValue":
            values[m.field] = m.value
        elif m.mapping_type == "StepField":
            source: Record = transaction.data.get(m.source_step or "", {})
            values[m.field] = source.get(m.source_field or "")
    return values


def _idempotency_key(run_id: str, transaction_key: str, step_id: str) -> str:
    """Stable for one transaction at one step, so a resent write is recognised upstream."""
    return hashlib.sha256(f"{run_id}/{transaction_key}/{step_id}".encode()).hexdigest()[:32]


def _failure(step: StepPlan, err: ConnectorError) -> ApplicationError:
    delay = getattr(err, "retry_after", None)
    return ApplicationError(
        f"step '{step.name}': {err}",
        type=type(err).__name__,
        non_retryable=not err.retryable,
        next_retry_delay=timedelta(seconds=delay) if delay else None,
    )


def _earlier_progress() -> list[dict[str, Any]]:
    details = activity.info().heartbeat_details
    return list(details[0]) if details else []


async def _load(step: StepPlan) -> tuple[Connector, Credentials]:
    def load() -> tuple[Connector, Credentials]:
        with session() as db:
            _, credentials = load_credentials(db, step.account_connector_id)
            return load_release(db, step.release_id), credentials

    return await asyncio.to_thread(load)


def _save_errors(request: BatchRequest, errors: dict[str, str]) -> None:
    with session() as db:
        runs.save_errors(db, request.run_id, request.cycle_id, request.step.id, errors)


@asynccontextmanager
async def _heartbeating(
    progress: Callable[[], list[Outcome]] = list, every: float = 2.0
) -> AsyncIterator[None]:
    """Keep the activity alive through a slow call; a dead worker still stops heartbeating."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            activity.heartbeat(progress())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
