"""One attempt to deliver an event to the partner's backend: a signed POST through the engine's
HTTP client (so the egress policy holds), and what came of it. The retry policy that bounds a
delivery's attempts is here too; the store keeps the deliveries (store/event_deliveries.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from yarl import URL

from connectors.egress import EgressRefused
from connectors.signing import HEADER, signature
from connectors.transport import HttpClient, Unsent, build_request

EVENT_ID_HEADER = "X-Event-Id"
EVENT_TYPE_HEADER = "X-Event-Type"
USER_AGENT = "Cyclewright-Events/1"
EXCERPT = 1_000  # characters of the receiver's answer kept with an attempt
LEASE_MARGIN = timedelta(seconds=60)  # beyond a request's timeout: a live dispatcher records its attempt in time


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long and how often a delivery is tried: at most `attempts` times and `max_age`
    seconds from being queued, waiting `first_backoff` seconds after the first failure and twice
    as long after each next one (at most `max_backoff`); each request may take `timeout` seconds."""

    attempts: int
    first_backoff: float
    max_backoff: float
    max_age: float
    timeout: float

    @property
    def lease(self) -> timedelta:
        """How long a dispatcher holds a delivery it took: longer than any attempt takes."""
        return timedelta(seconds=self.timeout) + LEASE_MARGIN

    def backoff(self, failed: int) -> timedelta:
        """The wait after the `failed`-th failed attempt in a row, jittered, so the deliveries
        of an endpoint that was down do not all come back at once."""
        wait = min(self.first_backoff * 2 ** (failed - 1), self.max_backoff)
        return timedelta(seconds=wait * random.uniform(0.75, 1.0))


@dataclass(frozen=True)
class Outgoing:
    """An event on its way to an endpoint: what one request needs."""

    event_id: str
    event_type: str
    body: str  # the event's JSON
    url: str
    secret: str


@dataclass(frozen=True)
class Attempt:
    """What one request came to: the receiver's status and the start of its answer, or why
    there was none."""

    at: datetime
    seconds: float
    status_code: int | None = None
    response: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def headers(outgoing: Outgoing, body: bytes, timestamp: int) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_ID_HEADER: outgoing.event_id,
            EVENT_TYPE_HEADER: outgoing.event_type, HEADER: signature(outgoing.secret, timestamp, body)}


async def send(http: HttpClient, outgoing: Outgoing, timeout: float) -> Attempt:
    """One signed POST of the event through the engine's client (so the egress policy holds),
    signed as it leaves, answered in full within `timeout` seconds or given up. A redirect is
    an answer like any other that is not 2xx: not followed."""
    body = outgoing.body.encode()
    at, started = datetime.now(UTC), time.monotonic()
    try:
        request = build_request("POST", URL(outgoing.url), headers(outgoing, body, int(time.time())), content=body)
        async with asyncio.timeout(timeout):
            response = await http.send(request)
    except TimeoutError:
        return Attempt(at, time.monotonic() - started, error=f"no answer within {timeout:g} s")
    except (Unsent, EgressRefused, ValueError) as err:  # ValueError: a URL aiohttp cannot take
        reason = err.reason if isinstance(err, EgressRefused) else f"{type(err).__name__}: {err}"
        return Attempt(at, time.monotonic() - started, error=reason[:EXCERPT])
    return Attempt(at, time.monotonic() - started, status_code=response.status_code,
                   response=response.text[:EXCERPT])
