"""Webhook intake (api/intake.py) answers events ahead of FastAPI as FastAPI would: the body's
limit streamed or declared, the webhooks lane's 503, errors through the app's own handlers;
every other request goes on to FastAPI."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from api import intake
from api.admission import Lanes
from api.app import create_app
from api.limits import DEFAULT_LIMIT
from runtime.settings import settings

URL = "http://api/v1.0/webhooks/some-hook"


@pytest.fixture
def app(monkeypatch):
    """The API app as uvicorn serves it, its lanes one place each (waits of 0.2 s), every event
    it hands on recorded instead of looked up and queued."""
    made = create_app()
    made.state.lanes = Lanes(dataclasses.replace(settings(), api_concurrency=1, api_queue_seconds=0.2))
    made.state.received = []

    async def received(request, webhook_id, body, x_signature):
        made.state.received.append((webhook_id, body, x_signature))
        return intake.Response(intake.ACCEPTED, 202, media_type="application/json")

    monkeypatch.setattr(intake, "receive_event", received)
    return made


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False))


async def test_an_event_is_handed_on_with_its_webhook_body_and_signature(app):
    async with client(app) as api:
        response = await api.post(URL, content=b'{"a": 1}', headers={"X-Signature": "t=1,v1=ab"})
    assert (response.status_code, response.json()) == (202, {"Status": "Accepted"})
    assert app.state.received == [("some-hook", b'{"a": 1}', "t=1,v1=ab")]


async def test_a_body_past_the_limit_is_413_declared_or_streamed_and_nothing_is_handed_on(app):
    async def streamed():  # chunked: no Content-Length to refuse it by
        for _ in range(DEFAULT_LIMIT // 1024 + 1):
            yield b" " * 1024

    async with client(app) as api:
        declared = await api.post(URL, content=b" " * (DEFAULT_LIMIT + 1))
        chunked = await api.post(URL, content=streamed())
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json() == {"Message": "the request body is larger than this call's limit of 256 KiB",
                                   "Errors": []}
    assert app.state.received == []


async def test_an_event_that_waits_too_long_for_the_webhooks_lane_is_503_with_retry_after(app):
    lane = app.state.lanes.webhooks
    inside, leave = asyncio.Event(), asyncio.Event()

    async def hold(account: str) -> None:
        async with lane.admitted(account):
            inside.set()
            await leave.wait()

    holders = [asyncio.create_task(hold(f"account {n}")) for n in range(lane.limit)]
    await inside.wait()
    await asyncio.sleep(0)
    assert lane.free == 0  # every place taken
    async with client(app) as api:
        refused = await api.post(URL, content=b"{}")
        leave.set()
        await asyncio.gather(*holders)
        admitted = await api.post(URL, content=b"{}")
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert "lane (webhooks)" in refused.json()["Message"]
    assert admitted.status_code == 202 and len(app.state.received) == 1


async def test_errors_are_answered_by_the_apps_handlers_and_the_unexpected_by_its_last_resort(app, monkeypatch):
    async def failing(request, webhook_id, body, x_signature):
        raise failure

    monkeypatch.setattr(intake, "receive_event", failing)
    async with client(app) as api:
        failure = OperationalError("INSERT …", {}, Exception("database is locked"))
        locked = await api.post(URL, content=b"{}")
        failure = KeyError("a bug")
        broken = await api.post(URL, content=b"{}")
    assert (locked.status_code, locked.headers["Retry-After"]) == (503, "1")
    assert locked.json() == {"Message": "the database is unavailable or busy; try again", "Errors": []}
    assert (broken.status_code, broken.json()["Message"]) == (
        500, "internal error: the request failed unexpectedly (see the API's log)")


async def test_every_other_request_goes_on_to_fastapi(app):
    async with client(app) as api:
        assert (await api.get(URL)).status_code == 405  # the route takes POST only
        assert (await api.post(f"{URL}/more", content=b"{}")).status_code == 404
        assert (await api.get("http://api/healthz")).status_code == 200
    assert app.state.received == []
