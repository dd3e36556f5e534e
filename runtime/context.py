"""Which cycle, run, step, transaction and account the code at hand works for: set where that
is known (API routes, activities), read by the log filter (runtime/logs.py) and written on the
current span as `cyclewright.*` attributes, so a trace and its log lines can be found by id."""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

_ids: ContextVar[Mapping[str, str] | None] = ContextVar("cyclewright_ids", default=None)
# A cycle's workflow ids name it: cycle-{id} and its runs' cycle-{id}-run-{n}.
_CYCLE_WORKFLOW = re.compile(r"^cycle-(?P<cycle>[0-9a-f-]{36})(?:-run-\d+)?$")


def bind(**ids: Any) -> None:
    """Add ids to this task's context (None is left out) and to its current span. A task's
    context is its own: a step's transactions, each in a task, have a transaction each."""
    known = {name: str(value) for name, value in ids.items() if value is not None}
    if not known:
        return
    _ids.set({**current(), **known})
    if known.keys() - {"transaction"}:  # a transaction's number is not the span's (see _write)
        _write(trace.get_current_span(), known)


def mark(span: Span) -> None:
    """Write the ids bound so far on a span that starts after they were bound (an API request's)."""
    _write(span, current())


def _write(span: Span, ids: Mapping[str, str]) -> None:
    if span.is_recording():  # not the transaction: an activity's span covers many
        span.set_attributes({f"cyclewright.{name}": value for name, value in ids.items() if name != "transaction"})


def current() -> Mapping[str, str]:
    """cycle_id, run_id, step_id, transaction (its number in the run), account_id: those known."""
    return _ids.get() or {}


def _from_input(argument: Any) -> dict[str, Any]:
    """The ids an activity's input names: its cycle_id, run_id, step and account_id fields
    (a RetryPlan's are on its plan)."""
    plan = getattr(argument, "plan", None)
    return {"cycle_id": getattr(argument, "cycle_id", None),
            "run_id": getattr(argument, "run_id", None) or getattr(plan, "run_id", None),
            "step_id": getattr(argument, "step", None),
            "account_id": getattr(argument, "account_id", None)}


def _cycle_of(workflow_id: str) -> str | None:
    match = _CYCLE_WORKFLOW.match(workflow_id)
    return match["cycle"] if match else None


class ContextInterceptor(Interceptor):
    """Binds what each activity's input and workflow id tell of its ids; the activity adds what
    it learns by loading its step (the account). Runs inside the tracing interceptor, so the ids
    go on the activity's span."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindIds(next)


class _BindIds(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # Not reset afterwards: the activity runs in a task of its own, whose last line (the
        # worker's note of a failed attempt) should carry the ids too.
        found = _from_input(input.args[0]) if input.args else {"cycle_id": None}
        workflow_id = activity.info().workflow_id or ""
        found["cycle_id"] = found["cycle_id"] or _cycle_of(workflow_id)
        bind(**found)
        return await self.next.execute_activity(input)
