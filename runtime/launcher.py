"""The embedded stack: Temporal dev server, demo APIs, worker and API as child processes.

`make run` starts them in dependency order once every port they need is free, and stops them
in reverse when one of them exits, or on SIGINT, SIGTERM or SIGHUP, even when nobody reads its
output any more (the `| tee` that the same Ctrl-C ended). The Temporal history and the database
live in the data folder, so a restart keeps everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import httpx

from runtime.catalog import partner_client, set_up_demo
from runtime.ports import Ports
from runtime.settings import SEARCH_ATTRIBUTES, Settings, settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.0/8,::1,localhost"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_SECONDS = 30  # each process's time to stop after SIGTERM, before SIGKILL


def temporal_command(data_dir: Path, port: int = 7233, ui_port: int | None = 8233,
                     codec_endpoint: str | None = None) -> list[str]:
    """The embedded Temporal dev server; `ui_port=None` runs it without the Web UI, whose browser
    decodes encrypted payloads through `codec_endpoint` when given."""
    attributes = [arg for name, kind in SEARCH_ATTRIBUTES.items() for arg in ("--search-attribute", f"{name}={kind}")]
    ui = ["--headless"] if ui_port is None else ["--ui-port", str(ui_port)]
    if ui_port is not None and codec_endpoint:
        ui += ["--ui-codec-endpoint", codec_endpoint]
    return [str(BIN / "temporal"), "server", "start-dev", "--db-filename", str(data_dir / "temporal.db"),
            "--port", str(port), *ui, "--log-level", "error", *attributes]


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


class LaunchFailed(Exception):
    """The stack cannot run; the message says why and what to do."""


class Stopped(Exception):
    """A signal asked the launcher to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _exit_cause(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class Stack:
    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> None:
        # A session (and process group) of its own: the terminal's Ctrl-C reaches only the
        # launcher, which stops the processes in order.
        process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
        self.processes.append((name, process))

    def wait_ready(self, name: str, ready: Callable[[], bool], timeout: float = 60) -> None:
        """Until `ready()`; LaunchFailed if the process `name` exits first, or takes longer."""
        process = next(process for process_name, process in self.processes if process_name == name)
        deadline = time.monotonic() + timeout
        while process.poll() is None and not ready():
            if time.monotonic() > deadline:
                raise LaunchFailed(f"{name} did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        if process.returncode is not None:
            raise LaunchFailed(f"{name} {_exit_cause(process.returncode)} while starting (its output above says why)")

    def wait_any(self) -> str:
        """Blocks until one of the processes exits; says which, and how."""
        exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)  # leaves it for Popen to reap
        name, process = next((name, process) for name, process in self.processes if process.pid == exited.si_pid)
        process.wait()
        return f"{name} {_exit_cause(process.returncode)}"

    def stop(self) -> None:
        """Every process, last started first: SIGTERM to its process group, SIGKILL after
        STOP_SECONDS."""
        for name, process in reversed(self.processes):
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            say(f"stopped {name}")


def say(text: str, error: bool = False) -> None:
    """Print a line; once nobody reads (a closed pipe), print nothing more rather than fail."""
    stream = sys.stderr if error else sys.stdout
    try:
        print(text, file=stream, flush=True)
    except OSError:  # EPIPE, or EIO from a terminal that hung up
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # the exit's flush too


def start_stack(stack: Stack, ports: Ports) -> str:
    """Start every process in dependency order and wait until each answers; returns the API URL."""
    config = settings()
    if ports.metrics is not None:
        os.environ["CYCLEWRIGHT_METRICS_PORT"] = str(ports.metrics)
    # The demo APIs listen on loopback, which the egress policy refuses unless allowed.
    os.environ.setdefault("CYCLEWRIGHT_EGRESS_ALLOW", LOOPBACK)
    os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{ports.temporal}"
    # Webhook URLs and OAuth callbacks name the API where it listens, unless told otherwise.
    os.environ.setdefault("CYCLEWRIGHT_PUBLIC_URL", f"http://127.0.0.1:{ports.api}")
    # With encrypted payloads the UI decodes them in the browser, through the API (CORS for its origin).
    os.environ.setdefault("CYCLEWRIGHT_CODEC_CORS_ORIGINS", f"http://localhost:{ports.ui},http://127.0.0.1:{ports.ui}")
    codec = f"{os.environ['CYCLEWRIGHT_PUBLIC_URL'].rstrip('/')}/codec" if config.payload_keys else None
    stack.start("temporal", temporal_command(config.data_dir, port=ports.temporal, ui_port=ports.ui,
                                             codec_endpoint=codec))
    stack.wait_ready("temporal", lambda: answers(f"http://127.0.0.1:{ports.ui}"))
    demo_url, api_url = f"http://127.0.0.1:{ports.demo}", f"http://127.0.0.1:{ports.api}"
    stack.start("demo APIs", [sys.executable, "-m", "demo", str(ports.demo)])
    stack.start("worker", [sys.executable, "worker.py"])
    stack.start("api", [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                        "--port", str(ports.api), "--log-level", "warning"])
    stack.wait_ready("api", lambda: answers(f"{api_url}/healthz"))
    stack.wait_ready("demo APIs", lambda: answers(f"{demo_url}/admin/stats"))
    return api_url


def _payloads(config: Settings) -> str:
    if config.payload_keys is None:
        return "plain (set PAYLOAD_ENCRYPTION_KEY to encrypt them)"
    codec = f"{os.environ['CYCLEWRIGHT_PUBLIC_URL'].rstrip('/')}/codec"
    return (f"encrypted with key '{config.payload_keys.current}'; for the UI to decode them, sign in at "
            f"{codec}/signin (the partner login below), then in the UI's Data Encoder settings use {codec} "
            "with \"Include cross-origin credentials\" on")


def serve(stack: Stack) -> str:
    """Start the stack with the demo cycle active, show where everything is, and run until one
    of the processes exits; returns how it exited."""
    try:
        ports = Ports.from_env()
    except ValueError as err:
        raise LaunchFailed(str(err)) from None
    if problems := ports.unavailable():
        raise LaunchFailed("\n".join(problems))
    config = settings()
    api_url = start_stack(stack, ports)
    try:
        with partner_client(api_url, config.client_id, config.client_secret) as api:
            cycle = set_up_demo(api, f"http://127.0.0.1:{ports.demo}")
    except httpx.HTTPStatusError as err:
        raise LaunchFailed(f"setting up the demo: {err.request.method} {err.request.url} answered "
                           f"{err.response.status_code}: {err.response.text}") from None
    except httpx.HTTPError as err:
        raise LaunchFailed(f"setting up the demo: {err.request.method} {err.request.url} failed: {err}") from None
    say(
        f"\nCyclewright is running.\n"
        f"  API            {api_url}   (docs: {api_url}/docs, metrics: {api_url}/metrics)\n"
        f"  worker metrics http://127.0.0.1:{ports.metrics}/metrics\n"
        f"  Temporal UI    http://127.0.0.1:{ports.ui}\n"
        f"  demo APIs      http://127.0.0.1:{ports.demo}/admin/stats\n"
        f"  partner login  client_id={config.client_id} client_secret={config.client_secret}\n"
        f"  demo cycle     {cycle} (runs every minute)\n"
        f"  connect portal .venv/bin/cyclewright portal   (prints a link: the demo account's portal)\n"
        f"  data folder    {config.data_dir}\n"
        f"  egress allowed {os.environ['CYCLEWRIGHT_EGRESS_ALLOW']} (besides public addresses)\n"
        f"  payloads       {_payloads(config)}\n"
        f"Press Ctrl-C to stop.\n"
    )
    return stack.wait_any()


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _stop_on_signal(signum: int, _frame: object) -> None:
    _ignore_stop_signals()  # a second Ctrl-C (or make's SIGTERM after the terminal's) must not cut the stop short
    raise Stopped(signum)


def run() -> None:
    """`make run`. Exits 1 naming what failed (a port taken, a process that exited); stopped by a
    signal, it stops every process, then ends by that signal, as a shell expects."""
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # as `nohup` left it
            signal.signal(signum, _stop_on_signal)
    stack, failure, stopped_by = Stack(), None, None
    try:
        failure = f"{serve(stack)}; stopping the rest"
    except LaunchFailed as failed:
        failure = str(failed)
    except Stopped as stopped:
        stopped_by = stopped.signum
    finally:
        _ignore_stop_signals()
        if failure:
            say(failure, error=True)
        else:
            say("stopping…")
        stack.stop()
    if stopped_by is not None:
        signal.signal(stopped_by, signal.SIG_DFL)
        os.kill(os.getpid(), stopped_by)
    raise SystemExit(1)
