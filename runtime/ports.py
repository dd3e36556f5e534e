"""The ports `make run` listens on, each moved by a setting, and a check that they are free."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields
from typing import NamedTuple


class Listener(NamedTuple):
    setting: str  # the environment variable that moves it
    what: str  # the process that listens there
    host: str  # the address it binds


def _port(default: int, setting: str, what: str, host: str = "127.0.0.1"):
    return field(default=default, metadata={"listener": Listener(setting, what, host)})


@dataclass(frozen=True)
class Ports:
    """Where each process of `make run` listens (`metrics=None`: the worker serves no /metrics)."""

    api: int = _port(8000, "CYCLEWRIGHT_API_PORT", "the API")
    demo: int = _port(8010, "CYCLEWRIGHT_DEMO_PORT", "the demo APIs")
    temporal: int = _port(7233, "CYCLEWRIGHT_TEMPORAL_PORT", "the Temporal dev server")
    ui: int = _port(8233, "CYCLEWRIGHT_TEMPORAL_UI_PORT", "the Temporal Web UI")
    # The worker's own setting; it listens on every address, where a scraper reaches it.
    metrics: int | None = _port(9464, "CYCLEWRIGHT_METRICS_PORT", "the worker's /metrics", host="0.0.0.0")

    @classmethod
    def from_env(cls) -> Ports:
        """The defaults, moved by the settings that are set; ValueError names a bad one."""
        chosen = {}
        for port in fields(cls):
            setting = port.metadata["listener"].setting
            text = os.environ.get(setting, "").strip()
            if text:
                if not text.isdigit() or not 0 < int(text) < 65536:
                    raise ValueError(f"{setting}: {text!r} is not a port (1-65535)")
                chosen[port.name] = int(text)
        ports = cls(**chosen)
        seen: dict[int, str] = {}
        for number, listener in ports.listeners():
            if number in seen:
                raise ValueError(f"{seen[number]} and {listener.setting} are both {number}: "
                                 "give each process a port of its own")
            seen[number] = listener.setting
        return ports

    def listeners(self) -> list[tuple[int, Listener]]:
        """Each port in use, with who listens there."""
        return [(getattr(self, port.name), port.metadata["listener"]) for port in fields(self)
                if getattr(self, port.name) is not None]

    def unavailable(self) -> list[str]:
        """For each port its process could not listen on, why, and the setting that moves it.
        Probed as the servers bind: with SO_REUSEADDR, so a port in TIME_WAIT (left by the last
        run) counts as free."""
        problems = []
        for number, listener in self.listeners():
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((listener.host, number))
                except OSError as err:
                    problems.append(f"port {number} ({listener.what}) is unavailable: {err.strerror}. "
                                    f"Stop what holds it, or set {listener.setting} to another port.")
        return problems
