"""The shared limiter's arithmetic, on the test database (the cross-process test is in e2e)."""

from __future__ import annotations

import uuid

from connectors.spec import RateLimit
from store.limiter import SLACK, DatabaseLimiter


async def test_max_requests_per_time_frame():
    limiter, bucket = DatabaseLimiter(), f"test-{uuid.uuid4()}"
    limit = [(bucket, RateLimit(MaxRequests=2, TimeFrame="Seconds"))]
    assert await limiter.reserve(limit) == 0
    assert await limiter.reserve(limit) == 0
    wait = await limiter.reserve(limit)
    assert 0 < wait <= 1 + SLACK  # the third waits for the first to leave the window


async def test_min_time_between_requests_and_several_limits_at_once():
    limiter, bucket = DatabaseLimiter(), f"test-{uuid.uuid4()}"
    spaced = [(bucket, RateLimit(MinTimeBetweenRequestsMs=500))]
    assert await limiter.reserve(spaced) == 0
    assert 0 < await limiter.reserve(spaced) <= 0.5 + SLACK
    generous = [(f"{bucket}-other", RateLimit(MaxRequests=100, TimeFrame="Minutes"))]
    assert await limiter.reserve(generous + spaced) > 0  # every limit applies: the strictest wins
