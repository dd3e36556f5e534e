"""The names Temporal knows our workflows, activities and cross-workflow signals by.

Every history records them, and a cycle's history lives for months: a worker replays it by
these names, so they never change (docs/changing-workflows.md). The worker registers them and
the workflows call them from here; tests/replay/test_names.py checks that the two agree with
each other and with the recorded histories.
"""

from __future__ import annotations

# Workflows
CYCLE_WORKFLOW = "CycleWorkflow"
RUN_WORKFLOW = "RunWorkflow"
TRANSACTION_RETRY_WORKFLOW = "TransactionRetryWorkflow"
RETENTION_WORKFLOW = "RetentionWorkflow"
IMPORT_WORKFLOW = "ImportWorkflow"
TOOL_CALL_WORKFLOW = "ToolCallWorkflow"

# Activities: run bookkeeping (activities/bookkeeping.py)
OPEN_RUN = "open_run"
CLOSE_RUN = "close_run"
COLLECT_RECORDS = "collect_records"
SAVE_CYCLE_STATUS = "save_cycle_status"
REOPEN_TRANSACTION = "reopen_transaction"
CLOSE_RETRY = "close_retry"
# Activities: third-party calls and webhooks (activities/trigger.py, steps.py, webhooks.py)
FETCH_TRIGGER = "fetch_trigger"
RUN_STEP = "run_step"
TAKE_EVENTS = "take_events"
PENDING_EVENTS = "pending_events"
SUBSCRIBE_WEBHOOKS = "subscribe_webhooks"
UNSUBSCRIBE_WEBHOOKS = "unsubscribe_webhooks"
# Activities: retention (activities/retention.py)
PURGE_EXPIRED = "purge_expired"
# Activities: OpenAPI imports (activities/imports.py)
IMPORT_OPENAPI = "import_openapi"
FAIL_IMPORT = "fail_import"
# Activities: agents' writes (activities/tool_calls.py)
SEND_TOOL_CALL = "send_tool_call"
DECIDE_TOOL_CALL = "decide_tool_call"
FAIL_TOOL_CALL = "fail_tool_call"
# The namespace check before each run (activities/namespace.py; a local activity)
NAMESPACE_LACKS = "namespace_lacks"

# The signal a run sends its cycle (RunWorkflow cannot import CycleWorkflow, which imports it)
PAUSE_FOR = "pause_for"

WORKFLOWS = (CYCLE_WORKFLOW, RUN_WORKFLOW, TRANSACTION_RETRY_WORKFLOW, RETENTION_WORKFLOW, IMPORT_WORKFLOW,
             TOOL_CALL_WORKFLOW)
ACTIVITIES = (OPEN_RUN, CLOSE_RUN, COLLECT_RECORDS, SAVE_CYCLE_STATUS, REOPEN_TRANSACTION, CLOSE_RETRY,
              FETCH_TRIGGER, RUN_STEP, TAKE_EVENTS, PENDING_EVENTS, SUBSCRIBE_WEBHOOKS, UNSUBSCRIBE_WEBHOOKS,
              PURGE_EXPIRED, NAMESPACE_LACKS, IMPORT_OPENAPI, FAIL_IMPORT, SEND_TOOL_CALL, DECIDE_TOOL_CALL,
              FAIL_TOOL_CALL)
