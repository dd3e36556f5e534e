"""The shared rate limiter: a sliding log of calls per bucket, in the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from connectors.limits import SECONDS, Bucket
from store.locks import exclusive
from store.tables import RateCall

# Calls are counted when a permit is granted but limited where they arrive: the slack absorbs
# up to this much of what happens in between (a busy event loop, the network). A worker slower
# than that from permit to request (seen: 0.5 s on a loaded machine) can let an upstream count
# more calls than its limit in one of its windows; its 429s are then retried as throttling.
SLACK = 0.2


class DatabaseLimiter:
    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine  # None: the process's database

    async def reserve(self, buckets: Sequence[Bucket]) -> float:
        return await asyncio.to_thread(self._reserve, buckets)

    def _reserve(self, buckets: Sequence[Bucket]) -> float:
        names = sorted({name for name, _ in buckets})
        # A lock per bucket: two methods with limits of their own still share the connector's.
        with exclusive((f"ratelimit:{name}" for name in names), self.engine) as db:
            now = time.time()
            wait = max((_wait(db, name, limit, now) for name, limit in buckets), default=0.0)
            if wait > 0:
                return wait
            db.execute(insert(RateCall), [{"bucket": name, "at": now} for name in names])
            longest = max((window(limit) for _, limit in buckets), default=0.0)
            db.execute(delete(RateCall).where(RateCall.bucket.in_(names), RateCall.at < now - longest))
            return 0.0


def window(limit) -> float:
    """How long a granted permit counts against `limit`: its time frame (or spacing) and the slack."""
    if limit.MaxRequests:
        return SECONDS[limit.TimeFrame] + SLACK
    return limit.MinTimeBetweenRequestsMs / 1000 + SLACK


def _wait(db, name: str, limit, now: float) -> float:
    span = window(limit)
    if limit.MaxRequests:
        recent = db.execute(
            select(RateCall.at).where(RateCall.bucket == name, RateCall.at > now - span)
            .order_by(RateCall.at.desc()).limit(limit.MaxRequests)
        ).scalars().all()
        if len(recent) < limit.MaxRequests:
            return 0.0
        return recent[-1] + span - now  # when the oldest of the last N leaves the window
    last = db.execute(select(func.max(RateCall.at)).where(RateCall.bucket == name)).scalar()
    return 0.0 if last is None else max(0.0, last + span - now)
