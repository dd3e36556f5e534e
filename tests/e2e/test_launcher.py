"""Acceptance (issue 15, point 11): `make run` is honest about failure. With a port it needs
taken it exits non-zero naming the port and the setting that moves it, having started nothing.
Stopped by SIGINT, SIGHUP or SIGTERM sent to its process group, as a terminal does, while
nobody reads its output any more (the `| cat` that the same Ctrl-C ended), it stops every
process it started, freeing their ports; when one of them dies, it stops the rest and fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
import pytest

from runtime.launcher import ROOT
from tests.conftest import DATA_DIR, free_port

SETTINGS = ("CYCLEWRIGHT_API_PORT", "CYCLEWRIGHT_DEMO_PORT", "CYCLEWRIGHT_TEMPORAL_PORT",
            "CYCLEWRIGHT_TEMPORAL_UI_PORT", "CYCLEWRIGHT_METRICS_PORT")
BANNER_END = "Press Ctrl-C to stop."


def make_run_env(name: str) -> tuple[dict[str, str], dict[str, int]]:
    """The test configuration with a data folder of its own and every port free, by setting."""
    ports = {setting: free_port() for setting in SETTINGS}
    inherited = {k: v for k, v in os.environ.items() if k not in ("CYCLEWRIGHT_PUBLIC_URL", "TEMPORAL_ADDRESS")}
    return {**inherited, "CYCLEWRIGHT_DATA_DIR": str(DATA_DIR / name),
            **{setting: str(port) for setting, port in ports.items()}}, ports


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on the port (a new server could not bind it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


@pytest.mark.parametrize("setting", ["CYCLEWRIGHT_API_PORT", "CYCLEWRIGHT_TEMPORAL_PORT"])
def test_make_run_refuses_a_port_that_is_taken(setting):
    env, ports = make_run_env(f"make-run-taken-{setting}")
    with socket.socket() as holder:  # another program, listening on the port
        holder.bind(("127.0.0.1", ports[setting]))
        holder.listen()
        done = subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"port {ports[setting]}" in output and setting in output, output
    assert "Cyclewright is running" not in output and "Traceback" not in output, output
    assert not (DATA_DIR / f"make-run-taken-{setting}" / "temporal.db").exists()  # nothing started


@dataclass
class MakeRun:
    make: subprocess.Popen
    output: list[str]
    ports: dict[str, int]
    processes: list[psutil.Process]  # every process under make once the banner is out


@contextmanager
def make_run_piped(name: str) -> Iterator[MakeRun]:
    """`make run` in a process group of its own, its output read by the test through a pipe,
    until the banner; yields once the stack runs. The test ends it; any process left is killed."""
    env, ports = make_run_env(name)
    make = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []

    def read_until_banner() -> None:
        for line in make.stdout:
            output.append(line)
            if line.strip() == BANNER_END:
                return

    reader = threading.Thread(target=read_until_banner, daemon=True)
    reader.start()
    reader.join(timeout=300)  # the launcher gives up on a process after 60 s; this only guards a hung test
    processes = psutil.Process(make.pid).children(recursive=True)
    try:
        assert output and output[-1].strip() == BANNER_END, "".join(output)
        yield MakeRun(make, output, ports, processes)
    finally:
        for process in processes:
            if process.is_running():
                process.kill()
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        make.wait()


def command_of(process: psutil.Process) -> str:
    return " ".join(process.cmdline())


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def held(ports: dict[str, int]) -> list[str]:
    """The ports something listens on, by setting (the worker's /metrics listens on every address)."""
    return [f"{setting}={port}" for setting, port in ports.items()
            if listening(port, "0.0.0.0" if setting == "CYCLEWRIGHT_METRICS_PORT" else "127.0.0.1")]


def assert_all_gone(run: MakeRun) -> None:
    left = [command_of(process) for process in run.processes if alive(process)]
    assert not left, f"still running: {left}"
    assert not held(run.ports), f"ports still held: {held(run.ports)}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_to_make_run_piped_stops_every_process(sig):
    with make_run_piped(f"make-run-{sig.name}") as run:
        commands = [command_of(process) for process in run.processes]
        # The premise: the whole stack runs under make, and holds its ports.
        for program in ("cyclewright run", "temporal server start-dev", "-m demo", "worker.py", "uvicorn api.app:app"):
            assert any(program in command for command in commands), commands
        assert len(held(run.ports)) == len(run.ports)
        run.make.stdout.close()  # nobody reads any more: what the launcher prints next meets a closed pipe
        os.killpg(run.make.pid, sig)  # as the terminal does: make and the launcher get it
        run.make.wait(timeout=300)  # each process has 30 s to stop; this only guards a hung test
        assert_all_gone(run)


def test_make_run_stops_the_rest_and_fails_when_a_process_dies():
    with make_run_piped("make-run-crash") as run:
        next(process for process in run.processes if "worker.py" in command_of(process)).kill()
        assert run.make.wait(timeout=300) != 0
        assert_all_gone(run)
        rest = run.make.stdout.read()  # every writer is gone: this ends
        assert "worker was killed by SIGKILL; stopping the rest" in rest, rest
        assert "stopped temporal" in rest, rest
