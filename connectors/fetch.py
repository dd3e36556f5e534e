"""Several pages in one go, bounded, for callers that hold the cursor between calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.call import call_method
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
    fetched = Pages(cursor=cursor)
    while True:
        result = await call_method(client, connector, method_id, cursor=fetched.cursor, **call)
        fetched.records += result.records
        fetched.pages += 1
        fetched.cursor = result.next_cursor
        if result.warning:
            fetched.warnings.append(result.warning)
        if on_page:
            on_page(fetched)
        if fetched.cursor is None or _bounded(fetched, started, max_records, max_pages, max_seconds):
            return fetched


def _bounded(fetched: Pages, started: float, records: int | None, pages: int | None,
             seconds: float | None) -> bool:
    return (
        (records is not None and len(fetched.records) >= records)
        or (pages is not None and fetched.pages >= pages)
        or (seconds is not None and time.monotonic() - started >= seconds)
    )
