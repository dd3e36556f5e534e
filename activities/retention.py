"""Retention: runs and transactions past their account's retention period are deleted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from activities.upstream import heartbeating
from runtime.settings import settings
from store import retention
from store.database import session
from workflows import names
from workflows.messages import PurgeCounts


def _purge() -> PurgeCounts:
    with session() as db:
        result = retention.purge(db, datetime.now(UTC), settings().retention_days)
    return PurgeCounts(result.runs, result.transactions, result.plans, result.events)


@activity.defn(name=names.PURGE_EXPIRED)
async def purge_expired() -> PurgeCounts:
    """One retention pass. It heartbeats while the thread deletes, so a long purge is not
    mistaken for a dead worker; each batch is committed, so a retry carries on from there."""
    async with heartbeating(lambda: None, every=5):
        counts = await asyncio.to_thread(_purge)
    activity.logger.info(counts.summary())
    return counts
