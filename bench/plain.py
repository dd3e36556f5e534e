"""Plain scripts doing the calls a cycle run makes, on each HTTP client: what a bench compares with.

The engine sends through aiohttp (connectors/transport.py) on asyncio's own event loop and
transports (worker.py), so the fair baseline is the fastest plain script on the same (`run`): a
bare `aiohttp.ClientSession`, no egress resolver, no retries, nothing stored. The httpx one is shown beside it, as what a script written with
the most common client gets. Each bench prints its ratio against the fastest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import httpx

CLIENTS = ("aiohttp", "httpx")  # the fastest first
READ_AHEAD_PAGES = 4  # pages a sync script holds before its posts catch up
# Idle connections are dropped before the demo APIs' uvicorn drops them (after 5 s): a request
# on a connection the server is closing fails, and a plain script has no retries.
KEEPALIVE_SECONDS = 2.0

T = TypeVar("T")
Get = Callable[[str, dict[str, Any], dict[str, str]], Awaitable[Any]]  # path, params, headers → JSON
Post = Callable[[str, Any, dict[str, str]], Awaitable[None]]  # path, JSON body, headers


def run(script: Coroutine[Any, Any, T]) -> T:
    """A plain script run on the worker's event loop (asyncio's: uvloop would make the plain
    scripts faster, and the worker less so)."""
    return asyncio.run(script)


@asynccontextmanager
async def plain_client(kind: str, base_url: str, connections: int = 100) -> AsyncIterator[tuple[Get, Post]]:
    """`get` and `post` on one client of `kind` ("aiohttp" or "httpx"), each raising for an
    error status as a script would."""
    if kind == "aiohttp":
        limit = aiohttp.TCPConnector(limit=connections, keepalive_timeout=KEEPALIVE_SECONDS)
        async with aiohttp.ClientSession(base_url, connector=limit, timeout=aiohttp.ClientTimeout(30)) as session:
            async def get(path: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
                async with session.get(path, params=params, headers=headers, raise_for_status=True) as response:
                    return await response.json()

            async def post(path: str, body: Any, headers: dict[str, str]) -> None:
                async with session.post(path, json=body, headers=headers, raise_for_status=True) as response:
                    await response.read()

            yield get, post
        return
    limits = httpx.Limits(max_connections=connections, keepalive_expiry=KEEPALIVE_SECONDS)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        async def get(path: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
            return (await client.get(path, params=params, headers=headers)).raise_for_status().json()

        async def post(path: str, body: Any, headers: dict[str, str]) -> None:
            (await client.post(path, json=body, headers=headers)).raise_for_status()

        yield get, post


async def crm_pages(get: Get, page_size: int) -> AsyncIterator[list[dict]]:
    """The demo CRM's contacts page by page (`page`, `per_page`), as the connector reads them:
    until a page shorter than `page_size`."""
    page = 1
    while True:
        body = await get("/crm/contacts", {"page": page, "per_page": page_size}, {"X-Api-Key": "demo-crm-key"})
        if records := body["records"]:
            yield records
        if len(records) < page_size:
            return
        page += 1


async def create_lead(post: Post, email: str, name: str | None, source: str, key: str) -> None:
    """One lead, as the Demo Leads connector's create-lead sends it."""
    body = {"email": email, "source": source} | ({"name": name} if name is not None else {})
    await post("/leads/contacts", body, {"Authorization": "Bearer demo-leads-token", "Idempotency-Key": key})


async def sync_contacts(kind: str, demo: str, concurrency: int, page_size: int) -> float:
    """The demo cycle's work: read the CRM page by page while `concurrency` posters create one
    lead per contact. Seconds it took."""
    started = time.perf_counter()
    async with plain_client(kind, demo) as (get, post):
        queue: asyncio.Queue[dict | None] = asyncio.Queue(maxsize=READ_AHEAD_PAGES * page_size)

        async def read() -> None:
            async for page in crm_pages(get, page_size):
                for contact in page:
                    await queue.put(contact)
            for _ in range(concurrency):
                await queue.put(None)  # one stop for each poster

        async def poster() -> None:
            while (contact := await queue.get()) is not None:
                await create_lead(post, contact["email"], contact["first_name"], "bench", contact["id"])

        await asyncio.gather(read(), *(poster() for _ in range(concurrency)))
    return time.perf_counter() - started


async def create_leads(kind: str, demo: str, concurrency: int, emails: list[str]) -> float:
    """One lead per email, `concurrency` in flight (a webhook cycle's step work). Seconds it took."""
    started = time.perf_counter()
    async with plain_client(kind, demo) as (_, post):
        queue = iter(emails)

        async def poster() -> None:
            for email in queue:
                await create_lead(post, email, None, "webhook", email)

        await asyncio.gather(*(poster() for _ in range(concurrency)))
    return time.perf_counter() - started


async def read_pages(kind: str, demo: str, page_size: int) -> tuple[float, int]:
    """Every page of the demo's page-number route, one after another: seconds, records."""
    started, records, page = time.perf_counter(), 0, 1
    async with plain_client(kind, demo) as (get, _):
        while True:
            items = (await get("/paging/number", {"page": page, "per_page": page_size}, {}))["items"]
            records += len(items)
            if len(items) < page_size:
                return time.perf_counter() - started, records
            page += 1


def fastest(seconds: dict[str, float]) -> tuple[str, float]:
    """The plain script that took least: (client, seconds)."""
    kind = min(seconds, key=seconds.__getitem__)
    return kind, seconds[kind]
