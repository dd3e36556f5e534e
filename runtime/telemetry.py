"""OpenTelemetry traces: API request → workflow → activity → outbound HTTP, as one trace.

The tracer provider is set once per process (`start_tracing`), and only when an exporter is
configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT for OTLP over HTTP, or OTEL_TRACES_EXPORTER=otlp|console);
otherwise every span is OpenTelemetry's no-op. The instrumentation is always in place, so a
provider set later (the tests' in-memory one) is used at once; until one is set, an outbound
request makes no span object at all.

No secret goes into a span: outbound URLs are recorded as the engine shows them (masked auth
query parameters, credentials redacted: the request's `shown_url`, set by connectors/call.py)
or without their query; inbound ones as their route; no header is recorded.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import ProxyTracerProvider, Span, SpanKind, StatusCode
from starlette.routing import Match
from temporalio.contrib.opentelemetry import TracingInterceptor

from connectors.transport import HttpClient, Request, Response, Send

PATH_ATTRIBUTES = ("url.full", "http.url", "url.path", "http.target")


def tracing_configured() -> bool:
    env = os.environ.get
    exporter = (env("OTEL_TRACES_EXPORTER") or "").lower()
    if env("OTEL_SDK_DISABLED", "").lower() == "true" or exporter == "none":
        return False
    return bool(exporter or env("OTEL_EXPORTER_OTLP_ENDPOINT") or env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*


def start_tracing(service: str) -> None:
    """The process's tracer provider, exporting as configured; nothing when nothing is."""
    if not tracing_configured() or isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter()))
    trace.set_tracer_provider(provider)


def tracing_interceptor() -> TracingInterceptor:
    """Temporal's: spans for starting, signalling and updating workflows, their runs and their
    activities, with the context carried in Temporal headers from the API to the worker."""
    return TracingInterceptor()


def _replace(span: Span, names: tuple[str, ...], value: str) -> None:
    """Overwrite those of the attributes the instrumentation recorded."""
    recorded = getattr(span, "attributes", None) or {}
    for name in names:
        if name in recorded:
            span.set_attribute(name, value)


async def _client_span(request: Request, send: Send) -> Response:
    """`request` sent in a client span (OpenTelemetry's HTTP semantic conventions), its trace
    context in its headers; sent as it is while no tracer provider is set."""
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        return await send(request)
    url = request.url
    attributes = {"http.request.method": request.method, "server.address": url.raw_host or "",
                  "server.port": url.port or 0,
                  "url.full": request.shown_url or str(url.with_query(None).with_fragment(None))}
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT, attributes=attributes,
                                      record_exception=False, set_status_on_exception=False) as span:
        propagate.inject(request.headers)
        try:
            response = await send(request)
        except Exception as err:  # its message may quote the URL: only its kind is recorded
            span.set_attribute("error.type", type(err).__name__)
            span.set_status(StatusCode.ERROR)
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 400:
            span.set_attribute("error.type", str(response.status_code))
            span.set_status(StatusCode.ERROR)
        return response


def instrument_http(client: HttpClient) -> HttpClient:
    """Client spans for every request the engine sends."""
    client.observe = _client_span
    return client


def instrument_app(app: FastAPI) -> None:
    """Server spans for every API request, named and recorded by route, never by the path
    itself (a webhook's path is its secret) nor its query."""

    def by_route(span: Span, scope: dict[str, Any]) -> None:
        if not span.is_recording() or scope.get("type") != "http":
            return
        route = next((r.path for r in app.router.routes if r.matches(scope)[0] == Match.FULL), "unmatched")
        _replace(span, PATH_ATTRIBUTES, route)
        _replace(span, ("url.query",), "")

    FastAPIInstrumentor.instrument_app(app, server_request_hook=by_route, excluded_urls="healthz,metrics")
