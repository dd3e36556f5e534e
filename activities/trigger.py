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
        """Pages from `request.cursor` on, their records written in order as transactions
        `first`, `first + 1`, …, while the next pages are read.

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
        """Each page read and written to the store; yields the progress after each write.

        Reading goes on while a write is under way (up to PAGES_AHEAD pages), and the pages read
        meanwhile go together in the next write: one statement, one commit, one hand-off to a
        thread for them all. A page that fails to read ends it once the pages before are written.
        """
        step = loaded.step
        pages = iter_pages(
            self.upstream.client, loaded.connector, step.method, cursor=progress["cursor"],
            parameters=mapped(step, loaded.connector, {})[1],
            mergefields={"LastSuccessfulRunDate": step.last_successful_run_at or EPOCH},
            max_records=request.max_records, max_seconds=self.max_seconds,
            **loaded.call_options(self.upstream.limiter),
        )
        writes, failure = _Writes(run, step.id, step.spec.Next), None
        try:
            try:
                async with aclosing(pages):  # a failed write stops the page in flight too
                    async for page in pages:
                        records = page.records
                        if step.collection_split == "All":
                            records = split_nested(records, loaded.connector.method(step.method).response_fields)
                        first = request.first + progress["count"]
                        progress = {"cursor": page.next_cursor, "count": progress["count"] + len(records),
                                    "warnings": progress["warnings"] + ([page.warning] if page.warning else []),
                                    "done": page.next_cursor is None, "throttled": 0}
                        writes.add(first, records, progress)
                        if writes.due():
                            yield await writes.wait()
                        writes.start()
            except ConnectorError as err:
                failure = err  # what was read before it is written first: a retry starts after it
            async for written in writes.drain():
                yield written
        finally:
            await writes.settle()
        if failure is not None:
            raise failure


PAGES_AHEAD = 8  # pages read while a write is under way, before reading waits for it


class _Writes:
    """The trigger's writes: one in flight at a time, of every page read before it started."""

    def __init__(self, run: transactions.RunRef, trigger: str, next_step: str | None) -> None:
        self.run, self.trigger, self.next_step = run, trigger, next_step
        self.waiting: list[tuple[int, list[dict[str, Any]]]] = []  # read, not yet being written
        self.after: dict[str, Any] = {}  # the progress once every page read is written
        self.writing: asyncio.Future[dict[str, Any]] | None = None

    def add(self, first: int, records: list[dict[str, Any]], after: dict[str, Any]) -> None:
        self.waiting.append((first, records))
        self.after = after

    def due(self) -> bool:
        """Whether to wait for the write under way now: it is done, or reading is far ahead of it."""
        return self.writing is not None and (self.writing.done() or len(self.waiting) >= PAGES_AHEAD)

    async def wait(self) -> dict[str, Any]:
        """The progress after the write under way, once it is committed."""
        writing, self.writing = self.writing, None
        return await writing

    def start(self) -> None:
        """Writes the pages waiting, unless a write is under way."""
        if self.writing is None and self.waiting:
            pages, self.waiting = self.waiting, []
            first, records = pages[0][0], [r for _, page in pages for r in page]  # consecutive pages
            self.writing = asyncio.ensure_future(asyncio.to_thread(
                _write, self.run, first, self.trigger, self.next_step, records, self.after))

    async def drain(self) -> AsyncIterator[dict[str, Any]]:
        """The rest written; the progress after each write."""
        while self.writing is not None or self.waiting:
            if self.writing is not None:
                yield await self.wait()
            self.start()

    async def settle(self) -> None:
        """Waits out a write left under way (a thread cannot be cancelled), its failure seen."""
        if self.writing is not None:
            await asyncio.wait([self.writing])
            if not self.writing.cancelled():
                self.writing.exception()


def _write(run: transactions.RunRef, first: int, trigger: str, next_step: str | None,
           records: list[dict[str, Any]], after: dict[str, Any]) -> dict[str, Any]:
    with engine().begin() as connection:
        transactions.write_page(connection, run, first, trigger, next_step, records)
    return after


def _drop_after(run_id: str, last: int) -> None:
    with session() as db:
        transactions.drop_after(db, run_id, last)
