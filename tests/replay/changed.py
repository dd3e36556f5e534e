"""The same change to each of three workflows — a command where their histories have another —
made bare, then guarded by `workflow.patched`: what tests/replay/test_replay.py replays the
recorded histories against. Each class takes the registered name of the workflow it changes.

A module of its own: the workflow sandbox imports it, so it imports only what workflows may.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows import names
from workflows.cycle import CycleWorkflow
from workflows.messages import CycleInput, OpenRun, PurgeCounts, RunInput, RunSummary
from workflows.options import BOOKKEEPING
from workflows.retention import RetentionWorkflow
from workflows.run import RunWorkflow


@workflow.defn(name=names.RETENTION_WORKFLOW)
class RetentionWaitingFirst(RetentionWorkflow):
    @workflow.run
    async def run(self) -> PurgeCounts:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run()


@workflow.defn(name=names.RETENTION_WORKFLOW)
class RetentionWaitingFirstPatched(RetentionWorkflow):
    @workflow.run
    async def run(self) -> PurgeCounts:
        if workflow.patched("retention-waits-first"):
            await workflow.sleep(timedelta(minutes=1))
        return await super().run()


@workflow.defn(name=names.CYCLE_WORKFLOW)
class CycleAnnouncingStatus(CycleWorkflow):
    @workflow.run
    async def run(self, input: CycleInput) -> str:
        return await super().run(input)

    async def _set_status(self, status: str, reason: str | None = None) -> None:
        await workflow.execute_activity("announce_status", status, **BOOKKEEPING)
        await super()._set_status(status, reason)


@workflow.defn(name=names.CYCLE_WORKFLOW)
class CycleAnnouncingStatusPatched(CycleWorkflow):
    @workflow.run
    async def run(self, input: CycleInput) -> str:
        return await super().run(input)

    async def _set_status(self, status: str, reason: str | None = None) -> None:
        if workflow.patched("cycle-announces-status"):
            await workflow.execute_activity("announce_status", status, **BOOKKEEPING)
        await super()._set_status(status, reason)


@workflow.defn(name=names.RUN_WORKFLOW)
class RunOpeningTwice(RunWorkflow):
    @workflow.run
    async def run(self, input: RunInput) -> RunSummary:
        await workflow.execute_activity(names.OPEN_RUN, OpenRun(input.cycle_id, input.number, "twice"),
                                        **BOOKKEEPING)
        return await super().run(input)


@workflow.defn(name=names.RUN_WORKFLOW)
class RunOpeningTwicePatched(RunWorkflow):
    @workflow.run
    async def run(self, input: RunInput) -> RunSummary:
        if workflow.patched("run-opens-twice"):
            await workflow.execute_activity(names.OPEN_RUN, OpenRun(input.cycle_id, input.number, "twice"),
                                            **BOOKKEEPING)
        return await super().run(input)



# workflow name -> (changed bare, changed behind a patch)
CHANGED = {names.RETENTION_WORKFLOW: (RetentionWaitingFirst, RetentionWaitingFirstPatched),
           names.CYCLE_WORKFLOW: (CycleAnnouncingStatus, CycleAnnouncingStatusPatched),
           names.RUN_WORKFLOW: (RunOpeningTwice, RunOpeningTwicePatched)}
