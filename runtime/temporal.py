"""The Temporal client every process uses: same address, namespace and payload handling."""

from __future__ import annotations

from temporalio.client import Client

from runtime.payloads import data_converter
from runtime.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.payload_dir),
    )
