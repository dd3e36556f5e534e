"""A later step: a range of transactions from the store, each through one connector call.

Each outcome is committed before its call's slot is freed (store/group_commit.py), so a
retried activity resends at most the calls that were in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses

from temporalio import activity

from activities.failures import as_failure, is_throttled
from activities.mappings import mapped
from activities.upstream import Loaded, Upstream, earlier_progress, heartbeating, idempotency_key
from connectors import ConfigurationError, ConnectorError, call_method
from connectors.oauth import NeedsReauthentication
from store import transactions
from store.database import session
from store.transactions import Outcome, Waiting
from workflows.messages import RangeRequest, RangeResult

KEPT_ERRORS = 3


class StepActivities:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @activity.defn(name="run_step")
    async def run_step(self, request: RangeRequest) -> RangeResult:
        """The transactions of the range that wait at this step, each called once; returns
        where they went (counting those an earlier attempt already moved on)."""
        loaded = await self.upstream.load(request.plan_id, request.step)
        rows = await asyncio.to_thread(_read, request)
        result, todo = RangeResult(), []
        for row in rows:
            if row.status == "Pending" and row.step == request.step:
                todo.append(row)
            else:
                _count_earlier(result, row, request.step)
        saved = earlier_progress() or {"throttled": 0}
        slots = self.upstream.slots(loaded.step.account_connector_id)
        done = 0

        async def one(row: Waiting) -> None:
            nonlocal done
            async with slots:
                outcome, brief = await self._call(loaded, request, row)
                await self.upstream.outcomes.add(outcome)
            _count(result, outcome, brief)
            done += 1

        async with heartbeating(lambda: {"done": done, "throttled": saved["throttled"]}):
            failures = [f for f in await asyncio.gather(*(one(r) for r in todo), return_exceptions=True) if f]
        if failures:
            err = next((f for f in failures if is_throttled(f)), failures[0])
            if not isinstance(err, ConnectorError):
                raise err
            # 429s in a row lengthen the wait; an attempt that got somewhere starts afresh.
            throttled = (saved["throttled"] if done == 0 else 0) + 1 if is_throttled(err) else 0
            activity.heartbeat({"done": done, "throttled": throttled})
            raise as_failure(loaded.step, err, throttled, with_body=False) from None
        return result

    async def _call(self, loaded: Loaded, request: RangeRequest, row: Waiting) -> tuple[Outcome, str | None]:
        """The transaction's outcome at this step, and a brief error for the run's log."""
        step = loaded.step
        fields, parameters = mapped(step, loaded.connector, row.records)
        try:
            result = await call_method(
                self.upstream.client, loaded.connector, step.method, fields=fields, parameters=parameters,
                idempotency_key=idempotency_key(request.run_id, row.seq, step.id, row.retries),
                **loaded.call_options(self.upstream.limiter),
            )
        except ConnectorError as err:
            if err.retryable or isinstance(err, NeedsReauthentication | ConfigurationError):
                raise  # retried; or, the same for every call, fails the run rather than each transaction
            # Status and reason only: an upstream body may echo a record, and this goes to history.
            brief = f"transaction {row.seq} at '{step.name}': " + (
                f"HTTP {err.status} {err.reason}" if err.status else type(err).__name__)
            return _failed(request, loaded, row, err), brief
        return _advanced(request, loaded, row, result.records[0] if result.records else {}), None


def _advanced(request: RangeRequest, loaded: Loaded, row: Waiting, record: dict,
              message: str | None = None) -> Outcome:
    step, at = loaded.step, (request.run_id, row.seq, request.step)
    records = {**row.records, step.id: record}
    if step.next:
        return Outcome(*at, "Pending", step.next, [*row.path, step.next], records, message)
    return Outcome(*at, "Success", step.id, row.path, records, message)


def _failed(request: RangeRequest, loaded: Loaded, row: Waiting, err: ConnectorError) -> Outcome:
    message = f"step '{loaded.step.name}': {err}"
    if loaded.step.on_error == "Ignore":
        return _advanced(request, loaded, row, {}, message)
    exchange = dataclasses.asdict(err.exchange) if err.exchange else None
    return Outcome(request.run_id, row.seq, request.step, "Errored", loaded.step.id, row.path, row.records,
                   message, exchange)


def _count(result: RangeResult, outcome: Outcome, brief: str | None) -> None:
    if outcome.status == "Pending":
        result.routed[outcome.step] = result.routed.get(outcome.step, 0) + 1
    elif outcome.status == "Success":
        result.succeeded += 1
    else:
        result.errored += 1
    if brief and len(result.errors) < KEPT_ERRORS:
        result.errors.append(brief)


def _count_earlier(result: RangeResult, row: Waiting, step: str) -> None:
    """A transaction of the range this step handled in an earlier attempt (or never will)."""
    if step not in row.path:
        return
    after = row.path.index(step) + 1
    if after < len(row.path):
        result.routed[row.path[after]] = result.routed.get(row.path[after], 0) + 1
    elif row.status == "Success":
        result.succeeded += 1
    elif row.status == "Errored":
        result.errored += 1


def _read(request: RangeRequest) -> list[Waiting]:
    with session() as db:
        return transactions.read_range(db, request.run_id, request.first, request.end)
