"""The control lane: threads and database connections of its own (store.database.control_engine)
for what must answer however busy the API is: health, readiness, tokens and metrics
(api/admission.py)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from api.errors import unavailable

T = TypeVar("T")
CONTROL_SECONDS = 2.0  # a control read that takes longer answers 503

_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="control")


async def control(read: Callable[..., T], *args: object) -> T:
    """`read(*args)` on a control thread (reading through store.database.control_session);
    503 when it takes longer than CONTROL_SECONDS."""
    work = asyncio.get_running_loop().run_in_executor(_threads, functools.partial(read, *args))
    try:
        return await asyncio.wait_for(work, CONTROL_SECONDS)
    except TimeoutError:
        raise unavailable(f"the database did not answer within {CONTROL_SECONDS:g} s") from None
