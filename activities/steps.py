"""A later step: a range of transactions from the store, each through the step.

A Method step calls its connector once a transaction, and commits each outcome before its
call's slot is freed (store/group_commit.py), so a retried activity resends at most the calls
that were in flight. Decision, Delay and WaitUntil steps only route; a Storage step writes its
key and the transaction's outcome in one database transaction, so it happens exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.decisions import decide
from activities.failures import as_failure, is_throttled
from activities.mappings import mapped, value_of
from activities.slots import started
from activities.upstream import Loaded, Upstream, earlier_progress, heartbeating, idempotency_key
from connectors import ConfigurationError, ConnectorError, PreparedCall, prepare
from connectors.errors import FieldValueError
from connectors.oauth import NeedsReauthentication
from connectors.types import as_type
from runtime import context
from runtime.settings import settings
from store import storage, transactions
from store.database import engine, session
from store.plans import StepPlan, load_step
from store.transactions import Outcome, Waiting
from workflows import names
from workflows.messages import RangeRequest, RangeResult

KEPT_ERRORS = 3


class StepActivities:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @activity.defn(name=names.RUN_STEP)
    async def run_step(self, request: RangeRequest) -> RangeResult:
        """The transactions of the range that wait at this step, each through it once; returns
        where they went (counting those an earlier attempt already moved on)."""
        step, rows = await asyncio.to_thread(_read, request)
        result, todo = RangeResult(), []
        for row in rows:
            if row.status == "Pending" and row.step == request.step:
                todo.append(row)
            elif activity.info().attempt > 1:
                _count_earlier(result, row, request.step)
        if step.type == "Method":
            await self._call_each(request, todo, result)
        elif step.type == "Storage":
            await asyncio.to_thread(_store_each, request, step, todo, result)
        else:
            await asyncio.to_thread(_route_each, request, step, todo, result)
        return result

    async def _call_each(self, request: RangeRequest, todo: list[Waiting], result: RangeResult) -> None:
        loaded = await self.upstream.load(request.plan_id, request.step)
        try:
            prepared = prepare(loaded.connector, loaded.step.method, **loaded.call_options(self.upstream.limiter))
        except ConnectorError as err:  # the same for every transaction
            raise as_failure(loaded.step.name, err, with_body=False) from None
        saved = earlier_progress() or {"throttled": 0}
        slots, place = self.upstream.slots(loaded.step.account_connector_id), started()
        rows, done, failures = iter(todo), 0, []

        async def calling() -> None:
            """Transactions one after another, until none is left; as many of these run as
            calls may be in flight (each transaction's call still takes one of the shared slots)."""
            nonlocal done
            for row in rows:
                context.bind(transaction=row.seq)
                try:
                    async with slots.slot(place):
                        outcome = await self._call(loaded, prepared, request, row, result)
                        if outcome is not None:
                            await self.upstream.outcomes.add(outcome)
                except Exception as err:  # noqa: BLE001 — the others go on; the activity then fails
                    failures.append(err)
                    continue
                if outcome is not None:
                    _count(result, outcome)
                done += 1

        async with heartbeating(lambda: {"done": done, "throttled": saved["throttled"]}):
            await asyncio.gather(*(calling() for _ in range(min(self.upstream.concurrency, len(todo)))))
        if failures:
            err = next((f for f in failures if is_throttled(f)), failures[0])
            if not isinstance(err, ConnectorError):
                raise err
            # 429s in a row lengthen the wait; an attempt that got somewhere starts afresh.
            throttled = (saved["throttled"] if done == 0 else 0) + 1 if is_throttled(err) else 0
            activity.heartbeat({"done": done, "throttled": throttled})
            raise as_failure(loaded.step.name, err, throttled, with_body=False) from None

    async def _call(self, loaded: Loaded, prepared: PreparedCall, request: RangeRequest, row: Waiting,
                    result: RangeResult) -> Outcome | None:
        """The transaction's outcome at this step; None when it is to be tried again later."""
        step = loaded.step
        try:
            fields, parameters = mapped(step, loaded.connector, row.records)
            called = await prepared.call(
                self.upstream.client, fields=fields, parameters=parameters,
                idempotency_key=idempotency_key(request.run_id, row.seq, step.id, row.retries, request.attempt),
            )
        except ConnectorError as err:
            if err.retryable or isinstance(err, NeedsReauthentication | ConfigurationError):
                raise  # retried; or, the same for every call, fails the run rather than each transaction
            return _failed(request, step, row, err, result)
        records = called.records
        return _advanced(request, step, row, records if step.collection_split == "None" else
                         records[0] if records else {})


def _advanced(request: RangeRequest, step: StepPlan, row: Waiting, record: object,
              message: str | None = None, to: str | None = None) -> Outcome:
    """On to the step's next (`to` for a Decision), or a Success where there is none."""
    at = (request.run_id, row.seq, request.step)
    records = {**row.records, step.id: record}
    target = to if step.type == "Decision" else step.spec.Next
    if target:
        return Outcome(*at, "Pending", target, [*row.path, target], records, message)
    return Outcome(*at, "Success", step.id, row.path, records, message)


def _failed(request: RangeRequest, step: StepPlan, row: Waiting, err: ConnectorError,
            result: RangeResult) -> Outcome | None:
    """What the step's OnError makes of a failure: go on, try again later, stop or error."""
    message = f"step '{step.name}': {err}"
    # Status and reason, or the error's kind, only: an upstream body, or a conversion error's
    # message, may hold a record's value, and this goes to history (and a StopCycle's reason).
    brief = f"transaction {row.seq} at '{step.name}': " + (
        f"HTTP {err.status} {err.reason}" if err.status else type(err).__name__)
    if len(result.errors) < KEPT_ERRORS:
        result.errors.append(brief)
    policy = step.on_error
    if policy == "Ignore":
        return _advanced(request, step, row, {}, message)
    if policy == "Retry" and request.attempt < settings().step_retries:
        result.retrying += 1
        return None
    if policy == "StopCycle" and result.stop_cycle is None:
        result.stop_cycle = f"step '{step.name}' failed ({brief})"
    exchange = dataclasses.asdict(err.exchange) if err.exchange else None
    status = "Stopped" if policy == "StopTransaction" else "Errored"
    if policy == "Retry":
        message = f"{message} (after {request.attempt + 1} tries)"
    return Outcome(request.run_id, row.seq, request.step, status, step.id, row.path, row.records, message, exchange)


def _route_each(request: RangeRequest, step: StepPlan, todo: list[Waiting], result: RangeResult) -> None:
    """Each transaction's outcome at a Decision, Delay or WaitUntil, saved. In a thread: a Matches
    over a long value is work, and RE2 lets the event loop (other accounts' calls) go on meanwhile."""
    outcomes = [o for o in (_routed(request, step, row, result) for row in todo) if o is not None]
    if outcomes:
        _save(outcomes)
    for outcome in outcomes:
        _count(result, outcome)


def _routed(request: RangeRequest, step: StepPlan, row: Waiting, result: RangeResult) -> Outcome | None:
    """A Decision, Delay or WaitUntil step's outcome; None for one still waiting, unchanged."""
    try:
        if step.type == "Decision":
            verdict = decide(step.spec.Condition, row.records, step.variables)
            return _advanced(request, step, row, {"Result": verdict},
                             to=step.spec.TrueNext if verdict else step.spec.FalseNext)
        if step.type == "WaitUntil":
            return _woken(request, step, row, result)
        return _advanced(request, step, row, {})  # a Delay: its timer has fired
    except ConnectorError as err:
        return _failed(request, step, row, err, result)


def _woken(request: RangeRequest, step: StepPlan, row: Waiting, result: RangeResult) -> Outcome | None:
    """On once the transaction's wake time has come; otherwise its wake time noted (once) and
    counted in `result.waits`, whose timers the workflow sets."""
    noted = (row.records.get(step.id) or {}).get("WakeAt")
    wake = datetime.fromisoformat(noted) if noted else _wake_time(step, row)
    now = max(datetime.now(UTC), request.due or datetime.now(UTC))
    if wake <= now:
        return _advanced(request, step, row, {"WakeAt": wake.isoformat()})
    key = wake.isoformat()
    result.waits[key] = result.waits.get(key, 0) + 1
    if noted:
        return None
    return Outcome(request.run_id, row.seq, request.step, "Pending", step.id, row.path,
                   {**row.records, step.id: {"WakeAt": key}})


def _wake_time(step: StepPlan, row: Waiting) -> datetime:
    value = value_of(step.spec.Until, row.records, step.variables)
    if value is None or value == "":
        raise FieldValueError(f"step '{step.name}': the date to wait until has no value")
    try:
        wake = as_type(value, "DateTime")
    except ValueError:
        raise FieldValueError(f"step '{step.name}': {value!r} is not a date and time") from None
    # Whole seconds, rounded up: transactions due within the same second share one timer.
    return (wake + timedelta(microseconds=999_999)).replace(microsecond=0) if wake.microsecond else wake


def _store_each(request: RangeRequest, step: StepPlan, todo: list[Waiting], result: RangeResult) -> None:
    """Each transaction's storage operation and its outcome in one database transaction: a
    retried activity finds the outcome written and does not count again."""
    scope = step.cycle_id if step.spec.Scope == "Cycle" else step.account_id
    with session() as db:
        for row in todo:
            try:
                outcome = _advanced(request, step, row, _storage_op(db, step, scope, row))
            except (ConnectorError, storage.StorageError) as err:
                db.rollback()
                failure = err if isinstance(err, ConnectorError) else FieldValueError(str(err))
                outcome = _failed(request, step, row, failure, result)
                if outcome is None:
                    continue
            if transactions.save_outcome(db, outcome):
                db.commit()
                _count(result, outcome)
            else:
                db.rollback()  # another attempt got there first: its write stands, not this one


def _storage_op(db, step: StepPlan, scope: str, row: Waiting) -> dict:
    spec, key = step.spec, step.spec.Key
    value = value_of(spec.Value, row.records, step.variables) if spec.Value else None
    if isinstance(value, datetime):  # a DateTime mapping's value: kept as records keep dates
        value = value.isoformat()
    if spec.Operation == "Get":
        return {"Key": key, "Value": storage.get(db, scope, key)}
    if spec.Operation == "Set":
        return {"Key": key, "Value": storage.put(db, scope, key, value)}
    if spec.Operation == "Delete":
        storage.delete(db, scope, key)
        return {"Key": key, "Value": None}
    by = 1 if value is None else _number(value, key)
    return {"Key": key, "Value": storage.increment(db, scope, key, by)}


def _number(value: object, key: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FieldValueError(f"storage key '{key}' cannot be incremented by {value!r}: not a number") from None
    if not math.isfinite(number):
        raise FieldValueError(f"storage key '{key}' cannot be incremented by {value!r}")
    return number


def _count(result: RangeResult, outcome: Outcome) -> None:
    if outcome.status == "Pending":
        if outcome.step != outcome.at:  # not a WaitUntil noting its wake time
            result.routed[outcome.step] = result.routed.get(outcome.step, 0) + 1
    elif outcome.status == "Success":
        result.succeeded += 1
    elif outcome.status == "Stopped":
        result.stopped += 1
    else:
        result.errored += 1


def _count_earlier(result: RangeResult, row: Waiting, step: str) -> None:
    """A transaction of the range this step handled in an earlier attempt (or never will)."""
    if step not in row.path:
        return
    after = row.path.index(step) + 1
    if after < len(row.path):
        result.routed[row.path[after]] = result.routed.get(row.path[after], 0) + 1
    elif row.status == "Success":
        result.succeeded += 1
    elif row.status == "Stopped":
        result.stopped += 1
    elif row.status == "Errored":
        result.errored += 1


def _read(request: RangeRequest) -> tuple[StepPlan, list[Waiting]]:
    """The step and its range, in one hand-off to a thread."""
    step = load_step(request.plan_id, request.step)
    with engine().connect() as connection:
        return step, transactions.read_range(connection, request.run_id, request.first, request.end)


def _save(outcomes: list[Outcome]) -> None:
    with engine().begin() as connection:
        transactions.save_outcomes(connection, outcomes)
