"""The Temporal client every process uses: same address, namespace, payload converter and
tracing (the context of an API request travels to the workflows and activities it starts)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from runtime.settings import Settings
from runtime.telemetry import tracing_interceptor


async def connect(settings: Settings, lazy: bool = False, runtime: Runtime | None = None) -> Client:
    """`lazy`: connect on first use, so a process can start (and answer 503) while Temporal is down.
    `runtime`: the worker's, which reports the SDK's metrics (runtime/metrics.py)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[tracing_interceptor()],
        lazy=lazy,
        runtime=runtime,
    )
