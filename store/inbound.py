"""The inbound queue: webhook events acknowledged and waiting for a run to take them.

An event is durable before it is acknowledged (`accept`, many events to one commit); a run
takes the oldest in batches (`take`), moving them into its transactions and off the queue in
one commit, so each event becomes exactly one transaction whatever crashes in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from store.crypto import decrypt
from store.tables import Cycle, CycleStep, InboundEvent, Transaction, new_id, utcnow
from store.transactions import RunRef

EVENTS, CYCLES, TRANSACTIONS = InboundEvent.__table__, Cycle.__table__, Transaction.__table__


@dataclass(frozen=True)
class Webhook:
    """What an inbound URL leads to."""

    cycle_id: str
    step_id: str
    secret: str | None  # events must be signed with it, when set


@dataclass(frozen=True)
class Event:
    cycle_id: str
    step_id: str
    body: str


def webhook(db: Session, webhook_id: str) -> Webhook | None:
    step = db.execute(select(CycleStep).where(CycleStep.webhook_id == webhook_id)).scalars().first()
    return Webhook(step.cycle_id, step.id, decrypt(step.webhook_secret)) if step else None


def takes_events(status: str, owner: str | None) -> bool:
    """Active, or paused after activation (held until it resumes); not stopped or never started."""
    return status == "Active" or (status == "Paused" and owner is not None)


def accept(connection: Connection, events: Sequence[Event]) -> list[bool]:
    """Queue the events of cycles that take events, in one commit; whether each was queued."""
    ids = {e.cycle_id for e in events}
    found = connection.execute(select(CYCLES.c.id, CYCLES.c.status, CYCLES.c.status_owner)
                               .where(CYCLES.c.id.in_(ids))).all()
    open_cycles = {row.id for row in found if takes_events(row.status, row.status_owner)}
    accepted = [e.cycle_id in open_cycles for e in events]
    now = utcnow()
    rows = [{"cycle_id": e.cycle_id, "step_id": e.step_id, "body": e.body, "received_at": now}
            for e, ok in zip(events, accepted) if ok]
    if rows:
        connection.execute(insert(EVENTS), rows)
    connection.commit()
    return accepted


def pending(db: Session, cycle_id: str) -> int:
    return db.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.cycle_id == cycle_id)).scalar_one()


def take(db: Session, run: RunRef, first: int, limit: int, trigger: str, next_step: str | None,
         records_of: Callable[[Any], list[dict[str, Any]]]) -> tuple[int, int]:
    """Up to `limit` of the cycle's oldest events as the run's transactions `first`, `first + 1`…
    (an event may hold several records, or none); (transactions, events) taken. Asked again for
    the same `first` (a retried activity whose commit went through), it counts what it wrote."""
    taken = db.execute(select(func.count()).select_from(TRANSACTIONS).where(
        TRANSACTIONS.c.run_id == run.run_id, TRANSACTIONS.c.seq >= first)).scalar_one()
    if taken:
        return taken, taken
    events = db.execute(select(EVENTS.c.id, EVENTS.c.body).where(EVENTS.c.cycle_id == run.cycle_id)
                        .order_by(EVENTS.c.id).limit(limit)).all()
    if not events:
        return 0, 0
    records = [r for event in events for r in records_of(json.loads(event.body))]
    path, status, step = ([trigger, next_step], "Pending", next_step) if next_step else ([trigger], "Success", trigger)
    now = utcnow()
    if records:
        db.execute(insert(TRANSACTIONS), [
            {"id": new_id(), "run_id": run.run_id, "cycle_id": run.cycle_id, "account_id": run.account_id,
             "seq": first + i, "status": status, "step": step, "path": path, "records": {trigger: record},
             "message": None, "exchange": None, "retries": 0, "created_at": now, "updated_at": now}
            for i, record in enumerate(records)])
    db.execute(delete(EVENTS).where(EVENTS.c.id.in_([e.id for e in events])))
    db.commit()
    return len(records), len(events)
