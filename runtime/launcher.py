"""The embedded stack: Temporal dev server, demo APIs, worker and API as child processes.

Started in dependency order and stopped in reverse on Ctrl-C or SIGTERM; the Temporal
history and the database live in the data folder, so a restart keeps everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from runtime.catalog import partner_client, set_up_demo
from runtime.settings import SEARCH_ATTRIBUTES, Settings, settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


class Stack:
    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> None:
        # Own session: Ctrl-C reaches only the launcher, which stops them in order.
        process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
        self.processes.append((name, process))

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            print(f"stopped {name}")

    def failed(self) -> str | None:
        return next((name for name, p in self.processes if p.poll() is not None), None)


LOOPBACK = "127.0.0.0/8,::1,localhost"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def start_stack(stack: Stack, api_port: int, demo_port: int, temporal_port: int, ui_port: int,
                metrics_port: int | None = None) -> str:
    """Start every process in dependency order and wait until each answers; returns the API URL.
    `metrics_port`: where the worker serves /metrics (unless CYCLEWRIGHT_METRICS_PORT says)."""
    config = settings()
    if metrics_port is not None:
        os.environ.setdefault("CYCLEWRIGHT_METRICS_PORT", str(metrics_port))
    # The demo APIs listen on loopback, which the egress policy refuses unless allowed.
    os.environ.setdefault("CYCLEWRIGHT_EGRESS_ALLOW", LOOPBACK)
    os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{temporal_port}"
    # Webhook URLs and OAuth callbacks name the API where it listens, unless told otherwise.
    os.environ.setdefault("CYCLEWRIGHT_PUBLIC_URL", f"http://127.0.0.1:{api_port}")
    # With encrypted payloads the UI decodes them in the browser, through the API (CORS for its origin).
    os.environ.setdefault("CYCLEWRIGHT_CODEC_CORS_ORIGINS", f"http://localhost:{ui_port},http://127.0.0.1:{ui_port}")
    codec = f"{os.environ['CYCLEWRIGHT_PUBLIC_URL'].rstrip('/')}/codec" if config.payload_keys else None
    stack.start("temporal", temporal_command(config.data_dir, port=temporal_port, ui_port=ui_port,
                                             codec_endpoint=codec))
    wait_until(lambda: answers(f"http://127.0.0.1:{ui_port}"), "the Temporal dev server")
    stack.start("demo APIs", [sys.executable, "-m", "demo", str(demo_port)])
    stack.start("worker", [sys.executable, "worker.py"])
    stack.start("api", [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                        "--port", str(api_port), "--log-level", "warning"])
    api_url = f"http://127.0.0.1:{api_port}"
    wait_until(lambda: answers(f"{api_url}/healthz"), "the API")
    wait_until(lambda: answers(f"http://127.0.0.1:{demo_port}/admin/stats"), "the demo APIs")
    return api_url


def _payloads(config: Settings) -> str:
    if config.payload_keys is None:
        return "plain (set PAYLOAD_ENCRYPTION_KEY to encrypt them)"
    codec = f"{os.environ['CYCLEWRIGHT_PUBLIC_URL'].rstrip('/')}/codec"
    return (f"encrypted with key '{config.payload_keys.current}'; for the UI to decode them, sign in at "
            f"{codec}/signin (the partner login below), then in the UI's Data Encoder settings use {codec} "
            "with \"Include cross-origin credentials\" on")


def run(api_port: int = 8000, demo_port: int = 8010, ui_port: int = 8233, metrics_port: int = 9464) -> None:
    config = settings()
    stack = Stack()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        api_url = start_stack(stack, api_port, demo_port, 7233, ui_port, metrics_port)
        with partner_client(api_url, config.client_id, config.client_secret) as api:
            cycle = set_up_demo(api, f"http://127.0.0.1:{demo_port}")
        print(
            f"\nCyclewright is running.\n"
            f"  API            {api_url}   (docs: {api_url}/docs, metrics: {api_url}/metrics)\n"
            f"  worker metrics http://127.0.0.1:{os.environ['CYCLEWRIGHT_METRICS_PORT']}/metrics\n"
            f"  Temporal UI    http://127.0.0.1:{ui_port}\n"
            f"  demo APIs      http://127.0.0.1:{demo_port}/admin/stats\n"
            f"  partner login  client_id={config.client_id} client_secret={config.client_secret}\n"
            f"  demo cycle     {cycle} (runs every minute)\n"
            f"  data folder    {config.data_dir}\n"
            f"  egress allowed {os.environ['CYCLEWRIGHT_EGRESS_ALLOW']} (besides public addresses)\n"
            f"  payloads       {_payloads(config)}\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        os.wait()  # until any of them exits
        print(f"{stack.failed()} exited; stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping…")
    finally:
        stack.stop()
