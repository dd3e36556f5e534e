"""Product metrics in Prometheus format, and the Temporal SDK's own beside them.

Labels stay few and bounded: statuses, connector names and method ids (from connector
documents), status classes; never an account, cycle or record. Each process counts what it
does: the worker its runs, transactions and upstream calls, the API its webhook events and
its own upstream calls (data on demand), and the transaction-store lag, read at scrape time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from anyio import CapacityLimiter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.pool import QueuePool
from sqlmodel import select
from temporalio.contrib.opentelemetry import MetricsExporter
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from connectors import metering
from store.database import control_session
from store.tables import InboundEvent

RUNS = Counter("cyclewright_runs", "Runs ended, by status", ["status"])
TRANSACTIONS = Counter("cyclewright_transactions", "Transactions ended, by status", ["status"])
UPSTREAM_CALLS = Counter("cyclewright_upstream_calls", "Requests to third-party APIs, by connector, "
                         "method and status class (2xx, 3xx, 4xx, 5xx, or error: no response)",
                         ["connector", "method", "status_class"])
UPSTREAM_SECONDS = Histogram("cyclewright_upstream_call_seconds", "Time to a third-party API's response",
                             ["connector"], buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
THROTTLED = Counter("cyclewright_upstream_throttled", "429 answers from third-party APIs", ["connector"])
RATE_LIMIT_WAITS = Counter("cyclewright_rate_limit_waits", "Calls that waited for a rate-limit permit",
                           ["connector"])
RATE_LIMIT_WAIT_SECONDS = Counter("cyclewright_rate_limit_wait_seconds", "Time calls waited for a "
                                  "rate-limit permit", ["connector"])
WEBHOOK_EVENTS = Counter("cyclewright_webhook_events_accepted", "Webhook events acknowledged and queued")
PARTNER_WEBHOOK_EVENTS = Counter("cyclewright_partner_webhook_events", "Events at connectors' partner webhook "
                                 "URLs, by connector and outcome (queued for an account's cycles, or unmatched)",
                                 ["connector", "outcome"])
# The API's admission (api/admission.py), by lane: reads, writes, temporal, webhooks.
API_WORKING = Gauge("cyclewright_api_requests_admitted", "Requests the API is working on", ["lane"])
API_WAITING = Gauge("cyclewright_api_requests_waiting", "Requests waiting for a place in their lane", ["lane"])
API_REFUSED = Counter("cyclewright_api_requests_refused", "Requests answered 503: no place in their lane in time",
                      ["lane"])
DB_CONNECTIONS = Gauge("cyclewright_db_connections_in_use", "Connections of the process's pool checked out")
DB_CONNECTIONS_MAX = Gauge("cyclewright_db_connections_max", "Connections the process's pool may open")
API_THREADS = Gauge("cyclewright_api_threads_busy", "The API's worker threads at work")
API_THREADS_MAX = Gauge("cyclewright_api_threads_max", "The API's worker threads")


def status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


class PrometheusMeter:
    """The engine's upstream calls as metrics (connectors/metering.py)."""

    def sent(self, connector: str, method: str, status: int | None, seconds: float) -> None:
        UPSTREAM_CALLS.labels(connector, method, status_class(status)).inc()
        UPSTREAM_SECONDS.labels(connector).observe(seconds)
        if status == 429:
            THROTTLED.labels(connector).inc()

    def waited(self, connector: str, seconds: float) -> None:
        RATE_LIMIT_WAITS.labels(connector).inc()
        RATE_LIMIT_WAIT_SECONDS.labels(connector).inc(seconds)


def count_upstream_calls() -> None:
    metering.use(PrometheusMeter())


class TransactionStoreLag(Collector):
    """Seconds the oldest acknowledged webhook event has waited to be taken into a run, and how
    many wait: read from the store at each scrape (the oldest is the lowest id)."""

    NAME = "cyclewright_transaction_store_lag_seconds"
    HELP = "Age of the oldest webhook event not yet taken into a run"

    def describe(self) -> Iterator[GaugeMetricFamily]:  # what registering reads: no database needed
        yield GaugeMetricFamily(self.NAME, self.HELP)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with control_session() as db:  # answers while the pool is exhausted (api/admission.py)
            oldest = db.exec(select(InboundEvent.received_at).order_by(InboundEvent.id).limit(1)).first()
        lag = (datetime.now(UTC) - oldest.replace(tzinfo=UTC)).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(self.NAME, self.HELP, value=max(lag, 0.0))


def report_store_lag() -> None:
    REGISTRY.register(TransactionStoreLag())


def report_capacity(pool: QueuePool, connections: int, threads: CapacityLimiter) -> None:
    """The API's pooled connections and worker threads in use, read at each scrape."""
    DB_CONNECTIONS.set_function(pool.checkedout)
    DB_CONNECTIONS_MAX.set(connections)
    API_THREADS.set_function(lambda: threads.borrowed_tokens)
    API_THREADS_MAX.set_function(lambda: threads.total_tokens)


@asynccontextmanager
async def temporal_metrics() -> AsyncIterator[Runtime]:
    """A Temporal runtime whose SDK metrics (worker slots, polls, task latencies, activity
    failures: temporal_*) join this process's Prometheus registry while the block runs:
    drained from the SDK's buffer every second into OpenTelemetry's Prometheus reader."""
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    async with MetricsExporter(buffer, MeterProvider(metric_readers=[PrometheusMetricReader()])):
        yield runtime
