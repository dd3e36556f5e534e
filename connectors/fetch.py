"""Several pages in one go, bounded, for callers that hold the cursor between calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.call import CallResult, call_method
from connectors.paging import Cursor
from connectors.spec import Connector


@dataclass
class Pages:
    records: list[dict[str, Any]] = field(default_factory=list)
    cursor: Cursor | None = None  # where the next call continues; None when the last page was read
    pages: int = 0
    warnings: list[str] = field(default_factory=list)


async def fetch_pages(
    client: httpx.AsyncClient,
    connector: Connector,
    method_id: str,
    *,
    cursor: Cursor | None = None,
    max_records: int | None = None,
    max_pages: int | None = None,
    max_seconds: float | None = None,
    on_page: Callable[[Pages], None] | None = None,
    **call: Any,
) -> Pages:
    """Pages from `cursor` on until the last one, or until a bound is reached (at least one page)."""
    started = time.monotonic()
    fetched, read = Pages(cursor=cursor), 0

    def page(at: Cursor | None) -> asyncio.Task[CallResult]:
        return asyncio.ensure_future(call_method(client, connector, method_id, cursor=at, **call))

    pending = page(cursor)
    try:
        while True:
            result = await pending
            fetched.pages += 1
            fetched.cursor, read = result.next_cursor, read + result.count
            if result.warning:
                fetched.warnings.append(result.warning)
            more = fetched.cursor is not None and not (
                (max_records is not None and read >= max_records)
                or (max_pages is not None and fetched.pages >= max_pages)
                or (max_seconds is not None and time.monotonic() - started >= max_seconds)
            )
            if more:
                pending = page(fetched.cursor)  # in flight while this page is mapped
                await _let_it_send()
            fetched.records += result.records
            if on_page:
                on_page(fetched)
            if not more:
                return fetched
    finally:
        pending.cancel()  # only ever a page nobody will read


# Turns of the event loop httpx needs to get a request onto the wire (pool, then write).
SEND_TURNS = 8


async def _let_it_send() -> None:
    """A new task runs only when the loop gets control: give it the turns to send its request."""
    for _ in range(SEND_TURNS):
        await asyncio.sleep(0)
