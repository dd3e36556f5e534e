"""Which spans the API makes, as its process's environment configures tracing: run in a process
of its own by tests/e2e/test_telemetry.py (a process sets its tracer provider once).

    python -m tests.spans DEMO_URL RESULT_FILE

It builds and starts the API as `uvicorn api.app:app` would, then adds an in-memory exporter
to the tracer provider: the one tracing set up, or, when nothing configured tracing, one set
only now (as a library or a test might, later), which would see any span the API still made. Then a
request to the API, an upstream request through the engine's client and a Temporal call;
the names of the spans that reached the exporter go to RESULT_FILE as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.service import RPCError
from yarl import URL

from connectors.transport import build_request


async def main(demo_url: str, result: Path) -> None:
    from api.app import create_app

    app = create_app()
    exporter = InMemorySpanExporter()
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            trace.set_tracer_provider(TracerProvider())
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
        token = (await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "test-client",
                                                      "client_secret": "test-secret"})).json()["access_token"]
        listed = await api.get("/v1.0/accounts", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        stats = build_request("GET", URL(f"{demo_url}/admin/stats?emails=false"), {})
        assert (await app.state.http.send(stats)).status_code == 200
        try:
            await app.state.temporal.get_workflow_handle("no-such-workflow").signal("nothing")
        except RPCError:
            pass  # not found: the call was made
    result.write_text(json.dumps(sorted(span.name for span in exporter.get_finished_spans())))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
