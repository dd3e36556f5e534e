"""ToolCallWorkflow: one agent's write (`tool-call/<account>/<call id>`), started once per
account and call key (api/tool_calls.py). Held for approval when its tool asks for it: the
`decide` Update approves or rejects it, and an unanswered one expires — nothing is sent then.
Once it may go, one activity sends it with the call's id as the idempotency key and writes the
outcome to the store; when every try fails, the call is recorded Failed with the cause.

It carries only the call's id: the arguments and the result live in the store, encrypted."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import names
from workflows.messages import DecidedToolCall, ToolCallDecision, ToolCallInput
from workflows.options import BOOKKEEPING, SENDING


@workflow.defn(name=names.TOOL_CALL_WORKFLOW)
class ToolCallWorkflow:
    @workflow.init
    def __init__(self, input: ToolCallInput) -> None:
        self.awaiting = input.approval_seconds is not None  # an Update may come before the run starts
        self.decision: ToolCallDecision | None = None
        self.status: str | None = None  # the decision as recorded

    @workflow.run
    async def run(self, input: ToolCallInput) -> str:
        if input.approval_seconds is not None:
            status = await self._approval(input.call_id, timedelta(seconds=input.approval_seconds))
            if status != "Running":
                return await self._end(status)
        try:
            status = await workflow.execute_activity(names.SEND_TOOL_CALL, input.call_id, result_type=str,
                                                     summary="send the write", **SENDING)
        except ActivityError as err:
            status = await workflow.execute_activity(names.FAIL_TOOL_CALL, args=[input.call_id, str(err.cause or err)],
                                                     result_type=str, **BOOKKEEPING)
        return await self._end(status)

    async def _approval(self, call_id: str, timeout: timedelta) -> str:
        """Waits for a decision until `timeout`, and records it (or the expiry): Running if approved."""
        try:
            await workflow.wait_condition(lambda: self.decision is not None, timeout=timeout,
                                          timeout_summary="the approval expires")
        except TimeoutError:
            pass
        self.awaiting = False  # no decision is taken from here on
        decision = self.decision
        status = "Expired" if decision is None else "Running" if decision.approve else "Rejected"
        await workflow.execute_activity(
            names.DECIDE_TOOL_CALL, DecidedToolCall(call_id, status, decision and decision.by, workflow.now()),
            **BOOKKEEPING)
        self.status = status
        return status

    async def _end(self, status: str) -> str:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.set_current_details(status)
        return status

    @workflow.update
    async def decide(self, decision: ToolCallDecision) -> str:
        """Approve or reject the call: answers the status it then has (Running or Rejected), once recorded."""
        self.decision = decision
        await workflow.wait_condition(lambda: self.status is not None)
        return self.status or ""

    @decide.validator
    def _awaiting(self, decision: ToolCallDecision) -> None:
        if not self.awaiting or self.decision is not None:
            raise ValueError("the call is not awaiting approval")
