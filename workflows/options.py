"""Activity timeouts and retry policies, in one place so every call reads the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

# Failures that no retry can fix: the engine raises these as ApplicationError types.
NON_RETRYABLE = ["StepError", "Unauthorized", "MissingMergefield", "FieldValueError", "NotFound",
                 "NeedsReauthentication", "InvalidUrl", "InvalidCredentials", "ConfigurationError"]

# Our own database: an outage there stops everything, so these wait it out.
BOOKKEEPING: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}


# The namespace checked before a run (a local activity): retried briefly, then the run starts unchecked.
NAMESPACE_CHECK: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}


def upstream(retry_seconds: float) -> dict[str, Any]:
    """Calls to third-party APIs: retried with backoff (429s with their own delays) until
    `retry_seconds` after the first try, then given up; a stopped run waits for its
    activities to stop, so nothing is sent after the run says it ended."""
    return {
        "start_to_close_timeout": timedelta(minutes=10),
        "schedule_to_close_timeout": timedelta(seconds=retry_seconds),
        "heartbeat_timeout": timedelta(seconds=5),
        "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=1),
            maximum_interval=timedelta(minutes=5),
            non_retryable_error_types=NON_RETRYABLE,
        ),
    }


# Retention deletes in small committed batches, so a purge may take long but a retry resumes
# it: the heartbeat notices a dead worker, and the hourly schedule is the retry of last resort.
PURGE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(hours=1),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5),
}


# An OpenAPI import: seconds of work, a few minutes for the largest document. The heartbeat
# notices a dead worker; a few tries, then the import is recorded as failed (FAIL_IMPORT).
IMPORTING: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=3),
}


# An agent's write: one call to a third-party API, retried with backoff (429s with their own
# delays) for at most ten minutes, the same idempotency key each time; the heartbeat notices a
# dead worker within seconds, so another worker sends it again (the key makes it one write).
SENDING: dict[str, Any] = upstream(retry_seconds=600)
