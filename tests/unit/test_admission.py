"""Admission (api/admission.py): a lane admits its limit, no account more than all but one of
its places, the accounts waiting in turn, and refuses with 503 and Retry-After one that waited
its time, or one of an account that has too many waiting; a refusal is answered before the
request is read or the app sees it. Routes that need Temporal take the temporal lane, the
others the reads or the writes lane by method. The request session (api/dependencies.py)
gives its connection back before a wait, unless it holds changes not yet committed."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from fastapi.routing import APIRoute

from api import admission
from api.admission import Admission, Lane, Lanes
from api.dependencies import RequestSession, release
from api.routers import cycles, transactions, upgrades, variables
from api.routes import Routes
from runtime.settings import settings
from store.database import make_engine
from store.tables import Account


class Holder:
    """A request of `account` in `lane`: inside once `entered`, out when `leave` is set."""

    def __init__(self, lane: Lane, account: str, order: list[str] | None = None) -> None:
        self.lane, self.account, self.order = lane, account, order
        self.entered, self.leave = asyncio.Event(), asyncio.Event()
        self.refusal: object = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        self.refusal = await self.lane.enter(self.account)
        if self.refusal is not None:
            return
        if self.order is not None:
            self.order.append(self.account)
        self.entered.set()
        await self.leave.wait()
        self.lane.leave(self.account)

    async def out(self) -> None:
        self.leave.set()
        await self.task


async def settled() -> None:
    """Every task that can run has run."""
    for _ in range(5):
        await asyncio.sleep(0)


def status_and_body(refusal) -> tuple[int, dict[bytes, bytes], dict]:
    start, body = refusal.messages
    return start["status"], dict(start["headers"]), json.loads(body["body"])


async def test_no_account_takes_a_whole_lane_and_another_goes_in_at_once():
    lane = Lane("writes", limit=3, wait=5)
    flood = [Holder(lane, "a") for _ in range(5)]
    await settled()
    assert [h.entered.is_set() for h in flood] == [True, True, False, False, False]  # two of three places
    other = Holder(lane, "b")
    await asyncio.wait_for(other.entered.wait(), 1)  # the third place, while a's three wait
    assert lane.waiting == 3
    for holder in [*flood, other]:
        await holder.out()
    assert lane.free == 3 and lane.waiting == 0 and not lane.queues and not lane.holding


async def test_freed_places_go_round_the_accounts_waiting_in_turn():
    lane = Lane("reads", limit=1, wait=5)
    order: list[str] = []
    first = Holder(lane, "x")
    await settled()
    # a's three arrive before b's two and c's one; all wait for x's place.
    waiting = [Holder(lane, account, order) for account in ("a", "a", "a", "b", "b", "c")]
    await settled()
    assert order == [] and lane.waiting == 6
    await first.out()
    while len(order) < len(waiting):
        await settled()
        inside = [h for h in waiting if h.entered.is_set() and not h.leave.is_set()]
        assert len(inside) == 1
        await inside[0].out()
    assert order == ["a", "b", "c", "a", "b", "a"], order


async def test_a_request_that_waits_its_time_is_refused_with_retry_after_and_a_json_body():
    lane = Lane("temporal", limit=1, wait=0.2)
    holder = Holder(lane, "a")
    await settled()
    late = Holder(lane, "b")  # b may take a place, but none is free
    await late.task
    status, headers, body = status_and_body(late.refusal)
    assert (status, headers[b"retry-after"], headers[b"content-type"]) == (503, b"1", b"application/json")
    assert "waited 0.2 s for one of the 1 places of its lane (temporal)" in body["Message"] and body["Errors"] == []
    assert lane.waiting == 0 and not lane.queues  # it left no trace
    await holder.out()
    assert lane.free == 1


async def test_an_account_with_too_many_waiting_is_refused_at_once(monkeypatch):
    monkeypatch.setattr(admission, "WAITING_PER_ACCOUNT", 2)
    lane = Lane("reads", limit=2, wait=30)
    holders = [Holder(lane, "a") for _ in range(3)]  # one in, two waiting
    await settled()
    crowded = Holder(lane, "a")
    await asyncio.wait_for(crowded.task, 1)  # not after its wait: at once
    status, _, body = status_and_body(crowded.refusal)
    assert status == 503 and "2 requests of this account already wait" in body["Message"]
    other = Holder(lane, "b")  # another account is not refused
    await asyncio.wait_for(other.entered.wait(), 1)
    for holder in [*holders, other]:
        await holder.out()


async def test_a_refusal_reads_nothing_and_the_app_never_sees_the_request():
    lanes = Lanes(dataclasses.replace(settings(), api_concurrency=1, api_queue_seconds=0.1))
    routes = Routes()
    routes.add(variables.router.routes, lanes.of)
    seen: list[str] = []
    inside, leave = asyncio.Event(), asyncio.Event()

    async def app(scope, receive, send) -> None:
        seen.append(scope["path"])
        inside.set()
        await leave.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def request(path: str) -> tuple[list[dict], list[str]]:
        sent, read = [], []

        async def receive() -> dict:
            read.append(path)
            return {"type": "http.request", "body": b'{"Value": "x"}'}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "PUT", "path": path, "headers": []}
        await Admission(app, routes)(scope, receive, send)
        return sent, read

    first = asyncio.create_task(request("/v1.0/account/variables/first"))
    await inside.wait()
    sent, read = await request("/v1.0/account/variables/second")  # the writes lane's one place is taken
    assert sent[0]["status"] == 503 and read == [] and seen == ["/v1.0/account/variables/first"]
    leave.set()
    assert (await first)[0][0]["status"] == 204
    assert lanes.writes.free == 1  # given back as the answer started


def test_routes_that_need_temporal_take_the_temporal_lane():
    lanes = Lanes(dataclasses.replace(settings(), api_concurrency=3))
    routes = {(method, route.path): route for module in (cycles, transactions, variables)
              for route in module.router.routes if isinstance(route, APIRoute) for method in route.methods}
    for method, path in (("PUT", "/v1.0/cycles/{cycle_id}/pause"), ("PUT", "/v1.0/cycles/{cycle_id}/activate"),
                         ("POST", "/v1.0/cycles/{cycle_id}/transactions/{transaction_id}/retry")):
        assert lanes.of(routes[method, path]) is lanes.temporal, path
    assert lanes.of(routes["GET", "/v1.0/cycles/{cycle_id}"]) is lanes.reads
    assert lanes.of(routes["PUT", "/v1.0/account/variables/{name}"]) is lanes.writes
    assert (lanes.threads, lanes.webhooks.limit) == (9, 24)


def test_a_request_finds_its_route_by_path_and_method():
    lanes = Lanes(settings())
    table = Routes()
    table.add(upgrades.router.routes, lanes.of)  # first, as in api/app.py
    table.add(cycles.router.routes, lanes.of)
    found = table.find("GET", "/v1.0/cycles/c1")
    assert (found.route.template, found.route.lane, found.params) == ("/v1.0/cycles/{cycle_id}", lanes.reads,
                                                                      {"cycle_id": "c1"})
    assert table.find("GET", "/v1.0/cycles/upgradeable").route.template == "/v1.0/cycles/upgradeable"
    assert table.find("PUT", "/v1.0/cycles/c1/pause").route.lane is lanes.temporal
    assert table.find("DELETE", "/v1.0/cycles/c1/pause") is None  # FastAPI answers 405
    assert table.find("GET", "/v1.0/nothing/here") is None


@pytest.fixture
def engine(tmp_path):
    database = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


async def test_release_gives_the_connection_back_unless_changes_are_not_yet_committed(engine):
    with RequestSession(engine, expire_on_commit=False) as db:
        db.add(Account(id="a", name="A"))
        db.commit()
        db.expire_all()
        account = await asyncio.to_thread(db.get, Account, "a")  # read from the database
        assert engine.pool.checkedout() == 1
        await release(db)
        assert engine.pool.checkedout() == 0 and account.name == "A"  # loaded state kept

        await asyncio.to_thread(db.get, Account, "missing")  # a query: a connection again
        account.name = "changed"  # in memory only
        await release(db)
        assert engine.pool.checkedout() == 1
        await asyncio.to_thread(db.flush)  # written, not committed
        assert not db.dirty
        await release(db)
        assert engine.pool.checkedout() == 1
        await asyncio.to_thread(db.rollback)
        assert engine.pool.checkedout() == 0
