"""Acceptance (issue 10, point 1): activating a cycle makes one trace, from the API's activate
request through the workflows and the run's activities to the outbound HTTP requests, with the
cycle, run, step and account ids as attributes and no secret anywhere.

The API (uvicorn in a thread) and the worker run in this process, so that their spans reach an
in-memory exporter; against a Temporal dev server of their own, so the session's worker process
takes none of their tasks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from connectors.client import http_client
from runtime.settings import settings
from runtime.telemetry import instrument_http
from runtime.temporal import connect
from tests.conftest import PrivateStack, ThreadedServer, free_port, partner_client
from tests.mock_http import mock_client
from tests.templating import CREDENTIALS
from tests.walkthrough import install_demo_cycle
from worker import build_worker

SECRETS = [*CREDENTIALS.values(), "test-secret"]  # the connectors' credentials, the API client's secret


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (set once), exporting to memory for this test."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # its processor stays, exporting nothing


@pytest.fixture
def own_temporal(monkeypatch) -> Iterator[str]:
    """A Temporal dev server for this test, which settings() points at while it runs. The
    worker in this process writes outcomes on its event loop (SQLite's inline group commit), so
    the API here may not forbid database calls on an event loop."""
    stack = PrivateStack(f"traces-{free_port()}")
    stack.start_first_temporal()
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{stack.port}")
    monkeypatch.setenv("CYCLEWRIGHT_STRICT_EVENT_LOOP", "0")
    settings.cache_clear()
    yield settings().temporal_address
    stack.stop()
    monkeypatch.undo()
    settings.cache_clear()


def _texts(span: ReadableSpan) -> list[str]:
    return [span.name, *(str(value) for value in (span.attributes or {}).values())]


async def test_activating_a_cycle_is_one_trace_with_the_ids_and_no_secret(spans, own_temporal, demo):
    from api.app import create_app

    client = await connect(settings())
    async with http_client(settings().http_timeout, settings().egress) as http, \
            build_worker(client, instrument_http(http)):
        with ThreadedServer(create_app()) as server:
            async with partner_client(server.url) as api:
                cycle = await install_demo_cycle(api, demo.url, contacts=3)
                token = api.headers["Authorization"].removeprefix("Bearer ")
                assert (await cycle.activate(RunOnce=True)).status_code == 200
                (run,) = await cycle.wait_for_runs(1)
    finished = spans.get_finished_spans()

    (activate,) = [s for s in finished if s.name == "PUT /v1.0/cycles/{cycle_id}/activate"
                   and s.kind == SpanKind.SERVER]
    assert activate.attributes["cyclewright.cycle_id"] == cycle.cycle_id
    assert activate.attributes["cyclewright.account_id"] == cycle.account_id
    in_trace = [s for s in finished if s.context.trace_id == activate.context.trace_id]
    names = {s.name for s in in_trace}
    assert {"StartWorkflow:CycleWorkflow", "RunWorkflow:CycleWorkflow", "StartChildWorkflow:RunWorkflow",
            "RunWorkflow:RunWorkflow", "RunActivity:fetch_trigger", "RunActivity:run_step"} <= names, names

    steps = [s for s in in_trace if s.name in ("RunActivity:fetch_trigger", "RunActivity:run_step")]
    for span in steps:
        assert span.attributes["cyclewright.cycle_id"] == cycle.cycle_id
        assert span.attributes["cyclewright.run_id"] == run["Id"]
        assert span.attributes["cyclewright.account_id"] == cycle.account_id
        assert span.attributes["cyclewright.step_id"]
    outbound = [s for s in in_trace if s.kind == SpanKind.CLIENT and s.parent.span_id in
                {step.context.span_id for step in steps}]
    urls = {str(s.attributes.get("url.full") or s.attributes.get("http.url")) for s in outbound}
    assert f"{demo.url}/crm/contacts" in {u.split("?")[0] for u in urls}, urls  # the trigger's page
    assert f"{demo.url}/leads/contacts" in urls, urls  # and a lead created per record
    assert len(outbound) == 4

    leaks = [(s.name, text) for s in finished for text in _texts(s)
             for secret in [*SECRETS, token] if secret in text]
    assert not leaks


async def test_a_recorded_url_has_its_auth_query_masked(spans):
    """The engine's URLs as spans record them: an API key sent in the query is masked."""
    from connectors import Credentials, call_method
    from connectors.spec import Connector

    connector = Connector.model_validate({
        "Name": "Query key", "Version": "1.0",
        "Authentication": [{"Name": "Key", "AuthType": "ApiKey", "ApiKeyLocation": "QueryString",
                            "ApiKeyName": "api_key", "IsDefault": True}],
        "Methods": [{"UniqueIdentifier": "list", "Name": "List", "HttpMethod": "Get",
                     "Endpoint": "https://api.example.com/items?page=1"}]})
    async with mock_client(lambda request: httpx.Response(200, json=[])) as client:
        await call_method(instrument_http(client), connector, "list",
                          credentials=Credentials(auth_value="the-api-key-1234"))
    (sent,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    url = str(sent.attributes.get("url.full") or sent.attributes.get("http.url"))
    assert url.startswith("https://api.example.com/items?") and "api_key=***" in url
    assert "the-api-key-1234" not in " ".join(_texts(sent))
