"""What the engine tells of its upstream calls to whoever measures them (runtime/metrics.py):
connectors/ stays free of any metrics library, and silent until a process sets a meter."""

from __future__ import annotations

from typing import Protocol


class Meter(Protocol):
    def sent(self, connector: str, method: str, status: int | None, seconds: float) -> None:
        """A request to a connector's method got `status` (None: no response) in `seconds`."""
        ...

    def waited(self, connector: str, seconds: float) -> None:
        """A call waited `seconds` for a rate-limit permit."""
        ...


class _Silent:
    def sent(self, connector: str, method: str, status: int | None, seconds: float) -> None:
        pass

    def waited(self, connector: str, seconds: float) -> None:
        pass


meter: Meter = _Silent()


def use(chosen: Meter) -> None:
    global meter
    meter = chosen
