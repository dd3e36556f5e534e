"""What every activity that calls third-party APIs shares in one worker process."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from activities.slots import Slots
from connectors import Connector, Credentials
from connectors.transport import HttpClient
from runtime import context
from store import transactions
from store.connections import call_options, load_credentials
from store.custom_fields import release_for
from store.database import session
from store.group_commit import GroupCommit
from store.limiter import DatabaseLimiter
from store.plans import StepPlan, load_step
from store.transactions import Outcome


@dataclass(frozen=True)
class Loaded:
    step: StepPlan
    connector: Connector
    credentials: Credentials

    def call_options(self, limiter: DatabaseLimiter) -> dict[str, Any]:
        """What every call of this step passes the engine besides its own fields: the above,
        and for scripts the step's own script and the cycle's Storage."""
        return call_options(self.step.account_connector_id, self.credentials, limiter,
                            cycle_id=self.step.cycle_id, step_script=getattr(self.step.spec, "Script", None))


class Upstream:
    def __init__(self, client: HttpClient, concurrency: int = 10) -> None:
        self.client = client
        self.limiter = DatabaseLimiter()
        self.concurrency = concurrency
        self._slots: weakref.WeakValueDictionary[str, Slots] = weakref.WeakValueDictionary()
        # One writer per process: outcomes of every activity share commits, and never wait
        # on each other for SQLite's single write lock.
        self.outcomes: GroupCommit[Outcome] = GroupCommit.of(transactions.save_outcomes)

    def slots(self, account_connector_id: str) -> Slots:
        """Calls in flight to one account connector, across every activity of this worker."""
        slots = self._slots.get(account_connector_id)
        if slots is None:
            slots = self._slots[account_connector_id] = Slots(self.concurrency)
        return slots

    async def load(self, plan_id: str, step_id: str) -> Loaded:
        """The step as the run planned it, its connector release as its account connector sees it
        (with its custom fields), and fresh credentials."""

        def load() -> Loaded:
            step = load_step(plan_id, step_id)
            with session() as db:
                _, credentials = load_credentials(db, step.account_connector_id)
                return Loaded(step, release_for(db, step.release_id, step.account_connector_id), credentials)

        loaded = await asyncio.to_thread(load)
        context.bind(cycle_id=loaded.step.cycle_id, account_id=loaded.step.account_id)
        return loaded


def idempotency_key(run_id: str, seq: int, step_id: str, retries: int, attempt: int = 0) -> str:
    """Stable for one transaction at one step, so a resent write is recognised upstream; a
    retry through the API, or an OnError Retry's next try, is a new attempt with a new key."""
    tries = f"/{attempt}" if attempt else ""
    return hashlib.sha256(f"{run_id}/{seq}/{step_id}/{retries}{tries}".encode()).hexdigest()[:32]


def earlier_progress() -> Any:
    """What the previous attempt heartbeated last (plain dicts), or None."""
    details = activity.info().heartbeat_details
    return details[0] if details else None


@asynccontextmanager
async def heartbeating(progress: Callable[[], Any], every: float = 1.0) -> AsyncIterator[None]:
    """Keep the activity alive through slow calls (a dead worker stops heartbeating), and
    hear of cancellation. Details are counts and cursors only, never records."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            activity.heartbeat(progress())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
