"""Rate limits: which apply to a call, and waiting for a permit from a shared limiter.

The engine does not count calls itself: a `Limiter` (the store's, shared by every process)
answers whether a call may go now. Short waits happen here; a long one is handed back as
`RateLimited`, so the caller can retry later without holding a worker slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from connectors.errors import RetryableError
from connectors.spec import Connector, Method, RateLimit

SECONDS = {"Seconds": 1, "Minutes": 60, "Hours": 3600, "Days": 86400}

Bucket = tuple[str, RateLimit]  # (who shares the count, the limit)


class Limiter(Protocol):
    async def reserve(self, buckets: Sequence[Bucket]) -> float:
        """Take one permit in every bucket now (0.0), or none: the seconds until one may be free."""
        ...


class RateLimited(RetryableError):
    """No permit within the short wait: retry after `retry_after` seconds."""


def buckets(connector: Connector, method: Method, key: str) -> list[Bucket]:
    """Connector limits are shared by all of an account connector's methods; method limits by one."""
    own = [(f"{key}/{method.UniqueIdentifier}", limit) for limit in method.RateLimits]
    if method.OverrideConnectorRateLimits:
        return own
    return [(key, limit) for limit in connector.RateLimits] + own


async def acquire(limiter: Limiter, wanted: Sequence[Bucket], max_wait: float) -> float:
    """A permit in every bucket; returns the seconds waited for it."""
    start = time.monotonic()
    deadline = start + max_wait
    while (wait := await limiter.reserve(wanted)) > 0:
        if time.monotonic() + wait > deadline:
            raise RateLimited(f"rate limit reached; next permit in {wait:.1f} s", retry_after=wait)
        await asyncio.sleep(wait)
    return time.monotonic() - start
