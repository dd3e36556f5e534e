"""The trigger step: pages from the run's cursor into the transaction store."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity

from activities.failures import as_failure, is_throttled
from activities.mappings import mapped
from activities.upstream import Upstream, earlier_progress, heartbeating
from connectors import ConnectorError, iter_pages
from connectors.dates import EPOCH
from store import transactions
from store.database import session
from store.runs import run_ref
from workflows.messages import FetchRequest, FetchResult


class TriggerActivities:
    def __init__(self, upstream: Upstream, page_records: int = 2_000, page_seconds: float = 2.0) -> None:
        self.upstream = upstream
        # One activity reads until either bound, so later steps can start on what it read.
        self.page_records, self.page_seconds = page_records, page_seconds

    @activity.defn(name="fetch_trigger")
    async def fetch_trigger(self, request: FetchRequest) -> FetchResult:
        """Pages from `request.cursor` on, each page's records written as transactions
        `first`, `first + 1`, … before the next page's are.

        Only the cursor and counts are heartbeated: a retry resumes at the last page whose
        records were written, or earlier, and rewrites the same rows.
        """
        loaded = await self.upstream.load(request.plan_id, request.step)
        step, run = loaded.step, await asyncio.to_thread(run_ref, request.run_id)
        saved: dict[str, Any] = earlier_progress() or {
            "cursor": request.cursor, "count": 0, "warnings": [], "done": False, "throttled": 0}
        progress = dict(saved)
        if not saved["done"]:
            async with heartbeating(lambda: progress):
                pages = iter_pages(
                    self.upstream.client, loaded.connector, step.method, cursor=saved["cursor"],
                    parameters=mapped(step, loaded.connector, {})[1],
                    mergefields={"LastSuccessfulRunDate": step.last_successful_run_at or EPOCH},
                    max_records=self.page_records, max_seconds=self.page_seconds,
                    **loaded.call_options(self.upstream.limiter),
                )
                try:
                    async for page in pages:
                        first = request.first + progress["count"]
                        await asyncio.to_thread(_write, run, first, step.id, step.next, page.records)
                        progress = {"cursor": page.next_cursor, "count": progress["count"] + len(page.records),
                                    "warnings": progress["warnings"] + ([page.warning] if page.warning else []),
                                    "done": page.next_cursor is None, "throttled": 0}
                except ConnectorError as err:
                    progress["throttled"] = progress["throttled"] + 1 if is_throttled(err) else 0
                    activity.heartbeat(progress)
                    raise as_failure(step, err, progress["throttled"]) from None
        if progress["done"]:
            await asyncio.to_thread(_drop_after, run.run_id, request.first + progress["count"] - 1)
        return FetchResult(progress["count"], progress["cursor"], progress["warnings"])


def _write(run: transactions.RunRef, first: int, trigger: str, next_step: str | None,
           records: list[dict[str, Any]]) -> None:
    with session() as db:
        transactions.write_page(db, run, first, trigger, next_step, records)


def _drop_after(run_id: str, last: int) -> None:
    with session() as db:
        transactions.drop_after(db, run_id, last)
