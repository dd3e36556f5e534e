"""Ranges of transactions through a plan's steps: shared by runs and transaction retries.

A range is a span of sequence numbers; the activity at each step reads its transactions
from the store and says how many went to which next step, so the workflow only ever holds
numbers. Several ranges may be in flight; each goes through the steps in order.
"""

from __future__ import annotations

import asyncio

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

from workflows.messages import RangeRequest, RangeResult, RunPlan
from workflows.options import upstream

RUN_STATUS = SearchAttributeKey.for_keyword("RunStatus")
ERRORED_TRANSACTIONS = SearchAttributeKey.for_int("ErroredTransactions")
KEPT_ERRORS = 5


class Flows:
    def __init__(self, plan: RunPlan, succeeded: int = 0, errored: int = 0) -> None:
        self.plan = plan
        self.steps = {s.id: s for s in plan.steps}
        self.paused = False
        self.activities = 0  # activities in flight
        self.succeeded, self.errored = succeeded, errored
        self.errors: list[str] = []

    async def through(self, step_id: str, first: int, end: int) -> None:
        """Transactions first ≤ seq < end at `step_id`, then on to wherever each goes next."""
        await workflow.wait_condition(lambda: not self.paused)
        step = self.steps[step_id]
        self.activities += 1
        try:
            result: RangeResult = await workflow.execute_activity(
                "run_step",
                RangeRequest(self.plan.run_id, self.plan.plan_id, step_id, first, end),
                result_type=RangeResult,
                summary=step.summary(transactions(first, end)),
                **upstream(self.plan.retry_seconds),
            )
        finally:
            self.activities -= 1
        self.succeeded += result.succeeded
        self.errored += result.errored
        self.errors = (self.errors + result.errors)[-KEPT_ERRORS:]
        # One exit per step today; a Decision's two exits go side by side.
        await asyncio.gather(*(self.through(nxt, first, end) for nxt, n in sorted(result.routed.items()) if n))


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
