"""Two bucket sets sharing one bucket (two methods with limits of their own under one connector
limit), reserved concurrently: the shared bucket never grants more than its limit."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from connectors.limits import Bucket
from connectors.spec import RateLimit
from store.limiter import DatabaseLimiter

SHARED = 5  # per minute: nothing leaves the window while the test runs
ATTEMPTS = 40
ROUNDS = 5  # an overshoot needs two reservations to race at the limit's edge: give it chances


async def test_methods_with_limits_of_their_own_never_overshoot_the_connectors(engine):
    limiter = DatabaseLimiter(engine)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(8) as threads:  # reservations from many threads at once, as from many workers
        for _ in range(ROUNDS):
            methods = _two_methods_of_one_connector(f"test-{uuid.uuid4()}")
            waits = await asyncio.gather(*(loop.run_in_executor(threads, limiter._reserve, methods[i % 2])
                                           for i in range(ATTEMPTS)))
            assert sum(wait == 0 for wait in waits) == SHARED


def _two_methods_of_one_connector(connector: str) -> list[list[Bucket]]:
    shared, own = RateLimit(MaxRequests=SHARED, TimeFrame="Minutes"), RateLimit(MaxRequests=100, TimeFrame="Minutes")
    return [[(connector, shared), (f"{connector}/{method}", own)] for method in ("first", "second")]
