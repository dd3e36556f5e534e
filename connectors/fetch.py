"""Pages one after another, the next one in flight while the current one is used."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from connectors.call import CallResult, call_method
from connectors.paging import Cursor
from connectors.spec import Connector
from connectors.transport import HttpClient


async def iter_pages(
    client: HttpClient,
    connector: Connector,
    method_id: str,
    *,
    cursor: Cursor | None = None,
    max_records: int | None = None,
    max_pages: int | None = None,
    max_seconds: float | None = None,
    **call: Any,
) -> AsyncIterator[CallResult]:
    """Each page from `cursor` on, until the last one or a bound (at least one page).

    A page's `next_cursor` is where a later call continues; None after the last page.
    """
    started, pages, read = time.monotonic(), 0, 0

    def page(at: Cursor | None) -> asyncio.Task[CallResult]:
        return asyncio.ensure_future(call_method(client, connector, method_id, cursor=at, **call))

    pending: asyncio.Task[CallResult] | None = None
    try:
        # The first page awaited as it is (no task): there is nothing yet to overlap it with.
        result = await call_method(client, connector, method_id, cursor=cursor, **call)
        while True:
            pages, read = pages + 1, read + result.count
            more = result.next_cursor is not None and not (
                (max_records is not None and read >= max_records)
                or (max_pages is not None and pages >= max_pages)
                or (max_seconds is not None and time.monotonic() - started >= max_seconds)
            )
            if not more:
                yield result
                return
            pending = page(result.next_cursor)  # in flight while this page is used
            await _let_it_send()
            yield result
            result = await pending
    finally:
        if pending is not None:
            pending.cancel()  # only ever a page nobody will read


@dataclass
class Pages:
    records: list[dict[str, Any]] = field(default_factory=list)
    cursor: Cursor | None = None  # where the next call continues; None when the last page was read
    pages: int = 0
    warnings: list[str] = field(default_factory=list)


async def fetch_pages(client: HttpClient, connector: Connector, method_id: str, **options: Any) -> Pages:
    """Every page's records together (for callers that want them at once, like data on demand)."""
    fetched = Pages(cursor=options.get("cursor"))
    async for result in iter_pages(client, connector, method_id, **options):
        fetched.records += result.records
        fetched.cursor, fetched.pages = result.next_cursor, fetched.pages + 1
        if result.warning:
            fetched.warnings.append(result.warning)
    return fetched


# Turns of the event loop a request needs to get onto the wire (pool, then write).
SEND_TURNS = 8


async def _let_it_send() -> None:
    """A new task runs only when the loop gets control: give it the turns to send its request."""
    for _ in range(SEND_TURNS):
        await asyncio.sleep(0)
