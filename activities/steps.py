"""Connector calls for a run: the trigger's pages and each batch of transactions at a step."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from temporalio import activity

from activities.failures import as_failure, is_throttled
from connectors import ConnectorError, Credentials, Pages, call_method, fetch_pages
from connectors.dates import EPOCH
from connectors.oauth import NeedsReauthentication
from connectors.spec import Connector
from store import runs
from store.connections import load_credentials, load_release
from store.database import session
from store.limiter import DatabaseLimiter
from store.tokens import DatabaseTokenStore
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
    """Holds the worker's shared HTTP client and the bounds of one activity's work."""

    def __init__(
        self, client: httpx.AsyncClient, concurrency: int = 10, page_records: int = 25_000,
        page_seconds: float = 10.0,
    ) -> None:
        self.client = client
        self.limiter = DatabaseLimiter()
        self.concurrency = concurrency
        self.page_records, self.page_seconds = page_records, page_seconds

    @activity.defn(name="fetch_pages")
    async def fetch_pages(self, request: FetchRequest) -> FetchResult:
        """Trigger pages from the run's cursor on, bounded by records and time.

        The cursor and the records read so far are heartbeated every few seconds, so a
        retry after a crash resumes at the page it had reached and returns them all.
        """
        step = request.step
        saved = _earlier_progress() or {"cursor": request.cursor, "records": [], "warnings": [], "done": False,
                                        "throttled": 0}
        if saved["done"]:
            return FetchResult(saved["records"], None, saved["warnings"])
        connector, credentials = await _load(step)
        latest = saved

        def checkpoint(pages: Pages) -> None:
            # Recorded per page, sent every few seconds: encoding the records is not free.
            nonlocal latest
            latest = {"cursor": pages.cursor, "records": saved["records"] + pages.records,
                      "warnings": saved["warnings"] + pages.warnings, "done": pages.cursor is None,
                      "throttled": 0}

        async with _heartbeating(lambda: latest):
            try:
                pages = await fetch_pages(
                    self.client, connector, step.method, credentials=credentials, cursor=saved["cursor"],
                    parameters=_mapped(step, connector, {})[1],
                    mergefields={"LastSuccessfulRunDate": step.last_successful_run_at or EPOCH},
                    limiter=self.limiter, limit_key=step.account_connector_id,
                    tokens=DatabaseTokenStore(step.account_connector_id),
                    max_records=self.page_records, max_seconds=self.page_seconds, on_page=checkpoint,
                )
            except ConnectorError as err:
                throttled = latest["throttled"] + 1 if is_throttled(err) else 0
                latest = {**latest, "throttled": throttled}
                activity.heartbeat(latest)
                raise as_failure(step, err, throttled) from None
        return FetchResult(saved["records"] + pages.records, pages.cursor, saved["warnings"] + pages.warnings)

    @activity.defn(name="process_batch")
    async def process_batch(self, request: BatchRequest) -> BatchResult:
        """Each transaction through one step.

        Outcomes are heartbeated every few seconds: a retry skips those, and resends the rest
        with the same idempotency keys, so an API that honours them applies each write once.
        """
        step = request.step
        connector, credentials = await _load(step)
        saved = _earlier_progress() or {"outcomes": [], "throttled": 0}
        done = {d["key"]: Outcome(**d) for d in saved["outcomes"]}
        earlier = len(done)
        limit = asyncio.Semaphore(self.concurrency)

        def progress(throttled: int = 0) -> dict[str, Any]:
            return {"outcomes": list(done.values()), "throttled": throttled}

        async def one(transaction: Transaction) -> None:
            if transaction.key in done:
                return
            async with limit:
                outcome = await self._call(request, connector, credentials, transaction)
            done[transaction.key] = outcome  # heartbeated every few seconds by _heartbeating

        async with _heartbeating(progress):
            results = await asyncio.gather(*(one(t) for t in request.transactions), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            err = next((f for f in failures if is_throttled(f)), failures[0])
            if not isinstance(err, ConnectorError):
                raise err
            # 429s in a row lengthen the wait; an attempt that got somewhere starts afresh.
            throttled = (saved["throttled"] if len(done) == earlier else 0) + 1 if is_throttled(err) else 0
            activity.heartbeat(progress(throttled))
            raise as_failure(step, err, throttled) from None
        errors = {o.key: o.error for o in done.values() if not o.ok}
        if errors:
            await asyncio.to_thread(_save_errors, request, errors)
        return BatchResult([done[t.key] for t in request.transactions])

    async def _call(
        self, request: BatchRequest, connector: Connector, credentials: Credentials, transaction: Transaction
    ) -> Outcome:
        step = request.step
        fields, parameters = _mapped(step, connector, transaction.data)
        try:
            result = await call_method(
                self.client, connector, step.method, credentials=credentials,
                fields=fields, parameters=parameters,
                idempotency_key=_idempotency_key(request.run_id, transaction.key, step.id),
                limiter=self.limiter, limit_key=step.account_connector_id,
                tokens=DatabaseTokenStore(step.account_connector_id),
            )
        except ConnectorError as err:
            if err.retryable or isinstance(err, NeedsReauthentication):
                raise  # retried, or (no credentials) fails the run rather than every transaction
            return Outcome(transaction.key, ok=False, error=f"step '{step.name}': {err}")
        return Outcome(transaction.key, ok=True, record=result.records[0] if result.records else {})


def _mapped(step: StepPlan, connector: Connector, data: dict[str, Record]) -> tuple[dict, dict]:
    """The step's field mappings evaluated for one transaction: request fields, and parameters."""
    values: dict[str, Any] = {}
    for m in step.mappings:
        if m.mapping_type == "StaticValue":
            values[m.field] = m.value
        elif m.mapping_type == "StepField":
            values[m.field] = data.get(m.source_step or "", {}).get(m.source_field or "")
    request = {f.SystemField for f in connector.method(step.method).request_fields}
    return ({k: v for k, v in values.items() if k in request},
            {k: str(v) for k, v in values.items() if k not in request and v is not None})


def _idempotency_key(run_id: str, transaction_key: str, step_id: str) -> str:
    """Stable for one transaction at one step, so a resent write is recognised upstream."""
    return hashlib.sha256(f"{run_id}/{transaction_key}/{step_id}".encode()).hexdigest()[:32]


def _earlier_progress() -> Any:
    """What the previous attempt heartbeated last (plain dicts), or None."""
    details = activity.info().heartbeat_details
    return details[0] if details else None


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
async def _heartbeating(progress: Callable[[], Any], every: float = 2.0) -> AsyncIterator[None]:
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
