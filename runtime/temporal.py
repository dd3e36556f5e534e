"""The Temporal client every process uses: same address, namespace and payload converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from runtime.settings import Settings


async def connect(settings: Settings, lazy: bool = False) -> Client:
    """`lazy`: connect on first use, so a process can start (and answer 503) while Temporal is down."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
    )
