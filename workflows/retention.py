"""RetentionWorkflow: one retention pass, started every hour by the "cyclewright-retention"
Schedule (runtime/schedules.py); what it deleted is its result and its current details."""

from __future__ import annotations

from temporalio import workflow

from workflows import names
from workflows.messages import PurgeCounts
from workflows.options import PURGE


@workflow.defn(name=names.RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> PurgeCounts:
        counts: PurgeCounts = await workflow.execute_activity(
            names.PURGE_EXPIRED, result_type=PurgeCounts, **PURGE)
        workflow.set_current_details(counts.summary())
        return counts
