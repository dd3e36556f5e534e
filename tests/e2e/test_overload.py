"""An API whose every pooled connection and worker thread is busy degrades, it does not
collapse: health, readiness, tokens and metrics answer; a request that finds no connection in
time, or no place in its lane, is answered 503 JSON with Retry-After; what was admitted
completes once the database is free again (issue 15).

The premise is made real and checked: the database's writes are held (SQLite's write lock, or a
lock on PostgreSQL's variable table) while account-variable writes are sent, so the requests
that got a connection wait on the lock holding it, and those that did not wait for one, each in
a thread. /metrics (itself answered through the control lane) shows the pool and the threads
exhausted before and after the health and token requests."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import text

from store.database import connect
from tests.conftest import DATA_DIR, partner_client
from tests.walkthrough import eventually

POOL_TIMEOUT = 8  # seconds: long enough for every probe below while the pool is exhausted


@contextmanager
def writes_held() -> Iterator[None]:
    """Until the block ends, every write to the variable table waits (reads go on)."""
    url = os.environ.get("DATABASE_URL")
    if url is None:
        holder = sqlite3.connect(DATA_DIR / "cyclewright.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock; WAL readers go on
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    engine = connect(url)
    try:
        with engine.begin() as holder:
            holder.execute(text("LOCK TABLE variable IN EXCLUSIVE MODE"))  # writers wait, readers do not
            yield
    finally:
        engine.dispose()


async def gauges(api: httpx.AsyncClient) -> dict[str, float]:
    """The API's own metrics (names with their labels) as numbers."""
    response = await api.get("/metrics")
    assert response.status_code == 200
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in response.text.splitlines() if line.startswith("cyclewright_")}


def exhausted(metrics: dict[str, float]) -> bool:
    return (metrics["cyclewright_db_connections_in_use"] == metrics["cyclewright_db_connections_max"]
            and metrics["cyclewright_api_threads_busy"] == metrics["cyclewright_api_threads_max"])


def refused_with_retry_after(response: httpx.Response, message: str) -> bool:
    body = response.json()
    return (response.status_code == 503 and response.headers.get("Retry-After") == "1"
            and message in body["Message"] and body["Errors"] == [])


async def test_health_and_tokens_answer_while_every_connection_and_thread_is_busy(private_stack):
    stack = private_stack(CYCLEWRIGHT_DB_POOL_SIZE="2", CYCLEWRIGHT_DB_MAX_OVERFLOW="0",
                          CYCLEWRIGHT_DB_POOL_TIMEOUT=str(POOL_TIMEOUT), CYCLEWRIGHT_API_CONCURRENCY="2",
                          CYCLEWRIGHT_API_QUEUE_SECONDS="1")
    async with partner_client(stack.api_url) as api:
        # Two accounts: no account holds a whole lane (api/admission.py), so each lane's two
        # places are taken by one request of each.
        accounts = [(await api.post("/v1.0/accounts", json={"Name": f"Busy {n}"})).json()["Id"] for n in (1, 2)]
        headers = [{"X-Account-Id": account} for account in accounts]
        assert (await gauges(api))["cyclewright_api_threads_max"] == 6  # three lanes of two

        def write(name: str, of: dict[str, str]) -> asyncio.Task[httpx.Response]:
            return asyncio.create_task(api.put(f"/v1.0/account/variables/{name}", headers=of,
                                               json={"Value": f"{name} kept"}))

        with writes_held():
            # The writes lane's two places: each write holds a connection, waiting on the lock.
            writes = [write("first", headers[0]), write("second", headers[1])]
            await eventually(lambda: _at(api, "cyclewright_db_connections_in_use", 2), "both connections taken")
            # The reads and temporal lanes' two places each: each waits for a connection, in a thread.
            waiting = [asyncio.create_task(api.get("/v1.0/account/variables", headers=of)) for of in headers]
            waiting += [asyncio.create_task(api.put("/v1.0/cycles/any/pause", headers=of)) for of in headers]
            await eventually(lambda: _exhausted(api), "every connection and thread busy")

            # The API answers what needs neither: health, readiness, tokens (an account token
            # reads the account through the control lane), its metrics.
            assert (await api.get("/healthz")).json() == {"Status": "ok"}
            assert (await api.get("/readyz")).json() == {"Status": "ready"}
            for scope in ("partner", f"account:{accounts[0]}"):
                response = await api.post("/oauth/token", data={
                    "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
                    "scope": scope})
                assert response.status_code == 200 and response.json()["scope"] == scope, response.text
            # A third write finds its lane full: 503 once it has waited its second.
            third = await api.put("/v1.0/account/variables/third", headers=headers[0], json={"Value": "no"})
            assert refused_with_retry_after(third, "the API is busy"), third.text
            assert exhausted(await gauges(api))  # the premise held throughout

            # The reads and pauses found no connection within the pool's timeout: 503, not a 500.
            for response in await asyncio.gather(*waiting):
                assert refused_with_retry_after(response, "no database connection was free"), response.text
            assert not any(task.done() for task in writes)  # still waiting on the lock
        # The database is free: what was admitted completes, and nothing refused was done.
        for response in await asyncio.gather(*writes):
            assert response.status_code == 200, response.text
        stored = [{v["Name"]: v["Value"] for v in (await api.get("/v1.0/account/variables", headers=of)).json()}
                  for of in headers]
        assert stored == [{"first": "first kept"}, {"second": "second kept"}]


async def _at(api: httpx.AsyncClient, name: str, value: float) -> bool:
    return (await gauges(api))[name] == value


async def _exhausted(api: httpx.AsyncClient) -> bool:
    return exhausted(await gauges(api))
