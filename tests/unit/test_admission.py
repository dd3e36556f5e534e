"""Admission (api/admission.py): a lane admits its limit, the next in turn as one leaves, and
refuses with 503 and Retry-After one that waited its time; routes that need Temporal take the
temporal lane, the others the reads or the writes lane by method. The request session (api/dependencies.py) gives its connection back before a
wait, unless it holds changes not yet committed."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fastapi.routing import APIRoute

from api.admission import Lane, Lanes
from api.dependencies import RequestSession, release
from api.errors import ApiError
from api.routers import cycles, transactions, variables
from runtime.settings import settings
from store.database import make_engine
from store.tables import Account


async def test_a_lane_admits_its_limit_then_the_next_in_turn_and_refuses_one_that_waited_too_long():
    lane = Lane("writes", limit=1, wait=0.2)
    inside, leave = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with lane.admitted():
            inside.set()
            await leave.wait()

    holder = asyncio.create_task(hold())
    await inside.wait()
    with pytest.raises(ApiError) as refused:  # the place stays taken for longer than the wait
        async with lane.admitted():
            pass
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    assert "lane (writes)" in refused.value.message
    waiting = asyncio.create_task(_enter(lane))
    await asyncio.sleep(0)
    assert not waiting.done()
    leave.set()  # the holder leaves: the next in turn comes in
    await asyncio.gather(holder, waiting)


async def _enter(lane: Lane) -> None:
    async with lane.admitted():
        pass


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
