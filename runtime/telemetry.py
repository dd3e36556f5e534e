"""OpenTelemetry traces: API request → workflow → activity → outbound HTTP, as one trace.

A process traces only when an exporter is configured by the standard variables
(OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT for OTLP over HTTP, or
OTEL_TRACES_EXPORTER=otlp|console): `start_tracing` then sets the SDK's tracer provider,
which samples as OTEL_TRACES_SAMPLER says. Otherwise nothing is instrumented: no ASGI
middleware, no client spans, no Temporal interceptor, so tracing costs nothing when it is off.
Each place asks `tracing()` as it is built (a test may set its own provider first).

No secret goes into a span: outbound URLs are recorded as the engine shows them (masked auth
query parameters, credentials redacted: the request's `shown_url`, set by connectors/call.py)
or without their query; inbound ones as their route (found by api/routes.py before the span
starts), never their path (a webhook's path is its secret) nor their query; no header is
recorded.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.applications import Starlette
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from connectors.transport import HttpClient, Request, Response, Send
from runtime import context

PATH_ATTRIBUTES = ("url.full", "http.url", "url.path", "http.target")
QUERY_ATTRIBUTES = ("url.query",)
ROUTE = "cyclewright.route"  # the scope key where api/routes.py leaves the request's route template
UNTRACED_PATHS = "healthz,metrics"  # probes and scrapes: no span each


def tracing_configured() -> bool:
    """Whether the OTEL_* variables configure a trace exporter."""
    env = os.environ.get
    exporter = (env("OTEL_TRACES_EXPORTER") or "").lower()
    if env("OTEL_SDK_DISABLED", "").lower() == "true" or exporter == "none":
        return False
    return bool(exporter or env("OTEL_EXPORTER_OTLP_ENDPOINT") or env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def tracing() -> bool:
    """Whether this process traces: an SDK tracer provider is set (by `start_tracing`, or a test's)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*


def start_tracing(service: str) -> None:
    """The process's tracer provider, exporting as configured and sampling as OTEL_TRACES_SAMPLER
    (and OTEL_TRACES_SAMPLER_ARG) say; nothing when no exporter is configured."""
    if not tracing_configured() or tracing():
        return
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)  # its sampler: from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(_exporter()))
    trace.set_tracer_provider(provider)


def tracing_interceptors() -> list[Interceptor]:
    """Temporal's, when tracing: spans for starting, signalling and updating workflows, their
    runs and their activities, with the context carried in Temporal headers from the API to
    the worker."""
    return [TracingInterceptor()] if tracing() else []


def _replace(span: Span, names: tuple[str, ...], value: str) -> None:
    """Overwrite those of the attributes the instrumentation recorded."""
    recorded = getattr(span, "attributes", None) or {}
    for name in names:
        if name in recorded:
            span.set_attribute(name, value)


async def _client_span(request: Request, send: Send) -> Response:
    """`request` sent in a client span (OpenTelemetry's HTTP semantic conventions), its trace
    context in its headers."""
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
    """Client spans for every request the engine sends, when tracing."""
    if tracing():
        client.observe = _client_span
    return client


def _span_details(scope: MutableMapping[str, Any]) -> tuple[str, dict[str, str]]:
    route = scope.get(ROUTE)
    return (f"{scope['method']} {route}", {"http.route": route}) if route else (scope["method"], {})


def _by_route(span: Span, scope: MutableMapping[str, Any]) -> None:
    """The request's URL recorded as its route; the ids it names (api/routes.py bound them)."""
    if span.is_recording():
        _replace(span, PATH_ATTRIBUTES, scope.get(ROUTE) or "unmatched")
        _replace(span, QUERY_ATTRIBUTES, "")
        context.mark(span)


def instrument_app(app: Starlette) -> None:
    """A server span for each API request, when tracing: its middleware goes where this is
    called among the app's (api/app.py: inside admission, so a request refused costs no span)."""
    if tracing():
        app.add_middleware(OpenTelemetryMiddleware, excluded_urls=UNTRACED_PATHS, default_span_details=_span_details,
                           server_request_hook=_by_route, exclude_spans=["receive", "send"])
