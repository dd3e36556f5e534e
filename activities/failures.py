"""Connector errors as Temporal failures: typed, retryable or not, with 429 back-off delays;
and a RecursionError as a failure that is never retried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from connectors import ConnectorError, RetryableError
from connectors.nesting import MAX_DEPTH

# After the first 429 (Retry-After, or a minute), each further one in a row waits longer.
THROTTLE_MINUTES = (1, 3, 7, 15, 30)
FIRST_THROTTLE_SECONDS = 60.0


def is_throttled(err: ConnectorError) -> bool:
    return isinstance(err, RetryableError) and err.status == 429


def throttle_delay(in_a_row: int, retry_after: float | None) -> float:
    """Seconds to wait after the `in_a_row`-th consecutive 429 (counting from 1)."""
    if in_a_row <= 1:
        return retry_after if retry_after is not None else FIRST_THROTTLE_SECONDS
    minutes = THROTTLE_MINUTES[min(in_a_row - 2, len(THROTTLE_MINUTES) - 1)]
    return max(minutes * 60.0, retry_after or 0.0)


def as_failure(step_name: str, err: ConnectorError, throttled_in_a_row: int = 0,
               with_body: bool = True) -> ApplicationError:
    """The ApplicationError a step's activity raises; a 429's wait is a Temporal retry delay.

    Its message goes into workflow history: `with_body=False` leaves out the upstream's body
    where the request carried a record the body may echo."""
    delay = None
    if is_throttled(err):
        delay = timedelta(seconds=throttle_delay(throttled_in_a_row, err.retry_after))
    elif isinstance(err, RetryableError) and err.retry_after is not None:
        delay = timedelta(seconds=err.retry_after)
    return ApplicationError(
        f"step '{step_name}': {err if with_body else err.brief()}",
        type=type(err).__name__,
        non_retryable=not err.retryable,
        next_retry_delay=delay,
    )


class RecursionIsFinal(Interceptor):
    """An activity that recursed too deeply fails for good, naming why: the data that made it
    (nested beyond what the checks on the way in caught) recurses as deeply on every retry."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RecursionIsFinal(next)


class _RecursionIsFinal(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except RecursionError:
            raise ApplicationError(f"the data is nested too deeply to process (the limit is {MAX_DEPTH} levels)",
                                   type="RecursionError", non_retryable=True) from None
