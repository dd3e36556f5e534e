"""429 back-off: Retry-After first, then 1, 3, 7, 15, 30 minutes while 429s continue."""

from activities.failures import as_failure, throttle_delay
from connectors import RetryableError, StepError


def test_throttle_schedule():
    assert throttle_delay(1, 2.0) == 2.0
    assert throttle_delay(1, None) == 60.0
    assert [throttle_delay(n, None) for n in range(2, 8)] == [60, 180, 420, 900, 1800, 1800]
    assert throttle_delay(2, 600.0) == 600.0  # a longer Retry-After is still honoured


def test_failures_are_typed_and_name_the_step():
    step = "Create lead"
    throttled = as_failure(step, RetryableError("Too Many Requests", status=429, retry_after=5.0), 1)
    assert throttled.type == "RetryableError" and not throttled.non_retryable
    assert throttled.next_retry_delay.total_seconds() == 5.0
    final = as_failure(step, StepError("Bad Request", connector="Demo", method="m", status=400))
    assert final.non_retryable and "Create lead" in final.message and "HTTP 400" in final.message
