"""The worker: runs CycleWorkflow, RunWorkflow, RetentionWorkflow, ImportWorkflow,
ToolCallWorkflow and their activities, and sends events to the partner's backend (runtime/event_dispatch.py), until
SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import nullcontext
from datetime import timedelta

from prometheus_client import start_http_server
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import bookkeeping, imports, namespace, retention, tool_calls
from activities.failures import RecursionIsFinal
from activities.steps import StepActivities
from activities.tool_calls import ToolCallActivities
from activities.trigger import TriggerActivities
from activities.upstream import Upstream
from activities.webhooks import WebhookActivities, pending_events
from connectors.client import http_client
from connectors.transport import HttpClient
from runtime import logs
from runtime.context import ContextInterceptor
from runtime.event_dispatch import Dispatcher
from runtime.metrics import count_upstream_calls, temporal_metrics
from runtime.namespace import NamespaceNotReady, prepare
from runtime.schedules import ensure_retention_schedule
from runtime.settings import TASK_QUEUE, settings
from runtime.telemetry import instrument_http, start_tracing
from runtime.temporal import connect
from workflows.cycle import CycleWorkflow
from workflows.imports import ImportWorkflow
from workflows.retention import RetentionWorkflow
from workflows.retry import TransactionRetryWorkflow
from workflows.run import RunWorkflow
from workflows.tool_call import ToolCallWorkflow

log = logging.getLogger("cyclewright.worker")
WORKFLOWS = [CycleWorkflow, RunWorkflow, TransactionRetryWorkflow, RetentionWorkflow, ImportWorkflow,
             ToolCallWorkflow]
# Modules of data and constants only are imported once for every workflow run rather than again
# in each run's sandbox (half the cost of starting one); those with workflow code stay sandboxed,
# where a nondeterministic call fails.
RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
    "workflows.messages", "workflows.names", "workflows.options"))


def build_worker(client, http: HttpClient) -> Worker:
    upstream = Upstream(http, concurrency=settings().step_concurrency)
    webhooks = WebhookActivities(upstream)
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=[*bookkeeping.ALL, namespace.namespace_lacks, TriggerActivities(upstream).fetch_trigger,
                    StepActivities(upstream).run_step, retention.purge_expired, pending_events,
                    webhooks.take_events, webhooks.subscribe_webhooks, webhooks.unsubscribe_webhooks,
                    imports.import_openapi, imports.fail_import, ToolCallActivities(upstream).send_tool_call,
                    tool_calls.decide_tool_call, tool_calls.fail_tool_call],
        interceptors=[ContextInterceptor(), RecursionIsFinal()],  # inside the client's tracing interceptor
        workflow_runner=RUNNER,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


def serve_metrics() -> bool:
    """/metrics on CYCLEWRIGHT_METRICS_PORT (every address: what a scraper reaches), if set;
    unset, nothing is measured (no reader: metrics would cost and tell no one)."""
    if settings().metrics_port is None:
        return False
    count_upstream_calls()
    start_http_server(settings().metrics_port)
    log.info("worker metrics on port %d", settings().metrics_port)
    return True


async def _prepare_namespace(client) -> None:
    """The namespace's missing search attributes added, or no worker: it would only log each
    rejected workflow task while cycles sat Active without runs."""
    try:
        added = await prepare(client)
    except NamespaceNotReady as err:
        log.error("the worker cannot start: %s (Temporal at %s)", err, settings().temporal_address)
        raise SystemExit(1) from None
    if added:
        log.info("added search attribute(s) %s to namespace %s", ", ".join(added), client.namespace)


async def main() -> None:
    logs.configure(settings().log_format)
    start_tracing("cyclewright-worker")
    measured = serve_metrics()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with temporal_metrics() if measured else nullcontext() as runtime:
        client = await connect(settings(), runtime=runtime)
        await _prepare_namespace(client)
        await ensure_retention_schedule(client)
        async with http_client(settings().http_timeout, settings().egress) as http:
            worker = build_worker(client, instrument_http(http))
            events = Dispatcher(http, settings().events, settings().event_poll_seconds)
            async with worker, asyncio.TaskGroup() as tasks:
                tasks.create_task(events.run(stop))
                log.info("worker polling task queue %r at %s", TASK_QUEUE, settings().temporal_address)
                await stop.wait()
                log.info("worker stopping: finishing in-flight tasks")
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
