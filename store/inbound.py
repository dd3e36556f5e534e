"""The inbound queue: webhook events acknowledged and waiting for a run to take them.

An event is durable before it is acknowledged (`accept`, many events to one commit); a run
reads the oldest in batches (`oldest`) and takes them (`take`), moving them into its
transactions and off the queue in one commit, so each event's records become transactions
exactly once whatever crashes in between.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from connectors import Connector, Credentials
from connectors.scripts import mentions
from runtime.settings import settings
from store import signatures
from store.connections import load_credentials
from store.crypto import decrypt
from store.custom_fields import release_for
from store.tables import Cycle, CycleStep, InboundEvent, Transaction, new_id, utcnow
from store.transactions import RunRef

EVENTS, CYCLES, TRANSACTIONS = InboundEvent.__table__, Cycle.__table__, Transaction.__table__


@dataclass(frozen=True)
class WebhookScripts:
    """What a Webhook step's scripts run with: its connector as its account connector sees it."""

    connector: Connector
    method: str
    account_connector_id: str
    credentials: Credentials
    step_script: str | None
    mergefields: dict[str, str | None]  # Webhook_Url, Webhook_Id and the properties that are not secret


@dataclass(frozen=True)
class Webhook:
    """What an inbound URL leads to."""

    cycle_id: str
    step_id: str
    secret: str | None  # events must be signed with it, when set
    bare_signatures: bool = False  # the bare (untimestamped) signature is taken too
    scripts: WebhookScripts | None = None  # when a script of the step's handles before_webhook


@dataclass(frozen=True)
class Event:
    cycle_id: str
    step_id: str
    body: str
    signature: signatures.Signature | None = None  # a timestamped signature: taken once


# What became of an event offered to the queue: queued; refused, its cycle taking no events; or
# refused, its signature taken already (a replay).
Admission = Literal["queued", "closed", "replayed"]


def webhook(db: Session, webhook_id: str) -> Webhook | None:
    step = db.execute(select(CycleStep).where(CycleStep.webhook_id == webhook_id)).scalars().first()
    if step is None:
        return None
    scripts = None
    if step.release_id is not None:
        connector = release_for(db, step.release_id, step.account_connector_id)
        scripts = scripts_for(db, step, connector, "before_webhook")
    return Webhook(step.cycle_id, step.id, decrypt(step.webhook_secret), step.webhook_bare_signatures, scripts)


def scripts_for(db: Session, step: CycleStep, connector: Connector, event: str) -> WebhookScripts | None:
    """What the step's scripts need for `event`, with `connector` its release; None when no
    script names the event (most steps: then no credentials are loaded)."""
    step_script = step.document.get("Script")
    if not mentions(event, connector.Script, connector.method(step.method).Script, step_script):
        return None
    _, credentials = load_credentials(db, step.account_connector_id)
    hidden = {p.key for p in connector.Parameters if p.IsSensitive} | {"ClientSecret"}
    shown = {name: value for name, value in credentials.properties.items() if name not in hidden}
    return WebhookScripts(connector, step.method, step.account_connector_id, credentials, step_script,
                          {**shown, "Webhook_Url": settings().webhook_url(step.webhook_id),
                           "Webhook_Id": step.webhook_subscription})


def takes_events(status: str, owner: str | None) -> bool:
    """Active, or paused after activation (held until it resumes); not stopped or never started."""
    return status == "Active" or (status == "Paused" and owner is not None)


def accept(connection: Connection, events: Sequence[Event]) -> list[Admission]:
    """Queue the events of cycles that take events, each signature taken with its event, in one
    commit; what became of each."""
    return _accept(connection, events)[0]


def accept_one(connection: Connection, event: Event) -> tuple[Admission, int | None]:
    """`accept` for one event, and its id on the queue when it was queued: the transactions a
    run makes from it carry that id (`take`), so its caller can follow them (an agent's call of
    a template, api/agents/template_tools.py)."""
    admissions, ids = _accept(connection, [event], with_ids=True)
    return admissions[0], ids[0] if ids else None


def _accept(connection: Connection, events: Sequence[Event], with_ids: bool = False) -> tuple[list[Admission], list[int]]:
    ids = {e.cycle_id for e in events}
    found = connection.execute(select(CYCLES.c.id, CYCLES.c.status, CYCLES.c.status_owner)
                               .where(CYCLES.c.id.in_(ids))).all()
    open_cycles = {row.id for row in found if takes_events(row.status, row.status_owner)}
    admissions: list[Admission] = ["queued" if e.cycle_id in open_cycles else "closed" for e in events]
    signed = [i for i, e in enumerate(events) if e.signature is not None and admissions[i] == "queued"]
    new = signatures.take(connection, [events[i].signature for i in signed])
    for i, taken in zip(signed, new):
        admissions[i] = "queued" if taken else "replayed"
    now = utcnow()
    rows = [{"cycle_id": e.cycle_id, "step_id": e.step_id, "body": e.body, "received_at": now}
            for e, admission in zip(events, admissions) if admission == "queued"]
    ids: list[int] = []
    if rows and with_ids:
        ids = list(connection.execute(insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True),
                                      rows).scalars())
    elif rows:
        connection.execute(insert(EVENTS), rows)
    connection.commit()
    return admissions, ids


REQUEUED = "re-queued: the cycle's next run reads the event again"


def requeue(db: Session, cycle: Cycle, transaction: Transaction) -> bool | None:
    """An event a run could not read (an Errored transaction at the cycle's Webhook step) back on
    the queue as a new event, the transaction ending Success with a note of it, in one commit;
    None when the transaction is not such an event, False when the cycle takes no events now."""
    step = db.execute(select(CycleStep).where(CycleStep.cycle_id == cycle.id, CycleStep.type == "Webhook",
                                              CycleStep.template_step_id == transaction.step)).scalars().first()
    if step is None or transaction.status != "Errored" or transaction.path != [transaction.step]:
        return None
    if not takes_events(cycle.status, cycle.status_owner):
        return False
    db.execute(insert(EVENTS).values(cycle_id=cycle.id, step_id=step.id, received_at=utcnow(),
                                     body=json.dumps(transaction.records[transaction.step])))
    transaction.status, transaction.message, transaction.updated_at = "Success", REQUEUED, utcnow()
    db.add(transaction)
    db.commit()
    return True


def pending(db: Session, cycle_id: str) -> int:
    return db.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.cycle_id == cycle_id)).scalar_one()


@dataclass(frozen=True)
class Queued:
    id: int
    body: str


@dataclass(frozen=True)
class Taken:
    """An event as a run takes it: its records (none when a script dropped it), or why it could
    not be read, when it becomes one Errored transaction holding its body."""

    event_id: int
    records: list[dict[str, Any]]
    error: str | None = None
    body: Any = None


def oldest(db: Session, cycle_id: str, limit: int) -> list[Queued]:
    rows = db.execute(select(EVENTS.c.id, EVENTS.c.body).where(EVENTS.c.cycle_id == cycle_id)
                      .order_by(EVENTS.c.id).limit(limit)).all()
    return [Queued(row.id, row.body) for row in rows]


def take(db: Session, run: RunRef, first: int, events: Sequence[Taken], trigger: str, next_step: str | None) -> int:
    """The events as the run's transactions `first`, `first + 1`… and off the queue, in one
    commit; the transactions written. Asked again for the same `first` (a retried activity whose
    commit went through, or one racing another attempt), it counts what was written then."""
    if written := _written(db, run, first):
        return written
    ids = [e.event_id for e in events]
    if db.execute(delete(EVENTS).where(EVENTS.c.id.in_(ids))).rowcount != len(ids):
        db.rollback()  # another attempt took them first
        return _written(db, run, first)
    path, status, step = ([trigger, next_step], "Pending", next_step) if next_step else ([trigger], "Success", trigger)
    now = utcnow()
    rows: list[tuple[str, str, list[str], Any, str | None, int]] = []
    for event in events:
        if event.error is None:
            rows += [(status, step, path, record, None, event.event_id) for record in event.records]
        else:
            rows.append(("Errored", trigger, [trigger], event.body, event.error, event.event_id))
    if rows:
        db.execute(insert(TRANSACTIONS), [
            {"id": new_id(), "run_id": run.run_id, "cycle_id": run.cycle_id, "account_id": run.account_id,
             "seq": first + i, "status": status, "step": step, "path": path, "records": {trigger: record},
             "message": message, "exchange": None, "retries": 0, "inbound_event_id": event_id,
             "created_at": now, "updated_at": now}
            for i, (status, step, path, record, message, event_id) in enumerate(rows)])
    db.commit()
    return len(rows)


def _written(db: Session, run: RunRef, first: int) -> int:
    return db.execute(select(func.count()).select_from(TRANSACTIONS).where(
        TRANSACTIONS.c.run_id == run.run_id, TRANSACTIONS.c.seq >= first)).scalar_one()
