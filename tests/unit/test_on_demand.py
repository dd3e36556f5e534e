"""Data on demand's short path (api/on_demand.py) answers as FastAPI's route would: a valid
body is answered ahead of FastAPI with the same token checks and the app's own error handlers;
any other body goes on to FastAPI, whose answer it is."""

from __future__ import annotations

import httpx
import pytest

from api import on_demand
from api.app import create_app
from api.auth import AGENT_SCOPE, new_token
from api.portal_access import PORTAL_SCOPE
from api.routers import connector_calls
from api.routers.connector_calls import CallIn
from runtime.settings import settings

URL = "http://api/v1.0/account/connectors/ac-1/methods/list-contacts"


@pytest.fixture
def app(monkeypatch):
    """The API app as uvicorn serves it, each data-on-demand call it makes recorded (and
    answered with no records) instead of sent, and by which path it came."""
    made = create_app()
    made.state.calls = []

    def recording(path: str):
        async def answered(request, claims, account_id, id, method, body):
            made.state.calls.append((path, claims.get("account"), account_id, id, method, body))
            return connector_calls.Response(b'{"Records":[],"Pages":1,"NextCursor":null,"Warnings":[]}',
                                            media_type="application/json")
        return answered

    monkeypatch.setattr(on_demand, "on_demand", recording("short"))
    monkeypatch.setattr(connector_calls, "on_demand", recording("FastAPI"))
    return made


def client(app, claims: dict | None = None) -> httpx.AsyncClient:
    token = new_token(settings().client_id, claims or {"scope": "partner"})
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False),
                             headers={"Authorization": f"Bearer {token}", "X-Account-Id": "acct-1"})


async def test_a_valid_body_is_answered_on_the_short_path(app):
    async with client(app) as api:
        given = await api.post(URL, json={"OnePage": True, "Parameters": {"q": "x"}})
        empty = await api.post(URL, content=b"", headers={"Content-Type": "application/json"})
    assert given.status_code == empty.status_code == 200
    assert given.json() == {"Records": [], "Pages": 1, "NextCursor": None, "Warnings": []}
    assert app.state.calls == [("short", None, "acct-1", "ac-1", "list-contacts",
                                CallIn(OnePage=True, Parameters={"q": "x"})),
                               ("short", None, "acct-1", "ac-1", "list-contacts", CallIn())]


async def test_any_other_body_goes_on_to_fastapi_which_answers_it(app):
    async with client(app) as api:
        invalid = await api.post(URL, json={"OnePage": "perhaps", "Parameters": []})
        not_json = await api.post(URL, content=b"{not json", headers={"Content-Type": "application/json"})
        untyped = await api.post(URL, content=b"{}")  # no content type: FastAPI does not read it as JSON
        null = await api.post(URL, content=b"null", headers={"Content-Type": "application/json"})
        bare = await api.post(URL)  # no body, no content type
    assert invalid.status_code == 422
    assert {e["Path"] for e in invalid.json()["Errors"]} == {"$.OnePage", "$.Parameters"}
    assert not_json.status_code == untyped.status_code == 422
    assert null.status_code == bare.status_code == 200
    assert [path for path, *_ in app.state.calls] == ["FastAPI", "FastAPI"]


async def test_tokens_are_checked_as_on_every_route(app):
    """(Another account's token is refused by `on_demand` itself, on either path: tests/e2e.)"""
    async with client(app) as api:
        missing = await api.post(URL, json={}, headers={"Authorization": ""})
        missing_fastapi = await api.post(URL, content=b"null", headers={"Authorization": "",
                                                                        "Content-Type": "application/json"})
        portal = await api.post(URL, json={}, headers={"Authorization": "Bearer " + new_token(
            settings().client_id, {"scope": PORTAL_SCOPE, "account": "acct-1"})})
        agent = await api.post(URL, json={}, headers={"Authorization": "Bearer " + new_token(
            settings().client_id, {"scope": f"{AGENT_SCOPE}acct-1", "account": "acct-1"})})
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert (missing.json(), missing.headers["WWW-Authenticate"]) == (
        missing_fastapi.json(), missing_fastapi.headers["WWW-Authenticate"])
    assert portal.status_code == 403 and "portal" in portal.json()["Message"]
    assert agent.status_code == 403 and "MCP" in agent.json()["Message"]
    assert app.state.calls == []


async def test_errors_are_answered_by_the_apps_handlers(app, monkeypatch):
    async def failing(request, claims, account_id, id, method, body):
        raise connector_calls.not_found("account connector", id)

    monkeypatch.setattr(on_demand, "on_demand", failing)
    async with client(app) as api:
        response = await api.post(URL, json={})
    assert (response.status_code, response.json()) == (
        404, {"Message": "account connector 'ac-1' was not found", "Errors": []})


async def test_every_other_request_goes_on_to_fastapi(app):
    async with client(app) as api:
        assert (await api.get(URL)).status_code == 405
        assert (await api.post(f"{URL}/more/segments", json={})).status_code == 404
    assert app.state.calls == []
