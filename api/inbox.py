"""The API process's inbox of webhook events (DESIGN §4): each event durable before its 202,
many to one commit, and one wake-up of the cycle for many events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from fastapi import Request
from sqlalchemy.engine import Connection
from temporalio.client import Client
from temporalio.service import RPCError

from api.dependencies import TEMPORAL_TIMEOUT
from store import inbound
from store.database import engine, session
from store.group_commit import GroupCommit
from workflows.cycle import CycleWorkflow

log = logging.getLogger("cyclewright.webhooks")
# Seconds a webhook (its cycle, secret and scripts) is remembered: a secret set through another
# API process applies after this. Whether its cycle takes events is not remembered: every group
# commit reads it (store/inbound.py accept), so nothing is queued for a cycle stopped before.
KNOWN_FOR = 2.0
# Wake-ups of one cycle are this far apart at most: a run in progress takes new events anyway,
# and every signal costs a history event and a workflow task.
WAKE_GAP = 1.0


class Inbox:
    """One per API process: the group commit of events, the webhooks it knows, the wake-ups."""

    def __init__(self, temporal: Client) -> None:
        self.temporal = temporal
        self.commits: GroupCommit[inbound.Event] = GroupCommit(_EventWriter())
        self.known: dict[str, tuple[float, inbound.Webhook]] = {}
        self.looking: dict[str, asyncio.Task[inbound.Webhook | None]] = {}  # lookups under way
        self.waking: dict[str, bool] = {}  # cycle -> woken again after the signal in flight

    async def webhook(self, webhook_id: str) -> inbound.Webhook | None:
        """The webhook, remembered for KNOWN_FOR seconds; an unknown id is not remembered (ids a
        caller makes up must not grow this without bound). Events that arrive together while
        it is looked up wait for that one lookup."""
        seen = self.known.get(webhook_id)
        if seen is not None and time.monotonic() - seen[0] <= KNOWN_FOR:
            return seen[1]
        lookup = self.looking.get(webhook_id)
        if lookup is None:
            lookup = self.looking[webhook_id] = asyncio.create_task(self._look_up(webhook_id))
        return await asyncio.shield(lookup)  # a caller that gives up leaves it to the others

    async def _look_up(self, webhook_id: str) -> inbound.Webhook | None:
        try:
            found = await asyncio.to_thread(_webhook, webhook_id)
        finally:
            del self.looking[webhook_id]
        if found is None:
            self.known.pop(webhook_id, None)
        else:
            self.known[webhook_id] = (time.monotonic(), found)
        return found

    def forget(self, webhook_id: str) -> None:
        self.known.pop(webhook_id, None)

    def wake(self, cycle_id: str) -> None:
        """Signal the cycle, one signal in flight at a time: events committed meanwhile send one
        more after it, so every commit is followed by a signal (the cycle also looks on a timer)."""
        if cycle_id in self.waking:
            self.waking[cycle_id] = True
            return
        self.waking[cycle_id] = False
        asyncio.create_task(self._signal(cycle_id))

    async def _signal(self, cycle_id: str) -> None:
        try:
            while True:
                try:
                    handle = self.temporal.get_workflow_handle(f"cycle-{cycle_id}")
                    await handle.signal(CycleWorkflow.events_arrived, rpc_timeout=TEMPORAL_TIMEOUT)
                except RPCError as err:  # not running, or Temporal away: the timer finds the events
                    log.info("wake-up of cycle %s not sent: %s", cycle_id, err.message)
                await asyncio.sleep(WAKE_GAP)
                if not self.waking.get(cycle_id):
                    return
                self.waking[cycle_id] = False
        finally:
            self.waking.pop(cycle_id, None)


class _EventWriter:
    """Queues events on a connection of its own: one commit per group."""

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def __call__(self, events: Sequence[inbound.Event]) -> list[inbound.Admission]:
        self.connection = self.connection or engine().connect()
        try:
            return inbound.accept(self.connection, events)
        except Exception:
            self.connection.close()  # broken, or mid-transaction: the next write starts afresh
            self.connection = None
            raise


def _webhook(webhook_id: str) -> inbound.Webhook | None:
    with session() as db:
        return inbound.webhook(db, webhook_id)


async def inbox(request: Request) -> Inbox:  # async: no thread pool hop
    state = request.app.state
    if getattr(state, "inbox", None) is None:
        state.inbox = Inbox(state.temporal)
    return state.inbox
