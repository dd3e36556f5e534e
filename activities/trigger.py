"""The trigger step: pages from the run's cursor into the transaction store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from temporalio import activity

from activities.failures import as_failure, is_throttled
from activities.mappings import mapped
from activities.upstream import Loaded, Upstream, earlier_progress, heartbeating
from connectors import ConnectorError, iter_pages
from connectors.dates import EPOCH
from connectors.paths import split_nested
from store import transactions
from store.database import engine, session
from store.runs import run_ref
from workflows import names
from workflows.messages import FetchRequest, FetchResult


class TriggerActivities:
    def __init__(self, upstream: Upstream, max_seconds: float = 5.0) -> None:
        self.upstream = upstream
        # One activity reads until this or the request's record bound, so that later steps
        # can start on what it read and a retry never has far to go back.
        self.max_seconds = max_seconds

    @activity.defn(name=names.FETCH_TRIGGER)
    async def fetch_trigger(self, request: FetchRequest) -> FetchResult:
        """Pages from `request.cursor` on, each page's records written as transactions
        `first`, `first + 1`, … before the next page's are.

        Only the cursor and counts are heartbeated: a retry resumes at the last page whose
        records were written, or earlier, and rewrites the same rows.
        """
        loaded = await self.upstream.load(request.plan_id, request.step)
        run = await asyncio.to_thread(run_ref, request.run_id)
        progress: dict[str, Any] = earlier_progress() or {
            "cursor": request.cursor, "count": 0, "warnings": [], "done": False, "throttled": 0}
        if not progress["done"]:
            async with heartbeating(lambda: progress):
                try:
                    async for written in self._written_pages(loaded, run, request, dict(progress)):
                        progress = written
                except ConnectorError as err:
                    # 429s in a row lengthen the wait; a page read in between starts afresh.
                    progress["throttled"] = progress["throttled"] + 1 if is_throttled(err) else 0
                    activity.heartbeat(progress)
                    raise as_failure(loaded.step.name, err, progress["throttled"]) from None
        if progress["done"]:
            await asyncio.to_thread(_drop_after, run.run_id, request.first + progress["count"] - 1)
        return FetchResult(progress["count"], progress["cursor"], progress["warnings"])

    async def _written_pages(self, loaded: Loaded, run: transactions.RunRef, request: FetchRequest,
                             progress: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Each page read and written to the store; yields the progress after it."""
        step = loaded.step
        pages = iter_pages(
            self.upstream.client, loaded.connector, step.method, cursor=progress["cursor"],
            parameters=mapped(step, loaded.connector, {})[1],
            mergefields={"LastSuccessfulRunDate": step.last_successful_run_at or EPOCH},
            max_records=request.max_records, max_seconds=self.max_seconds,
            **loaded.call_options(self.upstream.limiter),
        )
        async with aclosing(pages):  # a failed write stops the page in flight too
            async for page in pages:
                first = request.first + progress["count"]
                records = page.records
                if step.collection_split == "All":
                    records = split_nested(records, loaded.connector.method(step.method).response_fields)
                await asyncio.to_thread(_write, run, first, step.id, step.spec.Next, records)
                progress = {"cursor": page.next_cursor, "count": progress["count"] + len(records),
                            "warnings": progress["warnings"] + ([page.warning] if page.warning else []),
                            "done": page.next_cursor is None, "throttled": 0}
                yield progress


def _write(run: transactions.RunRef, first: int, trigger: str, next_step: str | None,
           records: list[dict[str, Any]]) -> None:
    with engine().begin() as connection:
        transactions.write_page(connection, run, first, trigger, next_step, records)


def _drop_after(run_id: str, last: int) -> None:
    with session() as db:
        transactions.drop_after(db, run_id, last)
