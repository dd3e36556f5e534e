"""RunWorkflow: one run of a cycle — the trigger's pages into the transaction store, then
ranges of transactions through the steps, several in flight at once."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import names
from workflows.flow import ERRORED_TRANSACTIONS, RUN_STATUS, Flows, failure_reason, was_cancelled
from workflows.messages import (
    CloseRun,
    CollectRequest,
    FetchRequest,
    FetchResult,
    OpenRun,
    RunInput,
    RunPlan,
    RunProgress,
    RunSummary,
)
from workflows.options import BOOKKEEPING, upstream

RANGES_IN_FLIGHT = 4
FETCH_AHEAD = 8  # ranges read but not yet started, before the trigger waits
# The first fetch is short so that later steps start soon; the others (and a trigger's with no
# step after it) long, for fewer round trips: the trigger's time bound ends them first.
FIRST_FETCH_RANGES = 4
FETCH_RECORDS = 50_000
KEPT_WARNINGS = 20
# Continue as new well before Temporal's limits: each history stays small however large the run.
HISTORY_EVENTS = 4_000
HISTORY_BYTES = 1_000_000
ATTRIBUTE_EVERY = timedelta(seconds=5)


@workflow.defn(name=names.RUN_WORKFLOW)
class RunWorkflow:
    def __init__(self) -> None:
        self.paused = False
        self.progress = RunProgress()
        self.plan: RunPlan | None = None
        self.flows: Flows | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.ranges = 0  # in flight
        self.fetching = False
        self.failure: str | None = None
        self.draining = False
        self.stop_taking = False
        self.stop_reported = False
        self.changed = False
        self.batch = 0  # transactions per range: the run's input says
        self.errored_shown = 0
        self.shown_at: datetime | None = None

    @workflow.signal
    def pause(self) -> None:
        self._set_paused(True)

    @workflow.signal
    def take_no_more(self) -> None:
        """A webhook run of a stopping cycle: finish the events taken, take no new ones (events
        that go on arriving would otherwise keep it running for ever)."""
        if self.plan is None or self.plan.steps[0].type == "Webhook":
            self.stop_taking, self.changed = True, True

    @workflow.signal
    def resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        self.paused, self.changed = paused, True
        if self.flows:
            self.flows.paused = paused

    @workflow.query
    def state(self) -> dict[str, Any]:
        flows = self.flows
        return {
            "paused": self.paused,
            "waiting_while_paused": self.paused and not self.fetching and (flows is None or flows.activities == 0),
            "fetched": self.progress.fetched,
            "succeeded": flows.succeeded if flows else self.progress.succeeded,
            "errored": flows.errored if flows else self.progress.errored,
        }

    @workflow.run
    async def run(self, input: RunInput) -> RunSummary:
        self.progress, self.batch = input.progress or RunProgress(), input.batch_size
        self.paused = self.paused or self.progress.paused
        self.plan = await workflow.execute_activity(
            names.OPEN_RUN, OpenRun(input.cycle_id, input.number, workflow.info().workflow_id),
            result_type=RunPlan, **BOOKKEEPING,
        )
        self.flows = Flows(self.plan, self.progress.succeeded, self.progress.errored)
        self.flows.paused = self.paused
        try:
            await self._pump()
        except asyncio.CancelledError:
            await self._stop_tasks()
            await self._close("Cancelled", "the cycle was stopped")
            raise
        p, stop_cycle = self.progress, self.flows.stop_cycle
        if self.failure is None and stop_cycle is None and not self._through():
            p.succeeded, p.errored, p.paused = self.flows.succeeded, self.flows.errored, self.paused
            p.trigger_done = p.trigger_done or self.stop_taking
            workflow.continue_as_new(replace(input, progress=p))
        if stop_cycle:  # the transactions in flight are through; the rest stay Stopped
            summary = await self._close("Cancelled", f"the cycle was paused: {stop_cycle}")
            summary.pause_reason = stop_cycle
            return summary
        summary = await self._close("Failed" if self.failure else "Succeeded", self.failure)
        if self.failure:
            # Failed in Temporal too, with the reason: the Web UI shows what the API shows.
            raise ApplicationError(self.failure, type="RunFailed", non_retryable=True)
        return summary

    async def _pump(self) -> None:
        """Start fetches and ranges as room allows until the run is through (or must stop)."""
        while True:
            self._start_work()
            self._show_progress()
            await self._report_stop_cycle()
            if self.ranges == 0 and not self.fetching and (self.draining or self._through()):
                return
            await workflow.wait_condition(lambda: self.changed or self._stop_cycle_unreported())
            self.changed = False

    async def _report_stop_cycle(self) -> None:
        """A StopCycle step failed: the cycle pauses now, with the reason, while this run
        finishes the transactions in flight (which may wait in a long Delay)."""
        if self._stop_cycle_unreported():
            self.stop_reported = True
            parent = workflow.info().parent
            if parent is not None:
                await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                    names.PAUSE_FOR, self.flows.stop_cycle)

    def _stop_cycle_unreported(self) -> bool:
        return self.flows.stop_cycle is not None and not self.stop_reported

    def _through(self) -> bool:
        p = self.progress
        return p.trigger_done and p.dispatched == p.fetched

    def _start_work(self) -> None:
        p, info, batch = self.progress, workflow.info(), self.batch
        long = (info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_EVENTS
                or info.get_current_history_size() > HISTORY_BYTES)
        self.draining = self.draining or self.failure is not None or self.flows.stop_cycle is not None or long
        if self.draining or self.paused:
            return
        if self.stop_taking and not self.fetching:
            p.trigger_done = True  # what was taken is all this run has
        first_step = self.plan.steps[0].next
        if self.plan.collection_split == "None":
            self._start_collection(first_step)
            return
        while self.ranges < RANGES_IN_FLIGHT and p.fetched - p.dispatched >= (1 if p.trigger_done else batch):
            end = min(p.dispatched + batch, p.fetched)
            self.ranges += 1  # now, not when the task first runs: _pump reads it before then
            self._spawn(self._range(first_step, p.dispatched + 1, end + 1))
            p.dispatched = end
        if not p.trigger_done and not self.fetching and p.fetched - p.dispatched < FETCH_AHEAD * batch:
            self.fetching = True
            self._spawn(self._fetch())

    def _start_collection(self, first_step: str | None) -> None:
        """CollectionSplit None: every record read, then one transaction (number 0) of them all."""
        p = self.progress
        if not p.trigger_done:
            if not self.fetching:
                self.fetching = True
                self._spawn(self._fetch())
        elif p.dispatched < p.fetched and self.ranges == 0:
            p.dispatched = p.fetched
            self.ranges += 1
            self._spawn(self._collect(first_step))

    async def _collect(self, first_step: str | None) -> None:
        try:
            await workflow.execute_activity(names.COLLECT_RECORDS, CollectRequest(self.plan.run_id, self.plan.steps[0].id,
                                                                            first_step), **BOOKKEEPING)
            if first_step:
                await self.flows.through(first_step, 0, 1)
            else:
                self.flows.succeeded += 1
        except ActivityError as err:
            self._fail(err)
        finally:
            self.ranges -= 1
            self.changed = True

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.tasks = [t for t in self.tasks if not t.done()]
        self.tasks.append(asyncio.create_task(work))

    async def _fetch(self) -> None:
        p, trigger = self.progress, self.plan.steps[0]
        try:
            result: FetchResult = await workflow.execute_activity(
                names.TAKE_EVENTS if trigger.type == "Webhook" else names.FETCH_TRIGGER,
                FetchRequest(self.plan.run_id, self.plan.plan_id, trigger.id, p.fetched + 1, p.cursor,
                             FETCH_RECORDS if p.fetched or trigger.next is None else FIRST_FETCH_RANGES * self.batch),
                result_type=FetchResult,
                summary=trigger.summary(f"records from {p.fetched + 1}"),
                **upstream(self.plan.retry_seconds),
            )
            p.cursor, p.trigger_done = result.cursor, result.cursor is None
            p.fetched += result.count
            p.warnings = (p.warnings + result.warnings)[:KEPT_WARNINGS]
            if trigger.next is None and self.plan.collection_split != "None":  # done already
                p.dispatched = p.fetched
                self.flows.succeeded += result.count
        except ActivityError as err:
            self._fail(err)
        finally:
            self.fetching, self.changed = False, True

    async def _range(self, step: str, first: int, end: int) -> None:
        try:
            await self.flows.through(step, first, end)
        except ActivityError as err:
            self._fail(err)
        finally:
            self.ranges -= 1
            self.changed = True

    def _fail(self, err: ActivityError) -> None:
        if not was_cancelled(err) and self.failure is None:
            self.failure = failure_reason(err, self.plan.retry_seconds)

    async def _stop_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _show_progress(self) -> None:
        """Current details and ErroredTransactions for the Web UI (the attribute at most every few s)."""
        p, flows = self.progress, self.flows
        paused = " · paused" if self.paused else ""
        workflow.set_current_details(
            f"{p.fetched} read · {flows.succeeded} succeeded · {flows.errored} errored · "
            f"{self.ranges} ranges in flight{paused}"
            + (f"\nlast error: {flows.errors[-1]}" if flows.errors else ""))
        now = workflow.now()
        if flows.errored != self.errored_shown and (self.shown_at is None or now - self.shown_at >= ATTRIBUTE_EVERY):
            self.errored_shown, self.shown_at = flows.errored, now
            workflow.upsert_search_attributes([ERRORED_TRANSACTIONS.value_set(flows.errored)])

    async def _close(self, status: str, message: str | None) -> RunSummary:
        summary: RunSummary = await workflow.execute_activity(
            names.CLOSE_RUN, CloseRun(self.plan.run_id, status, message, self.progress.warnings),
            result_type=RunSummary, **BOOKKEEPING,
        )
        workflow.upsert_search_attributes([RUN_STATUS.value_set(status),
                                           ERRORED_TRANSACTIONS.value_set(summary.errored)])
        workflow.set_current_details(f"{status}: {summary.succeeded} succeeded · {summary.errored} errored"
                                     + (f" · {summary.stopped} stopped" if summary.stopped else "")
                                     + (f"\n{message}" if message else ""))
        return summary
