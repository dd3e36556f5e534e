"""TransactionRetryWorkflow: one errored or stopped transaction again, from the step where it
ended, with the records it had — in a workflow of its own, visible in the Web UI."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import names
from workflows.flow import ERRORED_TRANSACTIONS, RUN_STATUS, Flows, failure_reason
from workflows.messages import CloseRetry, RetryInput, RetryPlan
from workflows.options import BOOKKEEPING


@workflow.defn(name=names.TRANSACTION_RETRY_WORKFLOW)
class TransactionRetryWorkflow:
    @workflow.run
    async def run(self, input: RetryInput) -> str:
        retry: RetryPlan = await workflow.execute_activity(
            names.REOPEN_TRANSACTION, input.transaction_id, result_type=RetryPlan, **BOOKKEEPING)
        flows, failure = Flows(retry.plan), None
        try:
            await flows.through(retry.step, retry.seq, retry.seq + 1)
        except ActivityError as err:
            failure = failure_reason(err, retry.plan.retry_seconds)
        status: str = await workflow.execute_activity(
            names.CLOSE_RETRY, CloseRetry(input.transaction_id, failure), result_type=str, **BOOKKEEPING)
        workflow.upsert_search_attributes([
            RUN_STATUS.value_set("Failed" if failure else "Succeeded"),
            ERRORED_TRANSACTIONS.value_set(1 if status == "Errored" else 0),
        ])
        workflow.set_current_details(f"transaction {retry.seq}: {status}" + (f"\n{failure}" if failure else ""))
        if failure:
            raise ApplicationError(failure, type="RetryFailed", non_retryable=True)
        return status
