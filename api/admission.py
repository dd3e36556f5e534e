"""Admission: how much the API works on at once, and what it tells the rest.

Requests are admitted by lane, each lane `CYCLEWRIGHT_API_CONCURRENCY` at a time (webhooks
WEBHOOK_SHARE times as many); one that waits longer than `CYCLEWRIGHT_API_QUEUE_SECONDS` for
its turn is answered 503 with Retry-After, having done nothing. Lanes keep one kind of slowness
from stalling the others:

- `reads` and `writes`: the resource routes, which work on the database in threads, apart by
  method, so writes waiting on the database's write lock do not hold up reads;
- `temporal`: those of them that need Temporal (they depend on `get_temporal`), so a Temporal
  outage or a slow workflow fills only this lane;
- `webhooks`: webhook intake, which needs no thread of its own (events go to a group commit).

The thread pool is sized to the lanes, so an admitted request never waits for a thread (and a
request holds a pooled connection only while it works on the database: api/dependencies.py).

Health, readiness, tokens and metrics take no lane: they run on the event loop, and what they
read comes through api/control.py, threads and connections of their own, so they answer while
every lane, pooled connection and thread is busy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.dependencies import get_temporal
from api.errors import unavailable
from runtime.metrics import API_REFUSED, API_WAITING, API_WORKING
from runtime.settings import Settings

WEBHOOK_SHARE = 8  # webhook requests are light (a group commit): many more at once


class Lane:
    """At most `limit` requests at once; the others wait in turn, each for `wait` seconds at most."""

    def __init__(self, name: str, limit: int, wait: float) -> None:
        self.name, self.limit, self.wait = name, limit, wait
        self.slots = anyio.Semaphore(limit)  # first come, first served
        self.working, self.waiting = API_WORKING.labels(name), API_WAITING.labels(name)
        self.refused = API_REFUSED.labels(name)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        try:
            self.slots.acquire_nowait()  # a place free (so nobody waits for one): no timer to set
        except anyio.WouldBlock:
            await self._wait_for_place()
        self.working.inc()
        try:
            yield
        finally:
            self.working.dec()
            self.slots.release()

    async def _wait_for_place(self) -> None:
        self.waiting.inc()
        try:
            with anyio.fail_after(self.wait):
                await self.slots.acquire()
        except TimeoutError:
            self.refused.inc()
            raise unavailable(f"the API is busy: this request waited {self.wait:g} s for one of the "
                              f"{self.limit} places of its lane ({self.name}); try again") from None
        finally:
            self.waiting.dec()


class Lanes:
    """The API process's lanes, and which one each route takes."""

    def __init__(self, config: Settings) -> None:
        limit, wait = config.api_concurrency, config.api_queue_seconds
        self.reads, self.writes = Lane("reads", limit, wait), Lane("writes", limit, wait)
        self.temporal = Lane("temporal", limit, wait)
        self.webhooks = Lane("webhooks", limit * WEBHOOK_SHARE, wait)
        self.threads = 3 * limit  # reads, writes and temporal; the webhook lane takes none
        self._of_route: dict[int, Lane] = {}

    def of(self, route: APIRoute) -> Lane:
        lane = self._of_route.get(id(route))
        if lane is None:
            lane = self._of_route[id(route)] = (
                self.temporal if _needs(route.dependant, get_temporal)
                else self.reads if route.methods <= {"GET", "HEAD"} else self.writes)
        return lane


def _needs(dependant: Dependant, call: Callable) -> bool:
    return dependant.call is call or any(_needs(d, call) for d in dependant.dependencies)


async def _by_route(request: Request) -> AsyncIterator[None]:
    async with request.app.state.lanes.of(request.scope["route"]).admitted():
        yield


async def _webhooks(request: Request) -> AsyncIterator[None]:
    async with request.app.state.lanes.webhooks.admitted():
        yield


# A router's dependency: scope="function" gives the place back as the route returns, before
# its answer is sent (a slow reader does not hold it).
ADMITTED = Depends(_by_route, scope="function")
WEBHOOK_ADMITTED = Depends(_webhooks, scope="function")
