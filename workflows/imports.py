"""ImportWorkflow: one OpenAPI import in the background (`import-{id}`). Its activity converts
the document and records the outcome; when every try fails, the import is recorded as failed
with the cause, so it never stays Running."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import names
from workflows.options import BOOKKEEPING, IMPORTING


@workflow.defn(name=names.IMPORT_WORKFLOW)
class ImportWorkflow:
    @workflow.run
    async def run(self, import_id: str) -> str:
        try:
            outcome: str = await workflow.execute_activity(names.IMPORT_OPENAPI, import_id, result_type=str,
                                                           **IMPORTING)
        except ActivityError as err:
            cause = str(err.cause or err)
            outcome = await workflow.execute_activity(names.FAIL_IMPORT, args=[import_id, cause], result_type=str,
                                                      **BOOKKEEPING)
        workflow.set_current_details(outcome)
        return outcome
