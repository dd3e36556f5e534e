"""Events for the partner's backend, written in the commit of the change that causes them (an
outbox): the event, with a delivery for each endpoint that takes it, or nothing at all when none
does. The worker's dispatcher (runtime/event_dispatch.py) sends the deliveries.

Each event is `{"Id", "Type", "CreatedAt", "AccountId", "Data"}`, its body fixed when it
happens, so every attempt and every replay sends the same bytes. `Data` holds ids, statuses and
the short reasons the API shows anyway (a run's message, a StopCycle's reason): never a record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from sqlalchemy import String, insert, or_, select
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session

from store.tables import (
    AccountConnector,
    Cycle,
    EventDelivery,
    EventEndpoint,
    PartnerEvent,
    Run,
    new_id,
    utcnow,
)

ENDPOINTS, EVENTS, DELIVERIES = EventEndpoint.__table__, PartnerEvent.__table__, EventDelivery.__table__
CYCLES = Cycle.__table__

EventType = Literal["cycle.installed", "cycle.activated", "cycle.deactivated", "cycle.removed", "cycle.paused",
                    "cycle.errored", "run.failed", "transaction.errored",
                    "account_connector.needs_reauthentication"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class Outbox:
    """The events of one database transaction, added to it (the caller commits them with its
    change). The endpoints that may take them are read once per account."""

    def __init__(self, db: Session | Connection) -> None:
        self.db = db
        self.endpoints: dict[str | None, list[tuple[str, list[str]]]] = {}

    def _takers(self, type: str, account_id: str | None) -> list[str]:
        """The endpoints that take events of `type` of the account: its own and every account's."""
        if account_id not in self.endpoints:
            query = select(ENDPOINTS.c.id, ENDPOINTS.c.event_types).where(
                or_(ENDPOINTS.c.account_id.is_(None), ENDPOINTS.c.account_id == account_id))
            self.endpoints[account_id] = [(row.id, row.event_types) for row in self.db.execute(query)]
        return [id for id, types in self.endpoints[account_id] if type in types]

    def emit(self, type: EventType, account_id: str | None, data: Mapping[str, Any]) -> None:
        takers = self._takers(type, account_id)
        if not takers:
            return
        event_id, now = new_id(), utcnow()
        body = json.dumps({"Id": event_id, "Type": type, "CreatedAt": now.isoformat().replace("+00:00", "Z"),
                           "AccountId": account_id, "Data": dict(data)}, separators=(",", ":"))
        self.db.execute(insert(EVENTS).values(id=event_id, type=type, account_id=account_id, body=body,
                                              created_at=now))
        self.db.execute(insert(DELIVERIES), [
            {"id": new_id(), "event_id": event_id, "endpoint_id": endpoint_id, "event_type": type,
             "account_id": account_id, "status": "Pending", "attempts": 0, "next_attempt_at": now, "claim": None,
             "queued_at": now, "created_at": now, "updated_at": now}
            for endpoint_id in takers])


def wanted(db: Session | Connection, type: EventType) -> bool:
    """Whether any endpoint takes events of `type` (a writer may skip the work of making them)."""
    taking = ENDPOINTS.c.event_types.cast(String).like(f'%"{type}"%')
    return db.execute(select(ENDPOINTS.c.id).where(taking).limit(1)).first() is not None


def cycle_event(db: Session | Connection, type: EventType, cycle_id: str, reason: str | None = None) -> None:
    """An event about a cycle, as it is in this transaction."""
    cycle = db.execute(select(CYCLES.c.account_id, CYCLES.c.name, CYCLES.c.template_id, CYCLES.c.status)
                       .where(CYCLES.c.id == cycle_id)).one()
    data = {"CycleId": cycle_id, "Name": cycle.name, "TemplateId": cycle.template_id, "Status": cycle.status}
    Outbox(db).emit(type, cycle.account_id, data | ({"Reason": reason} if reason else {}))


def status_changed(db: Session | Connection, cycle_id: str, status: str, reason: str | None, started: bool) -> None:
    """What a status a cycle's workflow recorded tells the partner: `started` is its first
    write (the workflow is new, so the cycle was activated)."""
    if started and status == "Active":
        cycle_event(db, "cycle.activated", cycle_id)
    elif status == "Stopped":
        cycle_event(db, "cycle.deactivated", cycle_id, reason)
    elif status == "Paused" and reason:  # only a StopCycle step pauses a cycle with a reason
        cycle_event(db, "cycle.paused", cycle_id, reason)
    elif status == "Errored":
        cycle_event(db, "cycle.errored", cycle_id, reason)


def run_failed(db: Session, run: Run, counts: Mapping[str, int]) -> None:
    account_id = db.execute(select(CYCLES.c.account_id).where(CYCLES.c.id == run.cycle_id)).scalar_one()
    Outbox(db).emit("run.failed", account_id, {
        "CycleId": run.cycle_id, "RunId": run.id, "Number": run.number, "Message": run.message,
        "Transactions": {status: counts.get(status, 0) for status in ("Success", "Errored", "Stopped")}})


def transaction_errored(outbox: Outbox, transaction: Row) -> None:
    """`transaction`: the columns id, run_id, cycle_id, account_id, seq and step of the row."""
    outbox.emit("transaction.errored", transaction.account_id, {
        "CycleId": transaction.cycle_id, "RunId": transaction.run_id, "TransactionId": transaction.id,
        "Number": transaction.seq, "Step": transaction.step})


def needs_reauthentication(db: Session, row: AccountConnector, reason: str) -> None:
    Outbox(db).emit("account_connector.needs_reauthentication", row.account_id, {
        "AccountConnectorId": row.id, "ConnectorId": row.connector_id, "Name": row.name, "Reason": reason})
