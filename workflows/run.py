"""RunWorkflow: one run of a cycle — the trigger's pages, then every record through the steps."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from workflows.messages import (
    BatchRequest,
    BatchResult,
    CloseRun,
    FetchRequest,
    FetchResult,
    OpenRun,
    Record,
    RunInput,
    RunPlan,
    RunProgress,
    RunSummary,
    StepPlan,
    Transaction,
)
from workflows.options import BOOKKEEPING, UPSTREAM


@workflow.defn
class RunWorkflow:
    def __init__(self) -> None:
        self.paused = False
        self.waiting_while_paused = False
        self.progress = RunProgress()

    @workflow.signal
    def pause(self) -> None:
        self.paused = True

    @workflow.signal
    def resume(self) -> None:
        self.paused = False

    @workflow.query
    def state(self) -> dict:
        return {
            "paused": self.paused,
            "waiting_while_paused": self.waiting_while_paused,
            "succeeded": self.progress.succeeded,
            "errored": self.progress.errored,
        }

    @workflow.run
    async def run(self, input: RunInput) -> RunSummary:
        self.progress = input.progress or RunProgress()
        plan: RunPlan = await workflow.execute_activity(
            "open_run",
            OpenRun(input.cycle_id, input.number, workflow.info().workflow_id),
            result_type=RunPlan,
            **BOOKKEEPING,
        )
        status, message = "Succeeded", None
        try:
            if await self._run_pages(input, plan):
                workflow.continue_as_new(replace(input, progress=self.progress))
        except ActivityError as err:
            if not isinstance(err.cause, CancelledError):
                status, message = "Failed", _reason(err)
            else:
                status = "Cancelled"
        except asyncio.CancelledError:
            status = "Cancelled"
        if status == "Cancelled":
            await self._close(plan, status, "the cycle was stopped")
            raise asyncio.CancelledError()
        return await self._close(plan, status, message)

    async def _run_pages(self, input: RunInput, plan: RunPlan) -> bool:
        """Fetch and process page by page; True when history asks to continue as new."""
        trigger, steps = plan.steps[0], {s.template_step_id: s for s in plan.steps}
        cursor = self.progress.cursor
        while True:
            page: FetchResult = await workflow.execute_activity(
                "fetch_pages",
                FetchRequest(plan.run_id, trigger, cursor),
                result_type=FetchResult,
                **UPSTREAM,
            )
            first = self.progress.next_transaction
            self.progress.next_transaction += len(page.records)
            self.progress.warnings += page.warnings
            for start in range(0, len(page.records), input.batch_size):
                await self._wait_while_paused()
                records = page.records[start : start + input.batch_size]
                await self._through_steps(input, plan, steps, trigger, first + start, records)
            cursor = self.progress.cursor = page.cursor
            if cursor is None:
                return False
            if workflow.info().is_continue_as_new_suggested():
                return True

    async def _through_steps(
        self, input: RunInput, plan: RunPlan, steps: dict[str, StepPlan], trigger: StepPlan,
        first: int, records: list[Record],
    ) -> None:
        """A batch of trigger records, one transaction each, through the later steps."""
        step = steps.get(trigger.next) if trigger.next else None
        if step is None:  # a trigger-only template: each record is a transaction already done
            self.progress.succeeded += len(records)
            return
        batch = [Transaction(f"{input.number}-{first + i}", {trigger.template_step_id: record})
                 for i, record in enumerate(records)]
        while step is not None and batch:
            result: BatchResult = await workflow.execute_activity(
                "process_batch",
                BatchRequest(plan.run_id, input.cycle_id, step, batch),
                result_type=BatchResult,
                **UPSTREAM,
            )
            by_key = {o.key: o for o in result.outcomes}
            carried = []
            for transaction in batch:
                outcome = by_key[transaction.key]
                if outcome.ok or step.on_error == "Ignore":
                    transaction.data[step.template_step_id] = outcome.record or {}
                    carried.append(transaction)
                else:
                    self.progress.errored += 1
            batch = carried
            step = steps.get(step.next) if step.next else None
        self.progress.succeeded += len(batch)

    async def _wait_while_paused(self) -> None:
        if self.paused:
            self.waiting_while_paused = True
            await workflow.wait_condition(lambda: not self.paused)
            self.waiting_while_paused = False

    async def _close(self, plan: RunPlan, status: str, message: str | None) -> RunSummary:
        p = self.progress
        await workflow.execute_activity(
            "close_run", CloseRun(plan.run_id, status, p.succeeded, p.errored, message, p.warnings),
            **BOOKKEEPING,
        )
        return RunSummary(plan.run_id, status, p.succeeded, p.errored, message)


def _reason(err: ActivityError) -> str:
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)
