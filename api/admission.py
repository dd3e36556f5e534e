"""Admission: how much the API works on at once, whose request goes next, and what the rest
are told, decided before anything else is done for a request.

`Admission` is the outermost ASGI middleware but two (webhook intake, which takes its own
webhooks lane place with `Lane.admitted`, and codec CORS; api/app.py): it finds the request's
route (api/routes.py) and admits it to its lane before tracing, body reading, authentication
or FastAPI see it, so that load is shed where shedding costs least. Lanes keep one kind of
slowness from stalling the others:

- `reads` and `writes`: the resource routes, which work on the database in threads, apart by
  method, so writes waiting on the database's write lock do not hold up reads;
- `temporal`: those of them that need Temporal (they depend on `get_temporal`), so a Temporal
  outage or a slow workflow fills only this lane;
- `webhooks`: webhook intake, which needs no thread of its own (events go to a group commit).

A lane works on `CYCLEWRIGHT_API_CONCURRENCY` requests at once (webhooks WEBHOOK_SHARE times
as many). Inside a lane each account waits in a queue of its own and freed places go round
the accounts in turn, and no account holds more than all but one of a lane's places: one
account's flood lengthens its own queue, never another's wait. (The account is the token's
for an account token, X-Account-Id's for a partner token; a webhook is its own; requests
without a valid token share one turn.) A request
waits `CYCLEWRIGHT_API_QUEUE_SECONDS` at most, and at most WAITING_PER_ACCOUNT requests of one
account wait in a lane; past either it is answered 503 with Retry-After and the JSON error
body, written once per lane: a refusal reads no body, no database and takes no thread.

The thread pool is sized to the lanes, so an admitted request never waits for a thread (and a
request holds a pooled connection only while it works on the database: api/dependencies.py).

Health, readiness, tokens and metrics take no lane: they run on the event loop, and what they
read comes through api/control.py, threads and connections of their own, so they answer while
every lane, pooled connection and thread is busy.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import verified_claims
from api.dependencies import get_temporal
from api.errors import RETRY_AFTER, ApiError, unavailable
from api.routes import IDS, Routes, needs
from runtime import context
from runtime.metrics import API_REFUSED, API_WAITING, API_WORKING
from runtime.settings import Settings
from runtime.telemetry import ROUTE

WEBHOOK_SHARE = 8  # webhook requests are light (a group commit): many more at once
WAITING_PER_ACCOUNT = 256  # one account's requests waiting in one lane, at most


class Refusal:
    """A lane's 503: its message, and the answer as ASGI messages, made once."""

    def __init__(self, message: str) -> None:
        self.message = message
        body = json.dumps({"Message": message, "Errors": []}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   *((name.lower().encode(), value.encode()) for name, value in RETRY_AFTER.items())]
        self.messages: tuple[Message, Message] = (
            {"type": "http.response.start", "status": 503, "headers": headers},
            {"type": "http.response.body", "body": body})


class Lane:
    """At most `limit` requests at once, at most `limit - 1` of one account; the others wait,
    each account in turn, each request `wait` seconds at most."""

    def __init__(self, name: str, limit: int, wait: float) -> None:
        self.name, self.limit, self.wait = name, limit, wait
        self.share = max(1, limit - 1)  # places one account may hold: never the whole lane
        self.free, self.waiting = limit, 0
        self.holding: dict[str, int] = {}  # account -> places it holds
        self.queues: dict[str, deque[asyncio.Future[None]]] = {}  # accounts waiting, in turn order
        self.late = Refusal(f"the API is busy: this request waited {wait:g} s for one of the {limit} places "
                            f"of its lane ({name}); try again")
        self.crowded = Refusal(f"the API is busy: {WAITING_PER_ACCOUNT} requests of this account already wait "
                               f"in its lane ({name}); try again")
        API_WORKING.labels(name).set_function(lambda: self.limit - self.free)  # read when scraped
        API_WAITING.labels(name).set_function(lambda: self.waiting)
        self.refused = API_REFUSED.labels(name)

    async def enter(self, account: str) -> Refusal | None:
        """Take a place for `account`: None once taken, or the 503 to answer instead."""
        queue = self.queues.get(account)
        if queue is None and self.free and self.holding.get(account, 0) < self.share:
            self._take(account)
            return None
        if queue is None:
            queue = self.queues[account] = deque()
        elif len(queue) >= WAITING_PER_ACCOUNT:
            self.refused.inc()
            return self.crowded
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                await turn
        except BaseException as err:
            if turn.done() and not turn.cancelled():  # given its place as its wait ran out
                if isinstance(err, TimeoutError):
                    return None
                self.leave(account)
                raise
            self._forget(account, turn)
            if isinstance(err, TimeoutError):
                self.refused.inc()
                return self.late
            raise
        return None

    @asynccontextmanager
    async def admitted(self, account: str) -> AsyncIterator[None]:
        """A place for `account` while the block runs, for a caller that answers by itself
        (webhook intake, api/intake.py); a refusal is raised as the 503 it is."""
        refusal = await self.enter(account)
        if refusal is not None:
            raise unavailable(refusal.message)
        try:
            yield
        finally:
            self.leave(account)

    def leave(self, account: str) -> None:
        """Give the place back: to the next account in turn that may take one."""
        held = self.holding[account] - 1
        if held:
            self.holding[account] = held
        else:
            del self.holding[account]
        self.free += 1
        while self.free and self.queues:
            account = next((a for a in self.queues if self.holding.get(a, 0) < self.share), "")
            if not account:
                return  # those waiting hold their share already
            queue = self.queues.pop(account)
            turn = queue.popleft()
            if queue:
                self.queues[account] = queue  # last in turn now
            self.waiting -= 1
            if not turn.cancelled():  # its wait ran out just now: it is leaving
                self._take(account)
                turn.set_result(None)

    def _take(self, account: str) -> None:
        self.free -= 1
        self.holding[account] = self.holding.get(account, 0) + 1

    def _forget(self, account: str, turn: asyncio.Future[None]) -> None:
        queue = self.queues.get(account)
        if queue is not None and turn in queue:  # not yet dropped by `leave`
            queue.remove(turn)
            self.waiting -= 1
            if not queue:
                del self.queues[account]


class Lanes:
    """The API process's lanes, and which one each route takes."""

    def __init__(self, config: Settings) -> None:
        limit, wait = config.api_concurrency, config.api_queue_seconds
        self.reads, self.writes = Lane("reads", limit, wait), Lane("writes", limit, wait)
        self.temporal = Lane("temporal", limit, wait)
        self.webhooks = Lane("webhooks", limit * WEBHOOK_SHARE, wait)
        self.threads = 3 * limit  # reads, writes and temporal; the webhook lane takes none

    def of(self, route: APIRoute) -> Lane:
        """A resource route's lane."""
        return (self.temporal if needs(route.dependant, get_temporal)
                else self.reads if route.methods <= {"GET", "HEAD"} else self.writes)


def webhook_turn(webhook_id: str) -> str:
    """Whose turn a webhook's event takes in the webhooks lane: its webhook's own."""
    return f"webhook {webhook_id}"


def _account(scope: Scope) -> str | None:
    """Whose request this is: an account token's account, else the account the request names
    (a partner token may act for any); None for a request without a valid token."""
    token, named = "", None
    for name, value in scope["headers"]:
        if name == b"authorization":
            token = value.decode("latin-1").partition(" ")[2]
        elif name in (b"x-account-id", b"x-cyclr-account") and named is None:
            named = value.decode("latin-1")
    try:
        claims = verified_claims(token)
    except ApiError:  # answered 401 once admitted, quickly: in turn with every other such request
        return None
    return claims.get("account") or named


class Admission:
    """ASGI middleware: each request admitted to its route's lane (or refused) before anything
    else is done for it; its place given back as its answer starts."""

    def __init__(self, app: ASGIApp, routes: Routes) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.routes.find(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            return await self.app(scope, receive, send)
        scope[ROUTE] = found.route.template
        lane, webhook = found.route.lane, found.params.get("webhook_id")
        account = _account(scope) if lane is not None and webhook is None else None
        ids = {name: found.params.get(name) for name in IDS}
        context.bind(**{**ids, "account_id": ids["account_id"] or account})
        if lane is None:
            return await self.app(scope, receive, send)
        turn = webhook_turn(webhook) if webhook else account or ""  # who takes turns in the lane
        refusal = await lane.enter(turn)
        if refusal is not None:
            for message in refusal.messages:
                await send(message)
            return
        held = True

        async def answered(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                lane.leave(turn)
            await send(message)

        try:
            await self.app(scope, receive, answered)
        finally:
            if held:
                lane.leave(turn)
