"""One attempt to deliver an event to the partner's backend: a signed POST through the engine's
HTTP client (so the egress policy holds), and what came of it. The retry policy that bounds a
delivery's attempts is here too; the store keeps the deliveries (store/event_deliveries.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from connectors.errors import ConnectorError
from connectors.signing import HEADER, signature

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


async def send(http: httpx.AsyncClient, outgoing: Outgoing, timeout: float) -> Attempt:
    """One signed POST of the event, signed as it leaves. A redirect is an answer like any
    other that is not 2xx: it is not followed."""
    body = outgoing.body.encode()
    at, started = datetime.now(UTC), time.monotonic()
    try:
        async with http.stream("POST", outgoing.url, content=body, timeout=timeout, follow_redirects=False,
                               headers=headers(outgoing, body, int(time.time()))) as response:
            excerpt = await _excerpt(response)
    except httpx.TimeoutException:
        return Attempt(at, time.monotonic() - started, error=f"no answer within {timeout:g} s")
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        return Attempt(at, time.monotonic() - started, error=f"{type(err).__name__}: {err}"[:EXCERPT])
    except ConnectorError as err:  # the egress policy refused the address
        return Attempt(at, time.monotonic() - started, error=err.reason)
    return Attempt(at, time.monotonic() - started, status_code=response.status_code, response=excerpt)


async def _excerpt(response: httpx.Response) -> str:
    """The start of the answer: a receiver's long (or endless) body is not read to its end."""
    read = bytearray()
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= 4 * EXCERPT:  # enough for EXCERPT characters of any UTF-8
            break
    return read.decode(errors="replace")[:EXCERPT]
