"""CycleWorkflow: one per active cycle — the schedule, and the Updates that steer it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

from workflows import names
from workflows.flow import ERRORED_TRANSACTIONS, RUN_STATUS, failure_reason
from workflows.messages import (
    CycleInput,
    CycleState,
    NamespaceLacks,
    RunInput,
    RunSummary,
    StatusChange,
    StopRequest,
)
from workflows.options import BOOKKEEPING, NAMESPACE_CHECK, upstream
from workflows.run import RunWorkflow

ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
CYCLE_ID = SearchAttributeKey.for_keyword("CycleId")
TEMPLATE_ID = SearchAttributeKey.for_keyword("TemplateId")
CYCLE_STATUS = SearchAttributeKey.for_keyword("CycleStatus")
SUBSCRIBE_SECONDS = 120  # how long a failing (un)subscription is retried
# Patch: each run is started only once the namespace is seen to have the search attributes runs
# are started with, and a run that cannot start ends the cycle Errored, with why (before it, the
# server rejected the start and the cycle stalled Active without runs).
RUNS_CHECKED = "runs-checked-before-start"
EVENTS_LOOKED_FOR_EVERY = timedelta(seconds=30)  # a lost wake-up delays events at most this long


def search_attributes(account_id: str, cycle_id: str, template_id: str, *more: SearchAttributePair
                      ) -> TypedSearchAttributes:
    """The attributes that let the Web UI filter every workflow of an account or cycle."""
    return TypedSearchAttributes([
        SearchAttributePair(ACCOUNT_ID, account_id),
        SearchAttributePair(CYCLE_ID, cycle_id),
        SearchAttributePair(TEMPLATE_ID, template_id),
        *more,
    ])


def cycle_attributes(input: CycleInput, status: str) -> TypedSearchAttributes:
    return search_attributes(input.account_id, input.cycle_id, input.template_id,
                             SearchAttributePair(CYCLE_STATUS, status))


class RunNotStarted(Exception):
    """A run that cannot start: the cycle can go no further."""


def run_attributes(account_id: str, cycle_id: str, template_id: str) -> TypedSearchAttributes:
    """A run (or a transaction retry) as it starts: Running, nothing errored yet."""
    return search_attributes(account_id, cycle_id, template_id, SearchAttributePair(RUN_STATUS, "Running"),
                             SearchAttributePair(ERRORED_TRANSACTIONS, 0))


@workflow.defn(name=names.CYCLE_WORKFLOW)
class CycleWorkflow:
    def __init__(self) -> None:
        self.input: CycleInput | None = None
        self.status = "Active"
        self.paused = False
        self.stop_request: StopRequest | None = None
        self.run_now_requested = False
        self.child: workflow.ChildWorkflowHandle | None = None
        self.runs_started = 0
        self.next_run_at: datetime | None = None
        self.finished = False
        self.status_lock = asyncio.Lock()
        self.reason: str | None = None
        self.events = False  # a webhook cycle has events waiting
        self.pause_reported = False  # the run in progress has said a StopCycle step failed
        self.ready = False
        self.status_writes = 0
        self.unusable_attributes: list[str] = []  # search attributes the namespace lacks

    @workflow.run
    async def run(self, input: CycleInput) -> str:
        self.input, self.paused, self.status_writes = input, input.paused, input.status_writes
        number = input.next_run_number
        due = input.next_run_at or input.start_time or workflow.now()
        if input.webhook and not input.subscribed and not await self._subscribe():
            return "Errored"
        self.ready = True
        await self._set_status("Paused" if self.paused else "Active")
        while self.stop_request is None:
            self.next_run_at = None if input.webhook else due
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(
                    input, next_run_number=number, next_run_at=due, paused=self.paused,
                    status_writes=self.status_writes, subscribed=input.webhook))
            if not await (self._wait_for_events() if input.webhook else self._wait_for_run(due)):
                continue
            self.run_now_requested = self.events = False
            try:
                stopped_by_a_step = await self._run(number)
            except RunNotStarted as err:
                return await self._end_errored(str(err))
            number += 1
            if input.run_once and not input.webhook:
                if not stopped_by_a_step:
                    break
                continue  # paused by a StopCycle step: once resumed, it runs once more
            due = self._next_due(due)
        await self._set_status("Stopped", await self._unsubscribe() if input.webhook else None)
        return await self._finish("Stopped")

    async def _end_errored(self, reason: str) -> str:
        """The cycle can go no further: Errored, with why (its webhooks unsubscribed first)."""
        unsubscribed = await self._unsubscribe() if self.input.webhook else None
        await self._set_status("Errored", f"{reason}; {unsubscribed}" if unsubscribed else reason)
        return await self._finish("Errored")

    async def _finish(self, status: str) -> str:
        self.finished = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    async def _subscribe(self) -> bool:
        """A webhook cycle's subscriptions at its connectors; a failure leaves it Errored, with why."""
        try:
            await workflow.execute_activity(names.SUBSCRIBE_WEBHOOKS, self.input.cycle_id, **upstream(SUBSCRIBE_SECONDS),
                                            summary="subscribe the cycle's webhooks")
        except ActivityError as err:
            await self._set_status("Errored", f"the webhook subscription failed: "
                                              f"{failure_reason(err, SUBSCRIBE_SECONDS)}")
            await self._finish("Errored")
            return False
        return True

    async def _unsubscribe(self) -> str | None:
        """The cycle's subscriptions removed; if one could not be, why (the cycle stops all the same)."""
        try:
            await workflow.execute_activity(names.UNSUBSCRIBE_WEBHOOKS, self.input.cycle_id,
                                            **upstream(SUBSCRIBE_SECONDS), summary="unsubscribe the cycle's webhooks")
        except ActivityError as err:
            return f"the webhook subscription could not be removed: {failure_reason(err, SUBSCRIBE_SECONDS)}"
        return None

    async def _wait_for_events(self) -> bool:
        """Wait for a wake-up from the webhook endpoint (or look for events on a timer, in case
        one was lost); True when a run should start now."""
        if self.paused:
            await workflow.wait_condition(lambda: not self.paused or self.stop_request is not None)
            return False
        if self.events or self.run_now_requested:
            return True
        try:
            await workflow.wait_condition(
                lambda: self.events or self.run_now_requested or self.paused or self.stop_request is not None,
                timeout=EVENTS_LOOKED_FOR_EVERY)
        except TimeoutError:
            waiting: int = await workflow.execute_activity(names.PENDING_EVENTS, self.input.cycle_id, result_type=int,
                                                           **BOOKKEEPING)
            return waiting > 0 and self.stop_request is None
        return (self.events or self.run_now_requested) and self.stop_request is None

    @workflow.signal(name=names.PAUSE_FOR)
    async def pause_for(self, reason: str) -> None:
        """A StopCycle step failed: Paused, with the reason, as soon as the run says so (the run
        goes on to finish what it has in flight)."""
        self.pause_reported = True
        if not self.paused and self.stop_request is None:
            self.paused = True
            await self._set_status("Paused", reason)

    @workflow.signal
    def events_arrived(self) -> None:
        """The webhook endpoint queued events: a run takes them (one run for many wake-ups)."""
        self.events = True

    @workflow.update
    async def ready(self) -> CycleState:
        """Answers once the cycle has started (its webhooks subscribed), or could not."""
        await workflow.wait_condition(lambda: self.ready or self.finished)
        return self.state()

    async def _wait_for_run(self, due: datetime) -> bool:
        """Wait until the run is due or something changes; True when a run should start now."""
        if self.paused:
            await workflow.wait_condition(lambda: not self.paused or self.stop_request is not None)
            return False
        wait = (due - workflow.now()).total_seconds()
        if wait <= 0 or self.run_now_requested:
            return True
        try:
            await workflow.wait_condition(
                lambda: self.run_now_requested or self.paused or self.stop_request is not None,
                timeout=timedelta(seconds=wait),
            )
        except TimeoutError:
            return True
        return self.run_now_requested and self.stop_request is None

    def _next_due(self, due: datetime) -> datetime:
        # A run that overran its interval is followed at once; missed slots are not replayed.
        interval = timedelta(seconds=self.input.interval_seconds or 60)
        now = workflow.now()
        if due > now:
            return due
        return due + interval * ((now - due) // interval + 1)

    async def _run(self, number: int) -> bool:
        """One run, to its end; True when a StopCycle step stopped it."""
        input = self.input
        self.pause_reported = False
        run_id = f"cycle-{input.cycle_id}-run-{number}"
        checked = workflow.patched(RUNS_CHECKED)
        if checked:
            await self._check_namespace(number)
        try:
            self.child = await workflow.start_child_workflow(
                RunWorkflow.run,
                RunInput(input.cycle_id, input.account_id, input.template_id, number, input.batch_size),
                id=run_id,
                search_attributes=run_attributes(input.account_id, input.cycle_id, input.template_id),
                static_summary=f"Run {number} of cycle {input.cycle_id}",
            )
        except FailureError as err:  # a workflow of the run's id is running already, say
            if not checked:
                raise
            raise RunNotStarted(f"run {number} could not start as workflow {run_id}: {err.message}") from None
        self.runs_started += 1
        if self.paused:
            await self._tell_run(RunWorkflow.pause)
        try:
            summary: RunSummary = await self.child
        except ChildWorkflowError as err:
            # A failed or cancelled run is recorded by the run itself; the schedule goes on.
            workflow.logger.warning("run %s ended: %s", run_id, err.cause)
            return False
        finally:
            self.child = None
        if summary.pause_reason and not self.pause_reported:  # its signal may have been lost
            await self.pause_for(summary.pause_reason)
        return summary.pause_reason is not None

    async def _check_namespace(self, number: int) -> None:
        """RunNotStarted, with why, when the namespace lacks search attributes the run is started
        with: the server would reject its start, again and again, with only a worker log line."""
        try:
            lacks: NamespaceLacks | None = await workflow.execute_local_activity(
                names.NAMESPACE_LACKS, result_type=NamespaceLacks | None, **NAMESPACE_CHECK)
        except ActivityError as err:  # Temporal would not say: the run's start will tell
            workflow.logger.warning("the namespace could not be checked before run %d: %s", number, err.cause)
            return
        if lacks is not None:
            self.unusable_attributes = lacks.attributes
            raise RunNotStarted(f"run {number} cannot start: {lacks.reason}")

    async def _tell_run(self, signal) -> None:
        """Signal the run in progress; one that has just ended (its end not yet seen here)
        needs no telling."""
        child = self.child  # the run may end, and self.child be cleared, while the signal is sent
        if child is None:
            return
        try:
            await child.signal(signal)
        except FailureError as err:
            workflow.logger.info("run %s not signalled: %s", child.id, err)

    async def _set_status(self, status: str, reason: str | None = None) -> None:
        """The status in the database and the CycleStatus attribute; the reason, when the cycle
        paused or errored by itself, in both the database and the Web UI's details."""
        async with self.status_lock:
            self.status, self.reason = status, reason
            self.status_writes += 1
            if CYCLE_STATUS.name not in self.unusable_attributes:  # the server would reject the workflow task
                workflow.upsert_search_attributes([CYCLE_STATUS.value_set(status)])
            workflow.set_current_details(f"{status}: {reason}" if reason else status)
            change = StatusChange(self.input.cycle_id, status, workflow.info().first_execution_run_id,
                                  self.status_writes, reason)
            await workflow.execute_activity(names.SAVE_CYCLE_STATUS, change, **BOOKKEEPING)

    @workflow.query
    def state(self) -> CycleState:
        return CycleState(
            status=self.status,
            paused=self.paused,
            run_in_progress=self.child.id if self.child else None,
            runs_started=self.runs_started,
            next_run_at=self.next_run_at,
            reason=self.reason,
        )

    def _ensure_not_stopping(self) -> None:
        if self.stop_request is not None or self.finished:
            raise ValueError("the cycle is stopping")

    @workflow.update
    async def pause(self) -> CycleState:
        if not self.paused:
            self.paused = True
            await self._tell_run(RunWorkflow.pause)
            await self._set_status("Paused")
        return self.state()

    @pause.validator
    def _validate_pause(self) -> None:
        self._ensure_not_stopping()

    @workflow.update
    async def resume(self) -> CycleState:
        if self.paused:
            self.paused = False
            await self._tell_run(RunWorkflow.resume)
            await self._set_status("Active")
        return self.state()

    @resume.validator
    def _validate_resume(self) -> None:
        self._ensure_not_stopping()

    @workflow.update
    async def run_now(self) -> CycleState:
        self.run_now_requested = True
        return self.state()

    @run_now.validator
    def _validate_run_now(self) -> None:
        self._ensure_not_stopping()
        if self.paused:
            raise ValueError("the cycle is paused")

    @workflow.update
    async def stop(self, request: StopRequest) -> CycleState:
        self.stop_request = request
        if self.child and request.finish_current:
            # Stopping first: the run may end while it is told, and its Stopped must come last.
            await self._set_status("Stopping")
            if self.paused:  # a paused run would never finish
                await self._tell_run(RunWorkflow.resume)
            if self.input.webhook:
                await self._tell_run(RunWorkflow.take_no_more)
            return self.state()
        if self.child:
            self.child.cancel()
        await workflow.wait_condition(lambda: self.finished)
        return self.state()

    @stop.validator
    def _validate_stop(self, request: StopRequest) -> None:
        if self.stop_request is not None and self.stop_request.finish_current and not request.finish_current:
            return  # cancelling a run that was left to finish is allowed
        if self.stop_request is not None or self.finished:
            raise ValueError("the cycle is already stopping")
