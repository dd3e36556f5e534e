"""The API's side of the nesting bound: a JSON body too deep is a 422 before any route reads it,
streamed or not; the size limit still holds for a JSON body read whole; a RecursionError that
got through anyway is a JSON 422, not a plain-text 500."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.limits import DEFAULT_LIMIT, BodyLimit
from connectors.nesting import MAX_DEPTH


def app() -> FastAPI:
    made = FastAPI()
    errors.install(made)
    made.add_middleware(BodyLimit)

    @made.post("/echo")
    def echo(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return body

    @made.post("/recurse")
    def recurse() -> None:
        json.loads("[" * 100_000 + "]" * 100_000)  # what a check missed would do

    return made


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def chunks(text: str, size: int = 1000):
    data = text.encode()
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_json_body_too_deep_is_refused_before_the_route_whole_or_streamed():
    client = TestClient(app())
    assert client.post("/echo", content=nested(MAX_DEPTH), headers={"Content-Type": "application/json"}).json() \
        == json.loads(nested(MAX_DEPTH))
    refusal = {"Message": "The request is invalid.", "Errors": [
        {"Path": "$", "Message": f"the request body is nested deeper than {MAX_DEPTH} levels (the limit)"}]}
    for kind in ("application/json", "application/vnd.api+json; charset=utf-8", None):  # what FastAPI parses
        response = client.post("/echo", content=nested(MAX_DEPTH + 1), headers={"Content-Type": kind} if kind else {})
        assert (response.status_code, response.json()) == (422, refusal)
    streamed = chunks("[" * 100_000 + "]" * 100_000)  # chunked: no Content-Length
    response = client.post("/echo", content=streamed, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (422, refusal)


def test_a_json_body_read_whole_still_stops_at_the_size_limit():
    client = TestClient(app())
    big = json.dumps({"a": "x" * DEFAULT_LIMIT})
    response = client.post("/echo", content=chunks(big, 64 * 1024), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "256 KiB" in response.json()["Message"]


def test_a_recursion_error_is_a_json_422():
    response = TestClient(app(), raise_server_exceptions=False).post("/recurse")
    assert response.status_code == 422
    assert response.json()["Errors"] == [{"Path": "$", "Message": f"nested too deeply (the limit is {MAX_DEPTH} levels)"}]
