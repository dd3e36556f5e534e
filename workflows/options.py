"""Activity timeouts and retry policies, in one place so every call reads the same."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Failures that no retry can fix: the engine raises these as ApplicationError types.
NON_RETRYABLE = ["StepError", "Unauthorized", "MissingMergefield", "FieldValueError", "NotFound",
                 "NeedsReauthentication"]

BOOKKEEPING = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}

# Upstream calls retry without a limit: an outage delays records, it never drops them.
UPSTREAM = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=NON_RETRYABLE,
    ),
}
