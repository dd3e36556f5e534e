"""The whole product on free ports and a temporary data folder, for one benchmark run."""

from __future__ import annotations

import json
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

from runtime.catalog import CATALOG, partner_client
from runtime.launcher import Stack, answers, start_stack, wait_until
from runtime.ports import Ports
from runtime.settings import settings
from runtime.temporal import data_converter

# The demo CRM connector's page size: plain baselines read the same pages as the product.
CRM_PAGE_SIZE: int = json.loads((CATALOG / "connectors" / "demo-crm.json").read_text())["PageSizeInbound"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_stack() -> Iterator[tuple[httpx.Client, str]]:
    """Temporal, the demo APIs, a worker and the API; yields a partner client and the demo URL."""
    with running_stack_processes() as (api, demo, _):
        yield api, demo


@contextmanager
def running_stack_processes() -> Iterator[tuple[httpx.Client, str, Stack]]:
    """As `running_stack`, and the stack itself: `pid(stack, "worker")` for its processes."""
    stack = Stack()
    ports = Ports(api=free_port(), demo=free_port(), temporal=free_port(), ui=free_port(), metrics=None)
    try:
        api_url = start_stack(stack, ports)
        config = settings()
        with partner_client(api_url, config.client_id, config.client_secret) as api:
            yield api, f"http://127.0.0.1:{ports.demo}", stack
    finally:
        stack.stop()


def pid(stack: Stack, name: str) -> int:
    """The process id of one of the stack's processes ("temporal", "demo APIs", "worker", "api")."""
    return next(process.pid for process_name, process in stack.processes if process_name == name)


def cpu_seconds(process: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def data_dir() -> str:
    """This run's temporary data folder (database, keys)."""
    return os.environ["CYCLEWRIGHT_DATA_DIR"]


async def temporal() -> Client:
    """A client of the stack's Temporal, with the product's payload converter (and codec, if any)."""
    return await Client.connect(os.environ["TEMPORAL_ADDRESS"], data_converter=data_converter(settings()))


async def finished(workflow_id: str) -> None:
    """Wait for a workflow to end (a run-once cycle ends with its run)."""
    await (await temporal()).get_workflow_handle(workflow_id).result()


def reset_demo(demo: str, records: int, note_bytes: int = 0) -> None:
    """N fresh contacts (each padded with `note_bytes` of notes), no leads."""
    httpx.post(f"{demo}/admin/reset", json={"contacts": records, "note_bytes": note_bytes},
               timeout=60).raise_for_status()


def add_worker(stack: Stack) -> None:
    """One more worker process on the stack's Temporal and database."""
    stack.start(f"worker {len(stack.processes)}", [sys.executable, "worker.py"])


def add_api(stack: Stack) -> str:
    """One more API process on a free port; returns its URL once it answers."""
    port = free_port()
    stack.start(f"api {port}", [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                                "--port", str(port), "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{url}/healthz"), f"the API on port {port}")
    return url
