"""Ranges of transactions through a plan's steps: shared by runs and transaction retries.

A range is a span of sequence numbers; the activity at each step reads its transactions
from the store and says how many went to which next step, so the workflow only ever holds
numbers. Several ranges may be in flight; each goes through the steps in order.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from workflows import names
from workflows.messages import RangeRequest, RangeResult, RunPlan, StepView
from workflows.options import upstream

RUN_STATUS = SearchAttributeKey.for_keyword("RunStatus")
ERRORED_TRANSACTIONS = SearchAttributeKey.for_int("ErroredTransactions")
KEPT_ERRORS = 5
RETRY_BACKOFF_LIMIT = 300


class Flows:
    def __init__(self, plan: RunPlan, succeeded: int = 0, errored: int = 0) -> None:
        self.plan = plan
        self.steps = {s.id: s for s in plan.steps}
        self.paused = False
        self.activities = 0  # activities in flight
        self.succeeded, self.errored, self.stopped = succeeded, errored, 0
        self.errors: list[str] = []
        self.stop_cycle: str | None = None  # a StopCycle step failed: why
        # One visit at a time of a range at a step: where two exits lead to the same step, the
        # later visit must not read transactions the earlier one is still calling for.
        self.visiting: dict[tuple[str, int], asyncio.Lock] = {}
        self.timers: set[tuple[str, int, str]] = set()  # WaitUntil: (step, range, wake time) waited for
        # WaitUntil: one timer per wake time for the whole run, whichever ranges wait for it.
        self.alarms: dict[datetime, asyncio.Task[None]] = {}

    async def through(self, step_id: str, first: int, end: int, attempt: int = 0,
                      due: datetime | None = None) -> None:
        """Transactions first ≤ seq < end at `step_id`, then on to wherever each goes next."""
        step = self.steps[step_id]
        if step.type == "Delay" and attempt == 0 and due is None:
            await workflow.sleep(timedelta(seconds=step.seconds or 0))
        result = await self._visit(step, first, end, attempt, due)
        onward = [self.through(nxt, first, end) for nxt, n in sorted(result.routed.items()) if n]
        timers = {(step_id, first, at) for at in result.waits} - self.timers
        self.timers |= timers  # a later visit finds the groups it still holds timed already
        onward += [self._wake(step_id, first, end, datetime.fromisoformat(at)) for _, _, at in sorted(timers)]
        if result.retrying:
            onward.append(self._retry(step_id, first, end, attempt + 1))
        await asyncio.gather(*onward)

    async def _visit(self, step: StepView, first: int, end: int, attempt: int, due: datetime | None) -> RangeResult:
        lock = self.visiting.setdefault((step.id, first), asyncio.Lock())
        async with lock:
            await workflow.wait_condition(lambda: not self.paused)
            self.activities += 1
            try:
                result: RangeResult = await workflow.execute_activity(
                    names.RUN_STEP,
                    RangeRequest(self.plan.run_id, self.plan.plan_id, step.id, first, end, attempt, due),
                    result_type=RangeResult,
                    summary=step.summary(transactions(first, end) + (f" · try {attempt + 1}" if attempt else "")),
                    **upstream(self.plan.retry_seconds),
                )
            finally:
                self.activities -= 1
        self.succeeded += result.succeeded
        self.errored += result.errored
        self.stopped += result.stopped
        self.errors = (self.errors + result.errors)[-KEPT_ERRORS:]
        self.stop_cycle = self.stop_cycle or result.stop_cycle
        return result

    async def _wake(self, step_id: str, first: int, end: int, at: datetime) -> None:
        """WaitUntil: the transactions of the range due at `at` go on when its timer fires."""
        alarm = self.alarms.get(at)
        if alarm is None:
            alarm = self.alarms[at] = asyncio.create_task(self._alarm(at))
        await alarm
        await self.through(step_id, first, end, due=at)

    async def _alarm(self, at: datetime) -> None:
        try:
            wait = (at - workflow.now()).total_seconds()
            if wait > 0:
                await workflow.sleep(timedelta(seconds=wait))
        finally:
            del self.alarms[at]  # a range asking later finds the time past: no timer

    async def _retry(self, step_id: str, first: int, end: int, attempt: int) -> None:
        """OnError Retry: the failed calls again after a backoff (1 s, doubling, at most 5 min)."""
        await workflow.sleep(timedelta(seconds=min(2 ** (attempt - 1), RETRY_BACKOFF_LIMIT)))
        await self.through(step_id, first, end, attempt)


def transactions(first: int, end: int) -> str:
    return f"transaction {first}" if end == first + 1 else f"transactions {first}–{end - 1}"


def failure_reason(err: ActivityError, retry_seconds: float) -> str:
    """Why an activity gave up, in words: the last error, and the retry bound if that ended it."""
    cause = err.cause
    if isinstance(cause, TimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_CLOSE:
        cause = cause.cause  # the last attempt's failure, when there was one
    message = cause.message if isinstance(cause, ApplicationError | TimeoutError) else str(cause or "no answer")
    if err.retry_state == RetryState.TIMEOUT:
        return f"gave up after retrying for {_duration(retry_seconds)}: {message}"
    return message


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def was_cancelled(err: BaseException) -> bool:
    return isinstance(err, asyncio.CancelledError) or (
        isinstance(err, ActivityError) and isinstance(err.cause, CancelledError))
