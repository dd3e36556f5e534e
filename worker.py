"""The worker: runs CycleWorkflow, RunWorkflow, RetentionWorkflow and their activities until
SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

import httpx
from temporalio.worker import Worker

from activities import bookkeeping, retention
from activities.steps import StepActivities
from activities.trigger import TriggerActivities
from activities.upstream import Upstream
from activities.webhooks import WebhookActivities, pending_events
from connectors.client import http_client
from runtime.schedules import ensure_retention_schedule
from runtime.settings import TASK_QUEUE, settings
from runtime.temporal import connect
from workflows.cycle import CycleWorkflow
from workflows.retention import RetentionWorkflow
from workflows.retry import TransactionRetryWorkflow
from workflows.run import RunWorkflow

log = logging.getLogger("cyclewright.worker")


def build_worker(client, http: httpx.AsyncClient) -> Worker:
    upstream = Upstream(http, concurrency=settings().step_concurrency)
    webhooks = WebhookActivities(upstream)
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[CycleWorkflow, RunWorkflow, TransactionRetryWorkflow, RetentionWorkflow],
        activities=[*bookkeeping.ALL, TriggerActivities(upstream).fetch_trigger,
                    StepActivities(upstream).run_step, retention.purge_expired, pending_events,
                    webhooks.take_events, webhooks.subscribe_webhooks, webhooks.unsubscribe_webhooks],
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream call is noise
    client = await connect(settings())
    await ensure_retention_schedule(client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with http_client(settings().http_timeout, settings().egress) as http:
        worker = build_worker(client, http)
        async with worker:
            log.info("worker polling task queue %r at %s", TASK_QUEUE, settings().temporal_address)
            await stop.wait()
            log.info("worker stopping: finishing in-flight tasks")
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
