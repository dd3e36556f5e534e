"""The whole product on free ports and a temporary data folder, for one benchmark run."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["CYCLEWRIGHT_DATA_DIR"] = tempfile.mkdtemp(prefix="cyclewright-bench-")

import httpx
from temporalio.client import Client

from runtime.catalog import partner_client
from runtime.launcher import Stack, start_stack
from runtime.settings import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_stack() -> Iterator[tuple[httpx.Client, str]]:
    """Temporal, the demo APIs, a worker and the API; yields a partner client and the demo URL."""
    stack = Stack()
    ports = {name: free_port() for name in ("api_port", "demo_port", "temporal_port", "ui_port")}
    try:
        api_url = start_stack(stack, **ports)
        config = settings()
        with partner_client(api_url, config.client_id, config.client_secret) as api:
            yield api, f"http://127.0.0.1:{ports['demo_port']}"
    finally:
        stack.stop()


async def finished(workflow_id: str) -> None:
    """Wait for a workflow to end (a run-once cycle ends with its run)."""
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])  # set by the stack
    await client.get_workflow_handle(workflow_id).result()


def reset_demo(demo: str, records: int) -> None:
    httpx.post(f"{demo}/admin/reset", json={"contacts": records}).raise_for_status()
