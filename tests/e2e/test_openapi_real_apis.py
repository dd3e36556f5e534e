"""Imports worth using (issue 17, acceptance 5 and 6): an imported connector is pointed at a second
server through its BaseUrl property without importing it again; GitHub's document, which declares
no security scheme, gets the authentication chosen at import and sends it; GitHub's whole document
is imported in the background, its request answered at once and its progress shown."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI, Header

from demo.app import create_app
from tests.conftest import Process, ThreadedServer
from tests.vendor_specs import GITHUB, missing, path
from tests.walkthrough import eventually, import_openapi

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
IMPORT = "/v1.0/connectors/import/openapi"


async def imported(api: httpx.AsyncClient, document: dict, title: str, **query: str) -> dict:
    """The document imported (under `title`) and published: its connector, with its Document and
    what the import skipped."""
    job = await import_openapi(api, json.dumps({**document, "info": {**document["info"], "title": title}}), **query)
    assert job["Status"] == "Succeeded", job
    published = await api.post(f"/v1.0/connectors/{job['ConnectorId']}/releases/publish", json={"Major": False})
    assert published.status_code == 200, published.text
    connector = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}")).json()
    return {**connector, "Skipped": job["Skipped"]}


async def account(api: httpx.AsyncClient, name: str) -> dict[str, str]:
    response = await api.post("/v1.0/accounts", json={"Name": name, "Timezone": "Europe/London"})
    return {"X-Account-Id": response.json()["Id"]}


async def test_an_imported_connector_is_pointed_at_a_second_server_through_its_base_url(api, demo):
    with ThreadedServer(create_app()) as second:
        # Each server's pet 7 is its own: which answered shows which server a call went to.
        async with httpx.AsyncClient() as direct:
            for server, name in ((demo, "Kit"), (second, "Max")):
                created = await direct.post(f"{server.url}/petstore/pets", json={"id": 7, "name": name})
                assert created.status_code == 201
        petstore = yaml.safe_load((FIXTURES / "petstore.yaml").read_text())
        connector = await imported(api, petstore, "Petstore (BaseUrl)")
        base = next(p for p in connector["Document"]["Parameters"] if p["Name"] == "BaseUrl")
        assert base["DefaultValue"] == "http://petstore.swagger.io/v1"  # the document's server

        headers = await account(api, "BaseUrl e2e")
        installed = await api.post("/v1.0/account/connectors", headers=headers, json={
            "ConnectorId": connector["Id"], "Properties": [{"Name": "BaseUrl", "Value": f"{demo.url}/petstore"}]})
        assert installed.status_code == 201, installed.text
        calls = f"/v1.0/account/connectors/{installed.json()['Id']}/methods/showPetById"

        async def pet_7() -> str:
            response = await api.post(calls, headers=headers, json={"Parameters": {"petId": "7"}})
            assert response.status_code == 200, response.text
            return response.json()["Records"][0]["Name"]

        assert await pet_7() == "Kit"
        moved = await api.put(f"/v1.0/account/connectors/{installed.json()['Id']}", headers=headers,
                              json={"Properties": [{"Name": "BaseUrl", "Value": f"{second.url}/petstore"}]})
        assert moved.status_code == 200, moved.text
        assert await pet_7() == "Max"
        releases = (await api.get(f"/v1.0/connectors/{connector['Id']}/releases")).json()
        assert len(releases) == 1  # the one import: nothing imported again


class Recorder:
    """GitHub's `GET /user`, answering whoever asks, and keeping each request's Authorization."""

    def __init__(self) -> None:
        self.app, self.seen = FastAPI(), []

        @self.app.get("/user")
        def user(authorization: str | None = Header(None)) -> dict:
            self.seen.append(authorization)
            return {"login": "octocat", "id": 583231, "type": "User"}


async def who_am_i(api: httpx.AsyncClient, connector: dict, recorder_url: str, auth_value: str | None) -> str:
    headers = await account(api, connector["Name"])
    installed = await api.post("/v1.0/account/connectors", headers=headers, json={
        "ConnectorId": connector["Id"], "AuthValue": auth_value,
        "Properties": [{"Name": "BaseUrl", "Value": recorder_url}]})
    assert installed.status_code == 201, installed.text
    response = await api.post(f"/v1.0/account/connectors/{installed.json()['Id']}/methods/users-get-authenticated",
                              headers=headers, json={})
    assert response.status_code == 200, response.text
    return response.json()["Records"][0]["Login"]


async def test_githubs_document_gets_the_authentication_chosen_at_import(api):
    github = json.loads((FIXTURES / "github-excerpt.json").read_text())
    recorder = Recorder()
    with ThreadedServer(recorder.app) as server:
        # As the document says: no security scheme, so no credentials (noted in the answer).
        bare = await imported(api, github, "GitHub (as declared)")
        assert bare["Document"]["Authentication"] == []
        assert any("sends no credentials" in item["Message"] for item in bare["Skipped"])
        assert await who_am_i(api, bare, server.url, None) == "octocat"
        # Chosen at import: a bearer token, sent.
        chosen = await imported(api, github, "GitHub (bearer)", authType="Bearer")
        assert [(a["Name"], a["AuthType"], a["IsDefault"]) for a in chosen["Document"]["Authentication"]] == [
            ("Bearer", "Bearer", True)]
        assert await who_am_i(api, chosen, server.url, "ghp_e2e") == "octocat"
    assert recorder.seen == [None, "Bearer ghp_e2e"]


async def test_an_authentication_that_cannot_be_chosen_is_refused_naming_the_query_parameter(api):
    body = (FIXTURES / "github-excerpt.json").read_bytes()
    for query, wanted in (({"authType": "ApiKey"}, ("query:apiKeyName", ("an ApiKey authentication needs an "
                                                                          "ApiKeyName"))),
                          ({"apiKeyName": "X-Key"}, ("query:authType", "is required with apiKeyName")),
                          ({"authType": "Token"}, ("query:authType", None))):
        response = await api.post(IMPORT, params=query, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        (error,) = response.json()["Errors"]
        assert error["Path"] == wanted[0] and (wanted[1] is None or error["Message"] == wanted[1])
    names = [c["Name"] for c in (await api.get("/v1.0/connectors")).json()]
    assert "GitHub v3 REST API" not in names  # nothing was saved


BOUND = 5.0  # seconds the import's request may take: it saves the document and starts the import


@pytest.mark.skipif(bool(missing(GITHUB)), reason=missing(GITHUB) or "")
async def test_githubs_whole_document_is_imported_in_the_background_its_request_answered_at_once(api):
    body = path(GITHUB).read_bytes()
    started = time.perf_counter()
    response = await api.post(IMPORT, params={"authType": "Bearer"}, content=body,
                              headers={"Content-Type": "application/json"}, timeout=60)
    held = time.perf_counter() - started
    assert response.status_code == 202, response.text
    assert held < BOUND, f"the import's request took {held:.1f} s (bound {BOUND} s)"
    answered = datetime.now(UTC)
    location, seen = response.headers["Location"], []

    async def ended() -> dict | None:
        state = (await api.get(location)).json()
        seen.append(f"{state['Status']} {state['Converted']}/{state['Operations']}")
        return state if state["Status"] != "Running" else None

    job = await eventually(ended, "GitHub's import to end", 600)
    print(f"GitHub's document ({len(body) / 1e6:.1f} MB): the request took {held:.1f} s; then {', '.join(seen)}")
    assert job["Status"] == "Succeeded", job
    assert datetime.fromisoformat(job["FinishedAt"]).replace(tzinfo=UTC) > answered  # answered before it was done
    assert job["Converted"] == job["Operations"] > 1_000
    document = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}")).json()["Document"]
    assert len(document["Methods"]) > 1_000 and document["Authentication"][0]["AuthType"] == "Bearer"


def large_document(operations: int) -> dict:
    """A document of `operations` operations, each answering an object of 40 fields: seconds to
    convert, so that a worker can be stopped in the middle."""
    record = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(40)}}
    return {"openapi": "3.0.3", "info": {"title": "Large (worker crash)", "version": "1"},
            "servers": [{"url": "https://large.example.com"}],
            "paths": {f"/things{n}": {"get": {"operationId": f"things{n}", "responses": {"200": {
                "description": "ok", "content": {"application/json": {"schema": {
                    "type": "array", "items": record}}}}}}} for n in range(operations)}}


async def test_an_import_whose_worker_is_killed_midway_is_finished_by_the_next_one(api, worker, temporal):
    """Nothing accepted is lost: the import goes on in another worker (Temporal retries the activity
    once it stops hearing from the dead one)."""
    response = await api.post(IMPORT, content=json.dumps(large_document(6_000)),
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    location = response.headers["Location"]

    async def midway() -> dict | None:
        state = (await api.get(location)).json()
        return state if state["Operations"] and 0 < state["Converted"] < state["Operations"] else None

    before = await eventually(midway, "the import to be under way", 120)
    worker["process"].kill()  # SIGKILL, mid-import
    worker["process"] = Process("worker.py")

    async def ended() -> dict | None:
        state = (await api.get(location)).json()
        return state if state["Status"] != "Running" else None

    job = await eventually(ended, "the import to end", 300)
    assert job["Status"] == "Succeeded" and job["Converted"] == job["Operations"] == 6_000, (before, job)
    handle = temporal.client.get_workflow_handle(f"import-{job['Id']}")
    await handle.result()  # the outcome is recorded before the activity's end is
    history = await handle.fetch_history()
    attempts = [e.activity_task_started_event_attributes.attempt for e in history.events
                if e.HasField("activity_task_started_event_attributes")]
    assert attempts == [2]  # the first try died with its worker (a started event is written once it ends)
    releases = (await api.get(f"/v1.0/connectors/{job['ConnectorId']}/releases")).json()
    assert len(releases) == 1
