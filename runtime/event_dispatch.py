"""The worker's dispatcher of events to the partner's backend: a loop that looks for due
deliveries every few seconds (store/event_deliveries.py) and sends them, each endpoint on a
task of its own, so one endpoint that is down or slow never holds up another's deliveries (nor
runs: nothing else waits on this loop).

An endpoint's deliveries go one at a time, oldest due first; the first that fails ends the
endpoint's turn until the next look, so a receiver that is down costs one request per look, and
its deliveries back off each within its bound (connectors/event_delivery.py's DeliveryPolicy).
Every worker runs a dispatcher: a delivery is claimed before it is sent, so only one sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from connectors.event_delivery import Attempt, DeliveryPolicy, Outgoing, send
from connectors.transport import HttpClient
from store import event_deliveries
from store.database import session
from store.event_deliveries import Claimed
from store.tables import utcnow

log = logging.getLogger("cyclewright.events")
MAX_ENDPOINTS = 32  # endpoints sent to at once by one worker


class Dispatcher:
    def __init__(self, http: HttpClient, policy: DeliveryPolicy, poll_seconds: float) -> None:
        self.http, self.policy, self.poll_seconds = http, policy, poll_seconds
        self.busy: dict[str, asyncio.Task] = {}
        self.stopping = False

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then the attempts under way are finished (each within its timeout)."""
        while not stop.is_set():
            try:
                await self.look()
            except Exception:  # the database is away for a moment: the next look tries again
                log.exception("looking for due event deliveries failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
        self.stopping = True  # each endpoint's task ends after the attempt it is making
        await asyncio.gather(*self.busy.values(), return_exceptions=True)

    async def look(self) -> None:
        """A task for each endpoint with deliveries due that has none yet."""
        room = MAX_ENDPOINTS - len(self.busy)
        if room <= 0:
            return
        due = await asyncio.to_thread(self._due_endpoints, set(self.busy), room)
        for endpoint_id in due:
            task = asyncio.create_task(self._drain(endpoint_id))
            self.busy[endpoint_id] = task
            task.add_done_callback(lambda _, id=endpoint_id: self.busy.pop(id, None))

    def _due_endpoints(self, skip: set[str], limit: int) -> list[str]:
        with session() as db:
            return event_deliveries.due_endpoints(db, utcnow(), skip, limit)

    async def _drain(self, endpoint_id: str) -> None:
        try:
            while not self.stopping and (claimed := await asyncio.to_thread(self._claim, endpoint_id)):
                if not await self.deliver(claimed):
                    return
        except Exception:
            log.exception("sending events to endpoint %s failed", endpoint_id)

    def _claim(self, endpoint_id: str) -> Claimed | None:
        with session() as db:
            taken = event_deliveries.claim(db, endpoint_id, 1, utcnow(), self.policy)
        return taken[0] if taken else None

    async def deliver(self, claimed: Claimed) -> bool:
        """One attempt, recorded; whether the receiver took it."""
        outgoing = Outgoing(claimed.event_id, claimed.event_type, claimed.body, claimed.url, claimed.secret)
        attempt = await send(self.http, outgoing, self.policy.timeout)
        status = await asyncio.to_thread(self._record, claimed, attempt)
        if status == "Failed":
            log.warning("event %s (%s) not delivered (delivery %s Failed: its attempts or its age ran out); "
                        "last: %s", claimed.event_id, claimed.event_type, claimed.id,
                        attempt.error or f"HTTP {attempt.status_code}")
        return attempt.delivered

    def _record(self, claimed: Claimed, attempt: Attempt) -> str | None:
        with session() as db:
            return event_deliveries.record(db, claimed, attempt, self.policy)
