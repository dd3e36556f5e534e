"""Deliveries of events to the partner's endpoints: taken by the workers' dispatchers
(runtime/event_dispatch.py), each attempt recorded, retried with backoff within a bound, listed
and replayed through the API.

A dispatcher claims a delivery by moving its next attempt past the time its request can take
(the lease) under a claim of its own, in one statement: two dispatchers never take the same
delivery at once, and one that dies mid-attempt leaves it due again when the lease runs out
(so an event may arrive twice: receivers deduplicate by its id). Each attempt's outcome is
recorded with the delivery's next state in one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, exists, func, select, update
from sqlmodel import Session

from connectors.event_delivery import Attempt, DeliveryPolicy
from store.crypto import decrypt
from store.tables import DeliveryAttempt, EventDelivery, EventEndpoint, PartnerEvent, utcnow

DELIVERIES, ATTEMPTS = EventDelivery.__table__, DeliveryAttempt.__table__
ENDPOINTS, EVENTS = EventEndpoint.__table__, PartnerEvent.__table__
PURGE_BATCH = 1_000


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher has taken, with what its request needs."""

    id: str
    claim: str
    event_id: str
    event_type: str
    body: str
    url: str
    secret: str


def _due(now: datetime) -> ColumnElement[bool]:
    return (DELIVERIES.c.status == "Pending") & (DELIVERIES.c.next_attempt_at <= now)


def due_endpoints(db: Session, now: datetime, skip: set[str], limit: int) -> list[str]:
    """Endpoints with deliveries due, but for those in `skip` (busy enough already)."""
    query = select(DELIVERIES.c.endpoint_id).where(_due(now)).group_by(DELIVERIES.c.endpoint_id)
    if skip:
        query = query.where(DELIVERIES.c.endpoint_id.not_in(skip))
    return list(db.execute(query.limit(limit)).scalars())


def claim(db: Session, endpoint_id: str, count: int, now: datetime, policy: DeliveryPolicy) -> list[Claimed]:
    """Up to `count` of the endpoint's due deliveries, oldest due first, taken for one lease."""
    token = uuid.uuid4().hex
    # Picked first, then taken: as one UPDATE … WHERE id IN (SELECT … LIMIT), PostgreSQL may run the
    # subquery again for each row, and find the next due delivery each time. PostgreSQL locks what
    # it picks (another claim skips it); SQLite has one writer, and the conditions are checked again.
    oldest = list(db.execute(select(DELIVERIES.c.id).where(DELIVERIES.c.endpoint_id == endpoint_id, _due(now))
                             .order_by(DELIVERIES.c.next_attempt_at).limit(count)
                             .with_for_update(skip_locked=True)).scalars())
    taken = db.execute(update(DELIVERIES).where(DELIVERIES.c.id.in_(oldest), _due(now))
                       .values(next_attempt_at=now + policy.lease, claim=token)
                       .returning(DELIVERIES.c.id)).scalars().all() if oldest else []
    db.commit()
    if not taken:
        return []
    endpoint = db.execute(select(ENDPOINTS.c.url, ENDPOINTS.c.secret).where(ENDPOINTS.c.id == endpoint_id)).one()
    secret = decrypt(endpoint.secret)
    rows = db.execute(select(DELIVERIES.c.id, EVENTS.c.id.label("event_id"), EVENTS.c.type, EVENTS.c.body)
                      .join(EVENTS, EVENTS.c.id == DELIVERIES.c.event_id).where(DELIVERIES.c.id.in_(taken)))
    return [Claimed(row.id, token, row.event_id, row.type, row.body, endpoint.url, secret) for row in rows]


def record(db: Session, claimed: Claimed, attempt: Attempt, policy: DeliveryPolicy) -> str | None:
    """The attempt, and what it makes of the delivery: Delivered; Pending, due again after a
    backoff; or Failed once its attempts or its age run out. Returns that status; None when the
    delivery is gone (its endpoint was removed) or was claimed again since (replayed, or its
    lease ran out): the attempt is recorded, the newer claim decides."""
    delivery = db.get(EventDelivery, claimed.id, with_for_update=True)  # see event_endpoints._delete
    if delivery is None:
        return None
    db.add(DeliveryAttempt(delivery_id=delivery.id, at=attempt.at, status_code=attempt.status_code,
                           error=attempt.error, response=attempt.response, seconds=attempt.seconds))
    attempts, now = delivery.attempts + 1, utcnow()
    if attempt.delivered:
        status, due = "Delivered", None
    else:
        due = now + policy.backoff(attempts)
        ends = attempts >= policy.attempts or due > delivery.queued_at + timedelta(seconds=policy.max_age)
        status, due = ("Failed", None) if ends else ("Pending", due)
    changed = db.execute(update(DELIVERIES).where(DELIVERIES.c.id == delivery.id, DELIVERIES.c.claim == claimed.claim)
                         .values(status=status, attempts=attempts, next_attempt_at=due, updated_at=now)).rowcount
    db.commit()
    return status if changed else None


def replay(db: Session, delivery: EventDelivery) -> EventDelivery:
    """Queued again, due now, with its attempts and age counted afresh: the same event (its id,
    its body) is sent once more, whatever became of it before."""
    now = utcnow()
    delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.claim = "Pending", 0, now, None
    delivery.queued_at = delivery.updated_at = now
    db.add(delivery)
    db.commit()
    return delivery


def listing(*, event_type: str | None = None, status: str | None = None, account_id: str | None = None,
            endpoint_id: str | None = None) -> Select:
    """The query behind the deliveries list, newest first."""
    query = select(EventDelivery)
    for column, value in ((EventDelivery.event_type, event_type), (EventDelivery.status, status),
                          (EventDelivery.account_id, account_id), (EventDelivery.endpoint_id, endpoint_id)):
        if value is not None:
            query = query.where(column == value)
    return query.order_by(EventDelivery.created_at.desc(), EventDelivery.id)


def attempts_of(db: Session, delivery_ids: list[str]) -> dict[str, list[DeliveryAttempt]]:
    """Each delivery's attempts, oldest first."""
    found: dict[str, list[DeliveryAttempt]] = {id: [] for id in delivery_ids}
    rows = db.execute(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
                      .order_by(DeliveryAttempt.id)).scalars()
    for row in rows:
        found[row.delivery_id].append(row)
    return found


def purge(db: Session, cutoff: datetime) -> int:
    """Events that happened before `cutoff` and have no delivery pending, with their deliveries
    and attempts, in committed batches; how many events went."""
    pending = exists().where(DELIVERIES.c.event_id == EVENTS.c.id, DELIVERIES.c.status == "Pending")
    purged = 0
    while ids := list(db.execute(select(EVENTS.c.id).where(EVENTS.c.created_at < cutoff, ~pending)
                                 .limit(PURGE_BATCH)).scalars()):
        deliveries = select(DELIVERIES.c.id).where(DELIVERIES.c.event_id.in_(ids))
        db.execute(delete(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(deliveries)))
        db.execute(delete(DELIVERIES).where(DELIVERIES.c.event_id.in_(ids)))
        purged += db.execute(delete(EVENTS).where(EVENTS.c.id.in_(ids))).rowcount
        db.commit()
    return purged


def count(db: Session, query: Select) -> int:
    return db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
